"use client";

import { type TaskEvents, useRestoreTask } from "@/hooks/useTaskChanges";
import type { Task } from "@/lib/tasks";

/** "Deleted “…”. Undo": the last task deleted here, one press from coming back (it is in the
 * trash until then, and after). */
export function UndoBar({
  userId,
  task,
  events,
  onDone,
}: {
  userId: string;
  task: Task | null;
  events: TaskEvents;
  onDone: () => void;
}) {
  const restore = useRestoreTask(userId, events);
  return (
    <div className="undo" role="status">
      {task ? (
        <>
          <span>Deleted “{task.title}”.</span>
          <button
            type="button"
            className="secondary"
            aria-disabled={restore.isPending || undefined}
            onClick={() => restore.isPending || restore.mutate(task, { onSuccess: onDone })}
          >
            Undo
          </button>
          <button type="button" className="link" onClick={onDone}>
            Dismiss
          </button>
        </>
      ) : null}
    </div>
  );
}
