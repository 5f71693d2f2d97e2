/**
 * The changes a person makes to their tasks, one hook each (so every form and row has its own
 * pending state and errors): each shows its answer in the loaded lists at once, marks the
 * other lists to be reloaded before they are shown next, refreshes the counts and announces
 * itself. Each write is made from the version the person saw: when the task changed elsewhere
 * meanwhile (412), nothing was written, the lists take the stored task and the row offers the
 * choice (`conflicted`). A task found gone (404: deleted elsewhere) leaves every list too.
 */
import { type QueryClient, useMutation, useQueryClient } from "@tanstack/react-query";

import { applyTask, loadedViews, removeTask, taskKeys } from "@/lib/task-cache";
import {
  ApiError,
  type Seen,
  type Task,
  type TaskFieldsInput,
  createTask,
  deleteTask,
  discardTask,
  emptyTrash,
  moveTask,
  type Placement,
  readTask,
  restoreTask,
  setCompleted,
  updateTask,
} from "@/lib/tasks";

import type { Report } from "./useProblem";

/** Where a change's outcome goes: failures to the banner, successes to the live region, a
 * delete also to the Undo offer. */
export interface TaskEvents {
  report: Report;
  announce: (message: string) => void;
  offerUndo: (task: Task) => void;
}

/** After any change: a list still loading reloads (its answer may predate the change), the
 * others are stale until shown again, the counts reload now. */
function settle(client: QueryClient, userId: string): void {
  for (const view of loadedViews(client, userId)) {
    const queryKey = taskKeys.list(userId, view);
    const loading = client.isFetching({ queryKey, exact: true }) > 0;
    void client.invalidateQueries({
      queryKey,
      exact: true,
      refetchType: loading ? "active" : "none",
    });
  }
  void client.invalidateQueries({ queryKey: taskKeys.counts(userId) });
  void client.invalidateQueries({ queryKey: taskKeys.trash(userId) });
}

/** The stored task into the lists, so the person sees what they would overwrite. */
async function showStored(client: QueryClient, userId: string, seen: Seen): Promise<void> {
  try {
    applyTask(client, userId, await readTask(userId, seen.id), false);
  } catch (caught) {
    if (caught instanceof ApiError && caught.status === 404) gone(client, userId, seen);
  }
  settle(client, userId);
}

/** The write was refused because the task changed since it was seen: the row asks what to do. */
export function conflicted(error: unknown): boolean {
  return error instanceof ApiError && error.conflict;
}

/** A task found deleted since it was seen (its delete came after that version). */
function gone(client: QueryClient, userId: string, seen: Seen): void {
  removeTask(client, userId, seen.id, seen.version + 1);
}

function useTaskMutation<Input, Output>(
  userId: string,
  events: TaskEvents,
  send: (input: Input) => Promise<Output>,
  show: (client: QueryClient, output: Output, input: Input) => string,
  taskOf?: (input: Input) => Seen,
) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: send,
    onSuccess: (output, input) => {
      events.announce(show(client, output, input));
      settle(client, userId);
    },
    onError: (caught, input) => {
      if (taskOf && conflicted(caught)) {
        void showStored(client, userId, taskOf(input));
        return;
      }
      if (taskOf && caught instanceof ApiError && caught.status === 404) {
        gone(client, userId, taskOf(input));
        settle(client, userId);
      }
      events.report(caught);
    },
  });
}

export function useAddTask(userId: string, events: TaskEvents) {
  return useTaskMutation(
    userId,
    events,
    (fields: TaskFieldsInput) => createTask(userId, fields),
    (client, task: Task) => {
      applyTask(client, userId, task, true);
      return `Added “${task.title}”.`;
    },
  );
}

/** A move within the shown list: the service places it; the lists in a manual order reload. */
export function useMoveTask(userId: string, events: TaskEvents) {
  return useTaskMutation(
    userId,
    events,
    ({ seen, place }: { seen: Seen; place: Placement; what: string }) =>
      moveTask(userId, seen, place),
    (client, task: Task, { what }) => {
      applyTask(client, userId, task, false);
      for (const view of loadedViews(client, userId)) {
        if (view.order === "manual") {
          void client.invalidateQueries({ queryKey: taskKeys.list(userId, view), exact: true });
        }
      }
      return `“${task.title}” moved ${what}.`;
    },
    (input) => input.seen,
  );
}

export function useToggleTask(userId: string, events: TaskEvents) {
  return useTaskMutation(
    userId,
    events,
    ({ seen, completed }: { seen: Seen; completed: boolean }) =>
      setCompleted(userId, seen, completed),
    (client, task: Task) => {
      applyTask(client, userId, task, false);
      return `“${task.title}” marked ${task.completed ? "complete" : "active"}.`;
    },
    (input) => input.seen,
  );
}

export function useSaveTask(userId: string, events: TaskEvents) {
  return useTaskMutation(
    userId,
    events,
    ({ seen, ...changes }: { seen: Seen } & TaskFieldsInput) => updateTask(userId, seen, changes),
    (client, task: Task) => {
      applyTask(client, userId, task, false);
      return `Saved “${task.title}”.`;
    },
    (input) => input.seen,
  );
}

export function useDeleteTask(userId: string, events: TaskEvents) {
  return useTaskMutation(
    userId,
    events,
    async (task: Task) => {
      await deleteTask(userId, task);
    },
    (client, _done: void, task: Task) => {
      gone(client, userId, task);
      events.offerUndo(task);
      return `Deleted “${task.title}”.`;
    },
    (task) => task,
  );
}

/** A task back from the trash: into the lists (their reload places it), out of the trash. */
export function useRestoreTask(userId: string, events: TaskEvents) {
  return useTaskMutation(
    userId,
    events,
    (task: Task) => restoreTask(userId, task.id),
    (client, task: Task) => {
      applyTask(client, userId, task, false);
      // Its place is by when it was made: the shown list reloads to put it there.
      void client.invalidateQueries({ queryKey: taskKeys.lists(userId) });
      return `Restored “${task.title}”.`;
    },
  );
}

export function useDiscardTask(userId: string, events: TaskEvents) {
  return useTaskMutation(
    userId,
    events,
    async (task: Task) => {
      await discardTask(userId, task.id);
    },
    (_client, _done: void, task: Task) => `Deleted “${task.title}” for good.`,
  );
}

export function useEmptyTrash(userId: string, events: TaskEvents) {
  return useTaskMutation(
    userId,
    events,
    () => emptyTrash(userId),
    () => "Emptied the trash: its tasks are deleted for good.",
  );
}
