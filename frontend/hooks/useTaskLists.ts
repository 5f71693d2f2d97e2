import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";

import { createList, deleteList, moveList, renameList, type TaskList } from "@/lib/lists";
import { taskKeys, taskListsQuery } from "@/lib/task-cache";
import { type Placement, type Scope, type Seen, listTasks } from "@/lib/tasks";

import type { Report } from "./useProblem";

/** The person's lists in their order, and how many tasks each (and the Inbox) has left to do:
 * one single-row page each, refreshed with the other counts after every change. */
export function useTaskLists(userId: string) {
  const lists = useQuery(taskListsQuery(userId));
  const scopes: Scope[] = ["inbox", ...(lists.data ?? []).map((list) => list.id)];
  const counts = useQueries({
    queries: scopes.map((scope) => ({
      queryKey: [...taskKeys.counts(userId), scope],
      queryFn: async () =>
        (
          await listTasks(
            userId,
            { scope, filter: "active", label: null, order: "newest" },
            null,
            1,
          )
        ).total,
    })),
  });
  const left = new Map<Scope, number>();
  scopes.forEach((scope, index) => {
    const count = counts[index]?.data;
    if (count !== undefined) left.set(scope, count);
  });
  return { lists: lists.data ?? [], loading: lists.isPending, left };
}

/** Make, rename, move and delete lists; each reloads the lists (and, for a delete, the tasks
 * it sent to the trash) and says what it did, or reports why not. */
export function useListChanges(
  userId: string,
  report: Report,
  announce: (message: string) => void,
) {
  const client = useQueryClient();
  const done = (message: string) => {
    announce(message);
    void client.invalidateQueries({ queryKey: taskKeys.taskLists(userId) });
  };
  const failed = (caught: unknown) => {
    report(caught);
    void client.invalidateQueries({ queryKey: taskKeys.taskLists(userId) });
  };
  const create = useMutation({
    mutationFn: (name: string) => createList(userId, name),
    onSuccess: (list: TaskList) => done(`List “${list.name}” made.`),
  });
  const rename = useMutation({
    mutationFn: ({ seen, name }: { seen: Seen; name: string }) => renameList(userId, seen, name),
    onSuccess: (list: TaskList) => done(`List renamed “${list.name}”.`),
    onError: failed,
  });
  const move = useMutation({
    mutationFn: ({ seen, place }: { seen: Seen; place: Placement; what: string }) =>
      moveList(userId, seen, place),
    onSuccess: (list: TaskList, { what }) => done(`List “${list.name}” moved ${what}.`),
    onError: failed,
  });
  const remove = useMutation({
    mutationFn: (list: TaskList) => deleteList(userId, list),
    onSuccess: (_: void, list: TaskList) => {
      done(`List “${list.name}” deleted; its tasks are in the trash.`);
      void client.invalidateQueries({ queryKey: taskKeys.all(userId) });
    },
    onError: failed,
  });
  return { create, rename, move, remove };
}
