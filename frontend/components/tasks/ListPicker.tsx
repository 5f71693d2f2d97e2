"use client";

import type { TaskList } from "@/lib/lists";

/** Which list a task is in: the Inbox or one of the person's lists. */
export function ListPicker({
  id,
  lists,
  value,
  onChange,
}: {
  id: string;
  lists: TaskList[];
  value: number | null;
  onChange: (listId: number | null) => void;
}) {
  return (
    <p className="field">
      <label htmlFor={id}>List</label>
      <select
        id={id}
        value={value === null ? "" : String(value)}
        onChange={(event) =>
          onChange(event.target.value === "" ? null : Number(event.target.value))
        }
      >
        <option value="">Inbox</option>
        {lists.map((list) => (
          <option key={list.id} value={String(list.id)}>
            {list.name}
          </option>
        ))}
      </select>
    </p>
  );
}
