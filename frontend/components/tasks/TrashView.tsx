"use client";

import { useInfiniteQuery } from "@tanstack/react-query";
import { useState } from "react";

import {
  type TaskEvents,
  useDiscardTask,
  useEmptyTrash,
  useRestoreTask,
} from "@/hooks/useTaskChanges";
import { shownTasks, shownTotal, trashQuery } from "@/lib/task-cache";
import type { ApiError, Task } from "@/lib/tasks";

function TrashedTask({ userId, task, events }: { userId: string; task: Task; events: TaskEvents }) {
  const restore = useRestoreTask(userId, events);
  const discard = useDiscardTask(userId, events);
  const busy = restore.isPending || discard.isPending;
  return (
    <li className="task trashed" data-task-id={task.id}>
      <div className="text">
        <p className="title">{task.title}</p>
        {task.description ? <p className="description">{task.description}</p> : null}
      </div>
      <div className="actions">
        <button
          type="button"
          className="secondary"
          aria-disabled={busy || undefined}
          aria-label={`Restore “${task.title}”`}
          onClick={() => busy || restore.mutate(task)}
        >
          Restore
        </button>
        <button
          type="button"
          className="danger"
          aria-disabled={busy || undefined}
          aria-label={`Delete forever “${task.title}”`}
          onClick={() => busy || discard.mutate(task)}
        >
          Delete forever
        </button>
      </div>
    </li>
  );
}

/** The trash: what was deleted, latest first, each restorable or deletable for good, and the
 * whole of it emptied after a confirmation. */
export function TrashView({ userId, events }: { userId: string; events: TaskEvents }) {
  const query = useInfiniteQuery(trashQuery(userId));
  const tasks = shownTasks(query.data);
  const total = shownTotal(query.data);
  const empty = useEmptyTrash(userId, events);
  const [confirming, setConfirming] = useState(false);
  const error = query.error as ApiError | null;

  if (query.isPending) {
    return (
      <p role="status" className="muted">
        Loading the trash…
      </p>
    );
  }
  if (error) {
    return <p className="error">Couldn&apos;t load the trash. {error.message}</p>;
  }
  return (
    <section aria-labelledby="trash-heading">
      <h2 id="trash-heading" className="trash-heading">
        Trash
      </h2>
      <p className="muted">Deleted tasks stay here for 30 days, then they are deleted for good.</p>
      {tasks.length === 0 ? (
        <p className="muted empty">The trash is empty.</p>
      ) : (
        <>
          <ul className="tasks" aria-label="Deleted tasks">
            {tasks.map((task) => (
              <TrashedTask key={task.id} userId={userId} task={task} events={events} />
            ))}
          </ul>
          {query.hasNextPage ? (
            <button
              type="button"
              className="secondary more"
              disabled={query.isFetchingNextPage}
              onClick={() => void query.fetchNextPage()}
            >
              {query.isFetchingNextPage ? "Loading…" : `Load more (${total - tasks.length} left)`}
            </button>
          ) : null}
          {confirming ? (
            <div className="confirm" role="alert">
              <p>
                Delete {total} task{total === 1 ? "" : "s"} for good? This cannot be undone.
              </p>
              <div className="actions">
                <button
                  type="button"
                  className="danger"
                  disabled={empty.isPending}
                  onClick={() => empty.mutate(undefined, { onSuccess: () => setConfirming(false) })}
                >
                  Empty the trash
                </button>
                <button type="button" className="secondary" onClick={() => setConfirming(false)}>
                  Keep them
                </button>
              </div>
            </div>
          ) : (
            <button type="button" className="danger" onClick={() => setConfirming(true)}>
              Empty trash…
            </button>
          )}
        </>
      )}
    </section>
  );
}
