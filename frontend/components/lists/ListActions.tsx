"use client";

import { type FormEvent, useState } from "react";

import type { TaskList } from "@/lib/lists";
import type { Placement } from "@/lib/tasks";

/** What can be done to the list shown: rename it, move it up or down among the lists, or
 * delete it (after a confirmation saying its tasks go to the trash). */
export function ListActions({
  list,
  lists,
  left,
  onRename,
  onMove,
  onDelete,
}: {
  list: TaskList;
  lists: TaskList[];
  left: number | undefined;
  onRename: (name: string, done: () => void) => void;
  onMove: (place: Placement, what: string) => void;
  onDelete: () => void;
}) {
  const [renaming, setRenaming] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [name, setName] = useState(list.name);
  const at = lists.findIndex((other) => other.id === list.id);
  const above = lists[at - 1];
  const below = lists[at + 1];

  function rename(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (name.trim() === "") return;
    onRename(name, () => setRenaming(false));
  }

  if (renaming) {
    return (
      <form className="list-actions" onSubmit={rename} noValidate>
        <label htmlFor="rename-list">Name of the list</label>
        <input
          id="rename-list"
          value={name}
          maxLength={100}
          autoFocus
          onChange={(event) => setName(event.target.value)}
        />
        <button type="submit">Save name</button>
        <button type="button" className="secondary" onClick={() => setRenaming(false)}>
          Cancel
        </button>
      </form>
    );
  }
  if (confirming) {
    return (
      <div className="list-actions confirm" role="group" aria-labelledby="delete-list-question">
        <p id="delete-list-question">
          Delete the list “{list.name}”?{" "}
          {left ? "Its tasks go to the trash, where you can restore them." : null}
        </p>
        <button type="button" className="danger" autoFocus onClick={onDelete}>
          Delete list
        </button>
        <button type="button" className="secondary" onClick={() => setConfirming(false)}>
          Keep it
        </button>
      </div>
    );
  }
  return (
    <div className="list-actions" role="group" aria-label={`List “${list.name}”`}>
      <button
        type="button"
        className="secondary"
        onClick={() => {
          setName(list.name);
          setRenaming(true);
        }}
      >
        Rename list
      </button>
      <button
        type="button"
        className="secondary"
        disabled={!above}
        onClick={() => above && onMove({ before: above.id }, "up")}
      >
        Move list up
      </button>
      <button
        type="button"
        className="secondary"
        disabled={!below}
        onClick={() => below && onMove({ after: below.id }, "down")}
      >
        Move list down
      </button>
      <button type="button" className="danger" onClick={() => setConfirming(true)}>
        Delete list
      </button>
    </div>
  );
}
