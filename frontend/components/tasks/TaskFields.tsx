"use client";

import type { Ref } from "react";

import { DESCRIPTION_MAX_LENGTH, LABEL_MAX_LENGTH, TITLE_MAX_LENGTH } from "@/lib/limits";
import { PRIORITY_NAMES, type Task, type TaskFieldsInput, parseLabels } from "@/lib/tasks";

/** A task's fields as a form holds them (labels as the text typed). */
export interface TaskDraft {
  title: string;
  description: string;
  priority: number;
  labels: string;
}

export const EMPTY_DRAFT: TaskDraft = { title: "", description: "", priority: 0, labels: "" };

export function draftOf(task: Task): TaskDraft {
  return {
    title: task.title,
    description: task.description ?? "",
    priority: task.priority,
    labels: task.labels.join(", "),
  };
}

/** What the draft asks the service to store: no description is null, labels split. */
export function fieldsOf(draft: TaskDraft): TaskFieldsInput {
  return {
    title: draft.title,
    description: draft.description.trim() ? draft.description : null,
    priority: draft.priority,
    labels: parseLabels(draft.labels),
  };
}

function FieldError({ id, message }: { id: string; message: string | undefined }) {
  return message ? (
    <p id={id} className="field-error" role="alert">
      {message}
    </p>
  ) : null;
}

/** A task's inputs, each with its own error beside it (the add form and the editor in place
 * both use them, so they stay alike). */
export function TaskFields({
  idPrefix,
  draft,
  onChange,
  errors,
  titleRef,
  optionalHints = false,
}: {
  idPrefix: string;
  draft: TaskDraft;
  onChange: (changed: Partial<TaskDraft>) => void;
  errors: Record<string, string>;
  titleRef?: Ref<HTMLInputElement>;
  /** Says "(optional)" beside the labels of the fields that may stay empty. */
  optionalHints?: boolean;
}) {
  const id = (field: string) => `${idPrefix}-${field}`;
  const described = (field: string) => (errors[field] ? `${id(field)}-error` : undefined);
  const optional = optionalHints ? <span className="muted"> (optional)</span> : null;
  return (
    <>
      <label htmlFor={id("title")}>Title</label>
      <input
        id={id("title")}
        ref={titleRef}
        value={draft.title}
        maxLength={TITLE_MAX_LENGTH}
        aria-invalid={errors.title ? true : undefined}
        aria-describedby={described("title")}
        onChange={(event) => onChange({ title: event.target.value })}
      />
      <FieldError id={`${id("title")}-error`} message={errors.title} />
      <label htmlFor={id("description")}>Description{optional}</label>
      <textarea
        id={id("description")}
        rows={2}
        value={draft.description}
        maxLength={DESCRIPTION_MAX_LENGTH}
        aria-invalid={errors.description ? true : undefined}
        aria-describedby={described("description")}
        onChange={(event) => onChange({ description: event.target.value })}
      />
      <FieldError id={`${id("description")}-error`} message={errors.description} />
      <div className="field-row">
        <div>
          <label htmlFor={id("priority")}>Priority</label>
          <select
            id={id("priority")}
            value={draft.priority}
            aria-invalid={errors.priority ? true : undefined}
            aria-describedby={described("priority")}
            onChange={(event) => onChange({ priority: Number(event.target.value) })}
          >
            {PRIORITY_NAMES.map((name, priority) => (
              <option key={name} value={priority}>
                {priority === 0 ? "None" : name}
              </option>
            ))}
          </select>
        </div>
        <div className="grow">
          <label htmlFor={id("labels")}>Labels{optional}</label>
          <input
            id={id("labels")}
            value={draft.labels}
            placeholder="home, errands"
            aria-invalid={errors.labels ? true : undefined}
            aria-describedby={`${id("labels")}-hint ${described("labels") ?? ""}`.trim()}
            onChange={(event) => onChange({ labels: event.target.value })}
          />
          <p id={`${id("labels")}-hint`} className="hint">
            Separate labels with commas; each up to {LABEL_MAX_LENGTH} characters.
          </p>
        </div>
      </div>
      <FieldError id={`${id("priority")}-error`} message={errors.priority} />
      <FieldError id={`${id("labels")}-error`} message={errors.labels} />
    </>
  );
}
