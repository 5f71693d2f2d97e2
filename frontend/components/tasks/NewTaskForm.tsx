"use client";

import { type FormEvent, useEffect, useRef, useState } from "react";

import { type TaskEvents, useAddTask } from "@/hooks/useTaskChanges";
import { fieldErrors } from "@/lib/tasks";

import { TaskFields } from "./TaskFields";

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
      <TaskFields
        idPrefix="new"
        title={title}
        description={description}
        onTitle={setTitle}
        onDescription={setDescription}
        errors={errors}
        titleRef={titleRef}
        descriptionOptional
      />
      <button type="submit" disabled={add.isPending}>
        {add.isPending ? "Adding…" : "Add task"}
      </button>
    </form>
  );
}
