/**
 * The task lists in TanStack Query's cache: their keys, and what a change (made on this page,
 * or elsewhere and streamed here) does to a list already loaded, so it shows at once without
 * reloading every page.
 */
import { type InfiniteData, type QueryClient, infiniteQueryOptions } from "@tanstack/react-query";

import type { Change } from "@todo/api-client";

import { listLists } from "./lists";

import {
  type Filter,
  type Task,
  type TaskPage,
  type Order,
  type Scope,
  type View,
  countTasks,
  listTasks,
  listTrash,
  sameLabel,
} from "./tasks";

export type TaskPages = InfiniteData<TaskPage>;

export const taskKeys = {
  all: (userId: string) => ["tasks", userId] as const,
  lists: (userId: string) => ["tasks", userId, "list"] as const,
  list: (userId: string, view: View) =>
    [
      "tasks",
      userId,
      "list",
      view.filter,
      view.label ?? "",
      view.order,
      view.scope,
      view.q ?? "",
    ] as const,
  counts: (userId: string) => ["tasks", userId, "counts"] as const,
  trash: (userId: string) => ["tasks", userId, "trash"] as const,
  /** The person's lists, and each one's count of tasks left to do. */
  taskLists: (userId: string) => ["tasks", userId, "task-lists"] as const,
};

export function taskListsQuery(userId: string) {
  return { queryKey: taskKeys.taskLists(userId), queryFn: () => listLists(userId) };
}

/** The trash's pages, latest deleted first. */
export function trashQuery(userId: string) {
  return infiniteQueryOptions({
    queryKey: taskKeys.trash(userId),
    queryFn: ({ pageParam }) => listTrash(userId, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last: TaskPage) => last.next,
  });
}

/** A view's pages, newest first, each after the cursor of the one before. */
export function taskListQuery(userId: string, view: View) {
  return infiniteQueryOptions({
    queryKey: taskKeys.list(userId, view),
    queryFn: ({ pageParam }) => listTasks(userId, view, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last: TaskPage) => last.next,
  });
}

export function taskCountsQuery(userId: string) {
  return { queryKey: taskKeys.counts(userId), queryFn: () => countTasks(userId) };
}

/** Every view this page has loaded (or is loading), from the keys of its list queries. */
export function loadedViews(client: QueryClient, userId: string): View[] {
  return client
    .getQueryCache()
    .findAll({ queryKey: taskKeys.lists(userId) })
    .map(({ queryKey }) => {
      const [, , , filter, label, order, scope, q] = queryKey as [
        string,
        string,
        string,
        Filter,
        string,
        Order,
        Scope,
        string,
      ];
      return { scope, filter, label: label || null, order, ...(q ? { q } : {}) };
    });
}

export function belongs(task: Task, view: View): boolean {
  const { filter, label, scope } = view;
  if (scope === "inbox" && task.list_id !== null) return false;
  if (typeof scope === "number" && task.list_id !== scope) return false;
  if (label !== null && !task.labels.some((other) => sameLabel(other, label))) return false;
  return filter === "all" || task.completed === (filter === "completed");
}

/** Every task of the loaded pages once (a page may repeat one a change moved across pages). */
export function shownTasks(pages: TaskPages | undefined): Task[] {
  const byId = new Map<number, Task>();
  for (const task of (pages?.pages ?? []).flatMap((page) => page.tasks)) {
    if (!byId.has(task.id)) byId.set(task.id, task);
  }
  return [...byId.values()];
}

/** The filter's size: the latest page's count, moved by this page's own changes since. */
export function shownTotal(pages: TaskPages | undefined): number {
  return pages?.pages.at(-1)?.total ?? 0;
}

type Edit = (tasks: Task[]) => Task[];

function edited(pages: TaskPages, edit: Edit, first: Edit = edit): TaskPages {
  const changed = pages.pages.map((page, index) => {
    const tasks = (index === 0 ? first : edit)(page.tasks);
    return { ...page, tasks };
  });
  const before = shownTasks(pages).length;
  const after = shownTasks({ ...pages, pages: changed }).length;
  return {
    ...pages,
    pages: changed.map((page) => ({ ...page, total: page.total + after - before })),
  };
}

/** `task` in each loaded list: out of those it no longer belongs to, replaced where shown,
 * and on top of those where `onTop` says it goes first (anywhere else a reload places it). */
function place(
  client: QueryClient,
  userId: string,
  task: Task,
  onTop: (view: View, shown: Task[]) => boolean,
): void {
  for (const view of loadedViews(client, userId)) {
    if (view.q) {
      // Whether it matches, and where, only the service says.
      void client.invalidateQueries({ queryKey: taskKeys.list(userId, view), exact: true });
      continue;
    }
    client.setQueryData<TaskPages>(taskKeys.list(userId, view), (pages) => {
      if (!pages) return pages;
      const without: Edit = (tasks) => tasks.filter((shown) => shown.id !== task.id);
      if (!belongs(task, view)) return edited(pages, without);
      if (onTop(view, shownTasks(pages)))
        return edited(
          pages,
          (tasks) => tasks,
          (tasks) => [task, ...without(tasks)],
        );
      return edited(pages, (tasks) => tasks.map((shown) => (shown.id === task.id ? task : shown)));
    });
  }
}

/** A task the service answered: placed in (or taken out of) each loaded list it concerns. */
export function applyTask(client: QueryClient, userId: string, task: Task, isNew: boolean): void {
  deleted.delete(task.id); // the service's answer is the task as it is now (restored, say)
  place(client, userId, task, (view) => isNew && NEW_ON_TOP.has(view.order));
  for (const view of loadedViews(client, userId)) {
    // Where it goes in an order by what changes (or at the end) only the service says.
    if ((isNew && !NEW_ON_TOP.has(view.order)) || REORDERED_BY_EDITS.has(view.order)) {
      void client.invalidateQueries({ queryKey: taskKeys.list(userId, view), exact: true });
    }
  }
}

/** Orders in which a task just made comes first, and those an edit can move a task in. */
const NEW_ON_TOP = new Set<Order>(["newest", "updated", "manual"]);
const REORDERED_BY_EDITS = new Set<Order>(["updated", "priority"]);

/** Tasks this page saw deleted, with the version of the delete when known: a streamed upsert
 * older than the delete must not bring one back; a restore (a later version) does. */
const deleted = new Map<number, number>();

/** A task that is gone (deleted here or elsewhere): out of every loaded list. */
export function removeTask(
  client: QueryClient,
  userId: string,
  taskId: number,
  /** The delete's version (the task's last one + 1), at least. */
  version: number,
): void {
  deleted.set(taskId, Math.max(version, deleted.get(taskId) ?? 0));
  for (const view of loadedViews(client, userId)) {
    client.setQueryData<TaskPages>(taskKeys.list(userId, view), (pages) =>
      pages ? edited(pages, (tasks) => tasks.filter((shown) => shown.id !== taskId)) : pages,
    );
  }
}

/** The version of the task the loaded lists show, if any shows it. */
export function shownVersion(client: QueryClient, userId: string, taskId: number): number | null {
  for (const view of loadedViews(client, userId)) {
    const pages = client.getQueryData<TaskPages>(taskKeys.list(userId, view));
    const shown = shownTasks(pages).find((task) => task.id === taskId);
    if (shown) return shown.version;
  }
  return null;
}

/**
 * A change from the stream, unless the lists already show it (this page's own change, or one
 * a reload already brought): true when it changed something. A task a list does not show yet
 * goes on top when it is the newest there; anywhere else the list's next reload places it.
 */
export function applyChange(client: QueryClient, userId: string, change: Change): boolean {
  if (change.type === "list") {
    void client.invalidateQueries({ queryKey: taskKeys.taskLists(userId) });
    return true;
  }
  const shown = shownVersion(client, userId, change.id);
  if (shown !== null && shown >= change.version) return false;
  if (change.op === "delete") {
    removeTask(client, userId, change.id, change.version);
    return true;
  }
  if ((deleted.get(change.id) ?? 0) >= change.version) return false;
  deleted.delete(change.id);
  const task = change.task;
  // Not shown yet: on top of a newest-first list when it is the newest there.
  place(
    client,
    userId,
    task,
    (view, shown) =>
      view.order === "newest" &&
      !shown.some((other) => other.id === task.id) &&
      (shown[0] === undefined || shown[0].id < task.id),
  );
  return true;
}
