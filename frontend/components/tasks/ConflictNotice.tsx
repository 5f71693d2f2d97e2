"use client";

import { useEffect, useId, useRef } from "react";

/** A write refused because the task changed on another device: says so, shows what is stored
 * now, and lets the person keep their change or take the stored one (focus starts on keep). */
export function ConflictNotice({
  message,
  stored,
  keepLabel = "Keep mine",
  takeLabel = "Take the stored one",
  busy = false,
  onKeep,
  onTake,
}: {
  message: string;
  /** What the task holds now, line by line. */
  stored?: string[];
  keepLabel?: string;
  takeLabel?: string;
  busy?: boolean;
  onKeep: () => void;
  onTake: () => void;
}) {
  const id = useId();
  const keep = useRef<HTMLButtonElement>(null);
  useEffect(() => keep.current?.focus(), []);

  return (
    <div className="conflict" role="alert" aria-labelledby={id}>
      <p id={id}>{message}</p>
      {stored && stored.length > 0 ? (
        <ul className="stored" aria-label="Stored version">
          {stored.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      ) : null}
      <div className="actions">
        <button
          type="button"
          ref={keep}
          aria-disabled={busy || undefined}
          onClick={() => busy || onKeep()}
        >
          {keepLabel}
        </button>
        <button type="button" className="secondary" onClick={onTake}>
          {takeLabel}
        </button>
      </div>
    </div>
  );
}
