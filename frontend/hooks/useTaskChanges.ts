/**
 * The changes a person makes to their tasks, one hook each (so every form and row has its own
 * pending state and errors): each shows its answer in the loaded lists at once, marks the
 * other lists to be reloaded before they are shown next, refreshes the counts and announces
 * itself. A task found gone (404: deleted elsewhere) leaves every list too.
 */
import { type QueryClient, useMutation, useQueryClient } from "@tanstack/react-query";

import { FILTERS, applyTask, removeTask, taskKeys } from "@/lib/task-cache";
import { ApiError, type Task, createTask, deleteTask, setCompleted, updateTask } from "@/lib/tasks";

import type { Report } from "./useProblem";

/** Where a change's outcome goes: failures to the banner, successes to the live region. */
export interface TaskEvents {
  report: Report;
  announce: (message: string) => void;
}

/** After any change: a list still loading reloads (its answer may predate the change), the
 * others are stale until shown again, the counts reload now. */
function settle(client: QueryClient, userId: string): void {
  for (const filter of FILTERS) {
    const queryKey = taskKeys.list(userId, filter);
    const loading = client.isFetching({ queryKey, exact: true }) > 0;
    void client.invalidateQueries({
      queryKey,
      exact: true,
      refetchType: loading ? "active" : "none",
    });
  }
  void client.invalidateQueries({ queryKey: taskKeys.counts(userId) });
}

function useTaskMutation<Input, Output>(
  userId: string,
  events: TaskEvents,
  send: (input: Input) => Promise<Output>,
  show: (client: QueryClient, output: Output, input: Input) => string,
  taskOf?: (input: Input) => number,
) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: send,
    onSuccess: (output, input) => {
      events.announce(show(client, output, input));
      settle(client, userId);
    },
    onError: (caught, input) => {
      if (taskOf && caught instanceof ApiError && caught.status === 404) {
        removeTask(client, userId, taskOf(input));
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
    ({ title, description }: { title: string; description: string | null }) =>
      createTask(userId, title, description),
    (client, task: Task) => {
      applyTask(client, userId, task, true);
      return `Added “${task.title}”.`;
    },
  );
}

export function useToggleTask(userId: string, events: TaskEvents) {
  return useTaskMutation(
    userId,
    events,
    (task: Task) => setCompleted(userId, task.id, !task.completed),
    (client, task: Task) => {
      applyTask(client, userId, task, false);
      return `“${task.title}” marked ${task.completed ? "complete" : "active"}.`;
    },
    (task) => task.id,
  );
}

export function useSaveTask(userId: string, events: TaskEvents) {
  return useTaskMutation(
    userId,
    events,
    ({ id, ...changes }: { id: number; title: string; description: string | null }) =>
      updateTask(userId, id, changes),
    (client, task: Task) => {
      applyTask(client, userId, task, false);
      return `Saved “${task.title}”.`;
    },
    (input) => input.id,
  );
}

export function useDeleteTask(userId: string, events: TaskEvents) {
  return useTaskMutation(
    userId,
    events,
    async (task: Task) => {
      await deleteTask(userId, task.id);
    },
    (client, _done: void, task: Task) => {
      removeTask(client, userId, task.id);
      return `Deleted “${task.title}”.`;
    },
    (task) => task.id,
  );
}
