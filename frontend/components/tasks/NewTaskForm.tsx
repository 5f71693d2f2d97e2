"use client";

import { type FormEvent, useEffect, useRef, useState } from "react";

import { type TaskEvents, useAddTask } from "@/hooks/useTaskChanges";
import { fieldErrors } from "@/lib/tasks";

import { EMPTY_DRAFT, TaskFields, fieldsOf } from "./TaskFields";

/** "Add a task": a title and, optionally, a description, a priority and labels; a field's
 * error is shown beside it. */
export function NewTaskForm({
  userId,
  events,
  focusOnStart,
  listId,
}: {
  userId: string;
  events: TaskEvents;
  focusOnStart: boolean;
  /** The list shown, which a new task joins (null: the Inbox). */
  listId: number | null;
}) {
  const [draft, setDraft] = useState(EMPTY_DRAFT);
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
      { ...fieldsOf(draft), list_id: listId },
      {
        onSuccess: () => {
          setDraft(EMPTY_DRAFT);
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
        draft={draft}
        onChange={(changed) => setDraft((held) => ({ ...held, ...changed }))}
        errors={errors}
        titleRef={titleRef}
        optionalHints
      />
      <button type="submit" disabled={add.isPending}>
        {add.isPending ? "Adding…" : "Add task"}
      </button>
    </form>
  );
}
