import { useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";

import { taskListQuery } from "@/lib/task-cache";
import type { Filter } from "@/lib/tasks";

import type { Report } from "./useProblem";

/**
 * The filter shown, and the switch to another: the list on screen stays until the new one has
 * loaded (no blanking), a filter already loaded shows at once with the pages it had, and a
 * switch that fails leaves the old filter shown and highlighted, with the reason.
 */
export function useFilterSwitch(userId: string, report: Report) {
  const client = useQueryClient();
  const [filter, setFilter] = useState<Filter>("all");
  const [pending, setPending] = useState<Filter | null>(null);
  const latest = useRef(0);

  async function choose(next: Filter, label: string) {
    const request = ++latest.current;
    const query = taskListQuery(userId, next);
    const cached = client.getQueryState(query.queryKey);
    if (next === filter || (cached?.data !== undefined && !cached.isInvalidated)) {
      setPending(null);
      setFilter(next);
      return;
    }
    setPending(next);
    try {
      await client.fetchInfiniteQuery(query);
      if (request === latest.current) setFilter(next);
    } catch (caught) {
      if (request === latest.current) report(caught, `Couldn't show the ${label} tasks.`);
    } finally {
      if (request === latest.current) setPending(null);
    }
  }

  return { filter, pending, choose };
}
