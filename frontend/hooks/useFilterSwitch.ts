import { useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";

import { taskListQuery } from "@/lib/task-cache";
import type { View } from "@/lib/tasks";

import type { Report } from "./useProblem";

export const ALL_TASKS: View = { scope: "all", filter: "all", label: null, order: "newest" };

function same(a: View, b: View): boolean {
  return (
    a.scope === b.scope &&
    a.filter === b.filter &&
    a.label === b.label &&
    a.order === b.order &&
    a.q === b.q
  );
}

/**
 * The view shown (a filter, and a label or none), and the switch to another: the list on
 * screen stays until the new one has loaded (no blanking), a view already loaded shows at
 * once with the pages it had, and a switch that fails leaves the old view shown and
 * highlighted, with the reason (`what` names the tasks asked for).
 */
export function useFilterSwitch(userId: string, report: Report) {
  const client = useQueryClient();
  const [view, setView] = useState<View>(ALL_TASKS);
  const [pending, setPending] = useState<View | null>(null);
  const latest = useRef(0);

  async function choose(next: View, what: string) {
    const request = ++latest.current;
    const query = taskListQuery(userId, next);
    const cached = client.getQueryState(query.queryKey);
    if (same(next, view) || (cached?.data !== undefined && !cached.isInvalidated)) {
      setPending(null);
      setView(next);
      return;
    }
    setPending(next);
    try {
      await client.fetchInfiniteQuery(query);
      if (request === latest.current) setView(next);
    } catch (caught) {
      if (request === latest.current) report(caught, `Couldn't show the ${what}.`);
    } finally {
      if (request === latest.current) setPending(null);
    }
  }

  return { view, pending, choose };
}
