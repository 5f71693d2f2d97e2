import { useQuery } from "@tanstack/react-query";

import { taskCountsQuery } from "@/lib/task-cache";

/** The three filters' sizes, refetched after every change this page makes. */
export function useTaskCounts(userId: string) {
  return useQuery(taskCountsQuery(userId)).data ?? null;
}
