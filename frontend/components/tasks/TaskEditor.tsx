"use client";

import { type FormEvent, useEffect, useRef, useState } from "react";

import { type TaskEvents, useSaveTask } from "@/hooks/useTaskChanges";
import { DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH } from "@/lib/limits";
import { type Task, fieldErrors } from "@/lib/tasks";

/** A task's title and description edited in place; Escape or Cancel leaves it unchanged. */
export function TaskEditor({
  userId,
  task,
  events,
  onDone,
}: {
  userId: string;
  task: Task;
  events: TaskEvents;
  onDone: () => void;
}) {
  const [title, setTitle] = useState(task.title);
  const [description, setDescription] = useState(task.description ?? "");
  const save = useSaveTask(userId, events);
  const errors = fieldErrors(save.error);
  const titleInput = useRef<HTMLInputElement>(null);

  useEffect(() => titleInput.current?.focus(), []);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    save.mutate(
      { id: task.id, title, description: description.trim() ? description : null },
      { onSuccess: onDone },
    );
  }

  const titleId = `task-${task.id}-title-edit`;
  const descriptionId = `task-${task.id}-description-edit`;
  return (
    <form onSubmit={submit} onKeyDown={(event) => event.key === "Escape" && onDone()} noValidate>
      <label htmlFor={titleId}>Title</label>
      <input
        id={titleId}
        ref={titleInput}
        value={title}
        maxLength={TITLE_MAX_LENGTH}
        aria-invalid={errors.title ? true : undefined}
        onChange={(event) => setTitle(event.target.value)}
      />
      {errors.title ? (
        <p className="field-error" role="alert">
          {errors.title}
        </p>
      ) : null}
      <label htmlFor={descriptionId}>Description</label>
      <textarea
        id={descriptionId}
        rows={2}
        value={description}
        maxLength={DESCRIPTION_MAX_LENGTH}
        onChange={(event) => setDescription(event.target.value)}
      />
      {errors.description ? (
        <p className="field-error" role="alert">
          {errors.description}
        </p>
      ) : null}
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          Save
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
