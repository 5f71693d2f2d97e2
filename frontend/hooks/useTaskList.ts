import { useInfiniteQuery } from "@tanstack/react-query";
import { useMemo } from "react";

import { RECOVERY_MS } from "@/lib/query-client";
import { shownTasks, shownTotal, taskListQuery } from "@/lib/task-cache";
import type { ApiError, View } from "@/lib/tasks";

/** The view's loaded pages as one list. `probing` (a problem on show that an answer would
 * end) has it reload every few seconds, as it does by itself after failing. */
export function useTaskList(userId: string, view: View, probing: boolean) {
  const query = useInfiniteQuery({
    ...taskListQuery(userId, view),
    ...(probing ? { refetchInterval: RECOVERY_MS } : {}),
  });
  const tasks = useMemo(() => shownTasks(query.data), [query.data]);
  return {
    tasks,
    total: shownTotal(query.data),
    loading: query.isPending,
    loadingMore: query.isFetchingNextPage,
    hasMore: query.hasNextPage,
    loadMore: () => void query.fetchNextPage(),
    error: query.error as ApiError | null,
    /** When the request behind the list on screen was sent. */
    requestedAt: query.data?.pages[0]?.requestedAt ?? 0,
  };
}
