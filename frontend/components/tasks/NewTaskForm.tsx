"use client";

import { type FormEvent, useEffect, useRef, useState } from "react";

import { type TaskEvents, useAddTask } from "@/hooks/useTaskChanges";
import { DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH } from "@/lib/limits";
import { fieldErrors } from "@/lib/tasks";

/** "Add a task": a title and an optional description; a field's error is shown beside it. */
export function NewTaskForm({
  userId,
  events,
  focusOnStart,
}: {
  userId: string;
  events: TaskEvents;
  focusOnStart: boolean;
}) {
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const add = useAddTask(userId, events);
  const errors = fieldErrors(add.error);
  const titleRef = useRef<HTMLInputElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  // The heading, not the input: focusing an input would open a phone's keyboard unasked.
  useEffect(() => {
    if (focusOnStart) heading.current?.focus();
  }, [focusOnStart]);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    add.mutate(
      { title, description: description.trim() ? description : null },
      {
        onSuccess: () => {
          setTitle("");
          setDescription("");
          titleRef.current?.focus();
        },
      },
    );
  }

  return (
    <form className="card new-task" onSubmit={submit} noValidate>
      <h2 ref={heading} tabIndex={-1}>
        Add a task
      </h2>
      <label htmlFor="new-title">Title</label>
      <input
        id="new-title"
        ref={titleRef}
        value={title}
        maxLength={TITLE_MAX_LENGTH}
        aria-invalid={errors.title ? true : undefined}
        aria-describedby={errors.title ? "new-title-error" : undefined}
        onChange={(event) => setTitle(event.target.value)}
      />
      {errors.title ? (
        <p id="new-title-error" className="field-error" role="alert">
          {errors.title}
        </p>
      ) : null}
      <label htmlFor="new-description">
        Description <span className="muted">(optional)</span>
      </label>
      <textarea
        id="new-description"
        rows={2}
        value={description}
        maxLength={DESCRIPTION_MAX_LENGTH}
        aria-invalid={errors.description ? true : undefined}
        onChange={(event) => setDescription(event.target.value)}
      />
      {errors.description ? (
        <p className="field-error" role="alert">
          {errors.description}
        </p>
      ) : null}
      <button type="submit" disabled={add.isPending}>
        {add.isPending ? "Adding…" : "Add task"}
      </button>
    </form>
  );
}
