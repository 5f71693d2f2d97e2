"use client";

import { useState } from "react";

import type { TaskList } from "@/lib/lists";
import type { Scope } from "@/lib/tasks";

import { NewListForm } from "./NewListForm";

/** Where the tasks shown come from: all of them, the Inbox (no list) or one list, each with
 * its count of tasks left. On a phone it folds into a "Lists" menu. */
export function ListNav({
  lists,
  left,
  scope,
  onChoose,
  onCreate,
  creating,
  createError,
}: {
  lists: TaskList[];
  left: Map<Scope, number>;
  scope: Scope;
  onChoose: (scope: Scope, name: string) => void;
  onCreate: (name: string, done: () => void) => void;
  creating: boolean;
  createError: string | null;
}) {
  const [open, setOpen] = useState(false);
  const entries: { scope: Scope; name: string }[] = [
    { scope: "all", name: "All tasks" },
    { scope: "inbox", name: "Inbox" },
    ...lists.map((list) => ({ scope: list.id, name: list.name })),
  ];
  return (
    <nav className="list-nav card" aria-label="Lists">
      <button
        type="button"
        className="secondary menu-toggle"
        aria-expanded={open}
        aria-controls="list-nav-entries"
        onClick={() => setOpen((was) => !was)}
      >
        Lists
      </button>
      <div id="list-nav-entries" className={open ? "entries open" : "entries"}>
        <ul>
          {entries.map((entry) => {
            const count = left.get(entry.scope);
            return (
              <li key={String(entry.scope)}>
                <button
                  type="button"
                  className="list-entry"
                  aria-current={entry.scope === scope ? "page" : undefined}
                  onClick={() => {
                    setOpen(false);
                    onChoose(entry.scope, entry.name);
                  }}
                >
                  <span className="name">{entry.name}</span>
                  {count === undefined ? null : (
                    <span className="count">
                      {count}
                      <span className="visually-hidden"> left to do</span>
                    </span>
                  )}
                </button>
              </li>
            );
          })}
        </ul>
        <NewListForm
          onCreate={(name, done) =>
            onCreate(name, () => {
              done();
              setOpen(false);
            })
          }
          busy={creating}
          error={createError}
        />
      </div>
    </nav>
  );
}
