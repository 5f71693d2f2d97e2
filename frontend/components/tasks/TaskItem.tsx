"use client";

import { type DragEvent, useEffect, useRef, useState } from "react";

import { type TaskEvents, conflicted, useDeleteTask, useToggleTask } from "@/hooks/useTaskChanges";
import { PRIORITY_NAMES, type Task } from "@/lib/tasks";

import { ConflictNotice } from "./ConflictNotice";
import { TaskEditor } from "./TaskEditor";

export interface Reorder {
  up?: () => void;
  down?: () => void;
  dropped: (taskId: number) => void;
}

/** One task: its box (complete or not), Edit in place and Delete. While a change of it is on
 * its way the controls stay focusable but do nothing (aria-disabled), so focus stays put. A
 * change refused because the task changed elsewhere (412) asks whether to apply it anyway to
 * the stored version the row now shows. */
export function TaskItem({
  userId,
  task,
  events,
  onLabel,
  reorder,
}: {
  userId: string;
  task: Task;
  events: TaskEvents;
  /** Narrows the list to the tasks with this label. */
  onLabel: (label: string) => void;
  /** In the person's own order: move it a place up or down (absent at the ends), or put the
   * task dropped on it just before it. */
  reorder?: Reorder;
}) {
  const [editing, setEditing] = useState(false);
  const toggle = useToggleTask(userId, events);
  const remove = useDeleteTask(userId, events);
  const busy = toggle.isPending || remove.isPending;
  const wanted = toggle.variables?.completed ?? !task.completed;
  const conflict = conflicted(toggle.error)
    ? {
        message: `“${task.title}” was changed on another device, so it was not marked ${
          wanted ? "complete" : "active"
        }. It now shows the stored version.`,
        keepLabel: wanted ? "Mark it complete" : "Mark it active",
        takeLabel: "Keep the stored one",
        onKeep: () => toggle.mutate({ seen: task, completed: wanted }),
        onTake: () => toggle.reset(),
      }
    : conflicted(remove.error)
      ? {
          message: `“${task.title}” was changed on another device, so it was not deleted. It now shows the stored version.`,
          keepLabel: "Delete it anyway",
          takeLabel: "Keep the stored one",
          onKeep: () => remove.mutate(task),
          onTake: () => remove.reset(),
        }
      : null;
  const editButton = useRef<HTMLButtonElement>(null);
  const wasEditing = useRef(false);

  // Back to Edit when editing ends (the editor focuses its own title when it starts).
  useEffect(() => {
    if (!editing && wasEditing.current) editButton.current?.focus();
    wasEditing.current = editing;
  }, [editing]);

  if (editing) {
    return (
      <li id={`task-${task.id}`} data-task-id={task.id} className="task editing">
        <TaskEditor userId={userId} task={task} events={events} onDone={() => setEditing(false)} />
      </li>
    );
  }

  return (
    <li
      id={`task-${task.id}`}
      data-task-id={task.id}
      className={["task", task.completed && "done", conflict && "conflicted"]
        .filter(Boolean)
        .join(" ")}
      {...(reorder
        ? {
            draggable: true,
            onDragStart: (event: DragEvent<HTMLLIElement>) =>
              event.dataTransfer.setData("application/x-task-id", String(task.id)),
            onDragOver: (event: DragEvent<HTMLLIElement>) => event.preventDefault(),
            onDrop: (event: DragEvent<HTMLLIElement>) => {
              event.preventDefault();
              const dragged = Number(event.dataTransfer.getData("application/x-task-id"));
              if (dragged && dragged !== task.id) reorder.dropped(dragged);
            },
          }
        : {})}
    >
      <input
        type="checkbox"
        id={`task-${task.id}-done`}
        checked={task.completed}
        aria-disabled={busy || undefined}
        onChange={() => busy || toggle.mutate({ seen: task, completed: !task.completed })}
      />
      <div className="text">
        <label htmlFor={`task-${task.id}-done`} id={`task-${task.id}-title`} className="title">
          {task.title}
        </label>
        {task.description ? <p className="description">{task.description}</p> : null}
        {task.priority > 0 || task.labels.length > 0 ? (
          <p className="meta">
            {task.priority > 0 ? (
              <span className={`priority priority-${task.priority}`}>
                {PRIORITY_NAMES[task.priority]} priority
              </span>
            ) : null}
            {task.labels.map((label) => (
              <button
                key={label}
                type="button"
                className="label"
                aria-label={`Show tasks labelled ${label}`}
                onClick={() => onLabel(label)}
              >
                {label}
              </button>
            ))}
          </p>
        ) : null}
      </div>
      <div className="actions">
        {reorder ? (
          <>
            <button
              type="button"
              id={`task-${task.id}-up`}
              className="secondary move"
              aria-label={`Move “${task.title}” up`}
              aria-disabled={!reorder.up || undefined}
              onClick={() => reorder.up?.()}
            >
              ↑
            </button>
            <button
              type="button"
              id={`task-${task.id}-down`}
              className="secondary move"
              aria-label={`Move “${task.title}” down`}
              aria-disabled={!reorder.down || undefined}
              onClick={() => reorder.down?.()}
            >
              ↓
            </button>
          </>
        ) : null}
        <button
          type="button"
          ref={editButton}
          className="secondary"
          aria-label={`Edit “${task.title}”`}
          onClick={() => setEditing(true)}
        >
          Edit
        </button>
        <button
          type="button"
          className="danger"
          aria-disabled={busy || undefined}
          aria-label={`Delete “${task.title}”`}
          onClick={() => busy || remove.mutate(task)}
        >
          Delete
        </button>
      </div>
      {conflict ? <ConflictNotice {...conflict} busy={busy} /> : null}
    </li>
  );
}
