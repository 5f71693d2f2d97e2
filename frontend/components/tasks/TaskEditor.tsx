"use client";

import { type FormEvent, useEffect, useRef, useState } from "react";

import { type TaskEvents, conflicted, useSaveTask } from "@/hooks/useTaskChanges";
import { useTaskLists } from "@/hooks/useTaskLists";
import { PRIORITY_NAMES, type Task, fieldErrors } from "@/lib/tasks";

import { ConflictNotice } from "./ConflictNotice";
import { ListPicker } from "./ListPicker";
import { TaskFields, draftOf, fieldsOf } from "./TaskFields";

/** A task's fields edited in place; Escape or Cancel leaves it unchanged. The
 * save is made from the version the editing started from: if the task changed elsewhere
 * meanwhile, the editor shows the stored text and lets the person keep theirs or take it. */
export function TaskEditor({
  userId,
  task,
  events,
  onDone,
}: {
  userId: string;
  task: Task;
  events: TaskEvents;
  onDone: () => void;
}) {
  const [draft, setDraft] = useState(() => draftOf(task));
  const [listId, setListId] = useState(task.list_id);
  const { lists } = useTaskLists(userId);
  // What the person is editing from (the row may show newer versions as they stream in).
  const [seen, setSeen] = useState({ id: task.id, version: task.version });
  const save = useSaveTask(userId, events);
  const errors = fieldErrors(save.error);
  const titleInput = useRef<HTMLInputElement>(null);

  useEffect(() => titleInput.current?.focus(), []);

  function send(from: { id: number; version: number }) {
    save.mutate({ seen: from, ...fieldsOf(draft), list_id: listId }, { onSuccess: onDone });
  }

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    send(seen);
  }

  function keepMine() {
    const stored = { id: task.id, version: task.version };
    setSeen(stored);
    send(stored);
  }

  return (
    <form onSubmit={submit} onKeyDown={(event) => event.key === "Escape" && onDone()} noValidate>
      <TaskFields
        idPrefix={`task-${task.id}-edit`}
        draft={draft}
        onChange={(changed) => setDraft((held) => ({ ...held, ...changed }))}
        errors={errors}
        titleRef={titleInput}
      />
      <ListPicker
        id={`task-${task.id}-edit-list`}
        lists={lists}
        value={listId}
        onChange={setListId}
      />
      {conflicted(save.error) ? (
        <ConflictNotice
          message="This task was changed on another device while you were editing it. Stored now:"
          stored={[
            `Title: ${task.title}`,
            `Description: ${task.description ?? "(none)"}`,
            `Priority: ${task.priority === 0 ? "none" : PRIORITY_NAMES[task.priority]}`,
            `Labels: ${task.labels.length > 0 ? task.labels.join(", ") : "(none)"}`,
          ]}
          keepLabel="Keep mine"
          takeLabel="Take the stored one"
          busy={save.isPending}
          onKeep={keepMine}
          onTake={onDone}
        />
      ) : null}
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          Save
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
