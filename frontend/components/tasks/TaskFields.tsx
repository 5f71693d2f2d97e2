"use client";

import type { Ref } from "react";

import { DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH } from "@/lib/limits";

/** A task's title and description inputs, each with its own error beside it (both the add
 * form and the editor in place use them, so they stay alike). */
export function TaskFields({
  idPrefix,
  title,
  description,
  onTitle,
  onDescription,
  errors,
  titleRef,
  descriptionOptional = false,
}: {
  idPrefix: string;
  title: string;
  description: string;
  onTitle: (value: string) => void;
  onDescription: (value: string) => void;
  errors: Record<string, string>;
  titleRef?: Ref<HTMLInputElement>;
  /** Says "(optional)" beside the description's label. */
  descriptionOptional?: boolean;
}) {
  const titleId = `${idPrefix}-title`;
  const descriptionId = `${idPrefix}-description`;
  return (
    <>
      <label htmlFor={titleId}>Title</label>
      <input
        id={titleId}
        ref={titleRef}
        value={title}
        maxLength={TITLE_MAX_LENGTH}
        aria-invalid={errors.title ? true : undefined}
        aria-describedby={errors.title ? `${titleId}-error` : undefined}
        onChange={(event) => onTitle(event.target.value)}
      />
      {errors.title ? (
        <p id={`${titleId}-error`} className="field-error" role="alert">
          {errors.title}
        </p>
      ) : null}
      <label htmlFor={descriptionId}>
        Description
        {descriptionOptional ? <span className="muted"> (optional)</span> : null}
      </label>
      <textarea
        id={descriptionId}
        rows={2}
        value={description}
        maxLength={DESCRIPTION_MAX_LENGTH}
        aria-invalid={errors.description ? true : undefined}
        aria-describedby={errors.description ? `${descriptionId}-error` : undefined}
        onChange={(event) => onDescription(event.target.value)}
      />
      {errors.description ? (
        <p id={`${descriptionId}-error`} className="field-error" role="alert">
          {errors.description}
        </p>
      ) : null}
    </>
  );
}
