"use client";

import { type FormEvent, useState } from "react";

/** "New list": a name; the service's refusal (a name in use, too many lists) shows below. */
export function NewListForm({
  onCreate,
  busy,
  error,
}: {
  onCreate: (name: string, done: () => void) => void;
  busy: boolean;
  error: string | null;
}) {
  const [name, setName] = useState("");
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (name.trim() === "") return;
    onCreate(name, () => setName(""));
  }
  return (
    <form className="new-list" onSubmit={submit} noValidate>
      <label htmlFor="new-list-name">New list</label>
      <input
        id="new-list-name"
        value={name}
        maxLength={100}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? "new-list-error" : undefined}
        onChange={(event) => setName(event.target.value)}
      />
      <button type="submit" className="secondary" disabled={busy}>
        {busy ? "Adding…" : "Add list"}
      </button>
      {error ? (
        <p id="new-list-error" className="field-error">
          {error}
        </p>
      ) : null}
    </form>
  );
}
