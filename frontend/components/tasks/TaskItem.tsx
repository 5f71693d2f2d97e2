"use client";

import { useEffect, useRef, useState } from "react";

import { type TaskEvents, useDeleteTask, useToggleTask } from "@/hooks/useTaskChanges";
import type { Task } from "@/lib/tasks";

import { TaskEditor } from "./TaskEditor";

/** One task: its box (complete or not), Edit in place and Delete. While a change of it is on
 * its way the controls stay focusable but do nothing (aria-disabled), so focus stays put. */
export function TaskItem({
  userId,
  task,
  events,
}: {
  userId: string;
  task: Task;
  events: TaskEvents;
}) {
  const [editing, setEditing] = useState(false);
  const toggle = useToggleTask(userId, events);
  const remove = useDeleteTask(userId, events);
  const busy = toggle.isPending || remove.isPending;
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
      className={task.completed ? "task done" : "task"}
    >
      <input
        type="checkbox"
        id={`task-${task.id}-done`}
        checked={task.completed}
        aria-disabled={busy || undefined}
        onChange={() => busy || toggle.mutate(task)}
      />
      <div className="text">
        <label htmlFor={`task-${task.id}-done`} id={`task-${task.id}-title`} className="title">
          {task.title}
        </label>
        {task.description ? <p className="description">{task.description}</p> : null}
      </div>
      <div className="actions">
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
    </li>
  );
}
