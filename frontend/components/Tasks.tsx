"use client";

import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";

import {
  ApiError,
  type Filter,
  type Task,
  countTasks,
  createTask,
  deleteTask,
  listTasks,
  setCompleted,
  updateTask,
} from "@/lib/tasks";

const FILTERS: { value: Filter; label: string }[] = [
  { value: "all", label: "All" },
  { value: "active", label: "Active" },
  { value: "completed", label: "Completed" },
];

const EMPTY: Record<Filter, string> = {
  all: "No tasks yet. Add your first one above.",
  active: "Nothing left to do.",
  completed: "No completed tasks yet.",
};

function belongs(task: Task, filter: Filter): boolean {
  return filter === "all" || task.completed === (filter === "completed");
}

/** The signed-in person's tasks: add, filter, page, edit in place, complete, delete. */
export function Tasks({
  userId,
  onSignedOut,
  focusOnStart = false,
}: {
  userId: string;
  onSignedOut: () => void;
  /** Right after signing in: focus starts at "Add a task" rather than on the page body. */
  focusOnStart?: boolean;
}) {
  const [filter, setFilter] = useState<Filter>("all");
  const [tasks, setTasks] = useState<Task[]>([]);
  const [total, setTotal] = useState(0);
  const [counts, setCounts] = useState<Record<Filter, number> | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState("");
  // Tasks added while a page was loading: its answer may predate them, so they are kept.
  const addedDuringLoad = useRef<Task[]>([]);
  // Only the latest counts request may set the counts (answers can arrive out of order).
  const countsRequest = useRef(0);
  // When a task leaves the view, keyboard focus moves to its neighbour (or to the new task's
  // title when none is left) instead of falling to the page body.
  const focusAfterRemoval = useRef<string | null>(null);

  useEffect(() => {
    const target = focusAfterRemoval.current;
    if (target === null) return;
    focusAfterRemoval.current = null;
    document.getElementById(target)?.focus();
  }, [tasks]);

  /** Removes a task from the view, handing its focus on if it had it. */
  function dropFromView(taskId: number) {
    const hadFocus = document.activeElement?.closest(`#task-${taskId}`) != null;
    setTasks((shown) => {
      const at = shown.findIndex((task) => task.id === taskId);
      if (at >= 0 && hadFocus) {
        const neighbour = shown[at + 1] ?? shown[at - 1];
        focusAfterRemoval.current = neighbour ? `task-${neighbour.id}-done` : "new-title";
      }
      return shown.filter((task) => task.id !== taskId);
    });
  }

  /** Every failure ends here: a lost session signs out, anything else is shown. */
  const fail = useCallback(
    (caught: unknown) => {
      if (caught instanceof ApiError && caught.signedOut) {
        onSignedOut();
        return;
      }
      // Errors of the form's own fields are shown beside them, once.
      if (caught instanceof ApiError && shownBesideFields(caught)) return;
      setError(caught instanceof Error ? caught.message : String(caught));
    },
    [onSignedOut],
  );

  const refreshCounts = useCallback(async () => {
    const request = ++countsRequest.current;
    try {
      const latest = await countTasks(userId);
      if (request === countsRequest.current) setCounts(latest);
    } catch (caught) {
      fail(caught);
    }
  }, [userId, fail]);

  useEffect(() => {
    let current = true;
    // Loading starts with the filter it loads for: the reset belongs to this effect until
    // the list's server state moves into a query cache.
    // eslint-disable-next-line react-hooks/set-state-in-effect
    setLoading(true);
    setError(null);
    addedDuringLoad.current = [];
    listTasks(userId, filter, 0)
      .then((page) => {
        if (!current) return;
        const listed = new Set(page.tasks.map((task) => task.id));
        const added = addedDuringLoad.current.filter((task) => !listed.has(task.id));
        setTasks([...added, ...page.tasks]);
        setTotal(page.total + added.length);
      })
      .catch((caught: unknown) => current && fail(caught))
      .finally(() => current && setLoading(false));
    void refreshCounts();
    return () => {
      current = false;
    };
  }, [userId, filter, fail, refreshCounts]);

  async function loadMore() {
    setLoadingMore(true);
    try {
      const page = await listTasks(userId, filter, tasks.length);
      setTasks((shown) => {
        const seen = new Set(shown.map((task) => task.id));
        return [...shown, ...page.tasks.filter((task) => !seen.has(task.id))];
      });
      setTotal(page.total);
    } catch (caught) {
      fail(caught);
    } finally {
      setLoadingMore(false);
    }
  }

  /** Runs a change and announces it; the filters' sizes follow in the background, so the
   * form that asked is free again as soon as the change itself is done. */
  async function change(action: () => Promise<void>, done: string, taskId?: number) {
    setError(null);
    try {
      await action();
      setStatus(done);
      void refreshCounts();
    } catch (caught) {
      if (taskId !== undefined && caught instanceof ApiError && caught.status === 404) {
        // Deleted elsewhere (another tab, another device): it leaves this view too.
        dropFromView(taskId);
        setTotal((n) => n - 1);
        void refreshCounts();
      }
      fail(caught);
      throw caught;
    }
  }

  function replace(updated: Task) {
    if (belongs(updated, filter)) {
      setTasks((shown) => shown.map((task) => (task.id === updated.id ? updated : task)));
    } else {
      dropFromView(updated.id);
      setTotal((n) => n - 1);
    }
  }

  return (
    <>
      <NewTask
        focusOnStart={focusOnStart}
        onAdd={(title, description) =>
          change(async () => {
            const task = await createTask(userId, title, description);
            if (belongs(task, filter)) {
              addedDuringLoad.current.push(task);
              setTasks((shown) => [task, ...shown]);
              setTotal((n) => n + 1);
            }
          }, `Added “${title}”.`)
        }
      />
      {error ? (
        <div role="alert" className="error banner">
          <span>{error}</span>
          <button type="button" className="link" onClick={() => setError(null)}>
            Dismiss
          </button>
        </div>
      ) : null}
      <p role="status" className="visually-hidden">
        {status}
      </p>
      <nav className="filters" aria-label="Filter tasks">
        {FILTERS.map(({ value, label }) => (
          <button
            key={value}
            type="button"
            className="filter"
            aria-pressed={filter === value}
            onClick={() => setFilter(value)}
          >
            {label} <span className="count">{counts ? counts[value] : "…"}</span>
          </button>
        ))}
      </nav>
      {loading ? (
        <p role="status" className="muted">
          Loading tasks…
        </p>
      ) : tasks.length === 0 ? (
        <p className="muted empty">{EMPTY[filter]}</p>
      ) : (
        <ul
          className="tasks"
          aria-label={`${FILTERS.find((f) => f.value === filter)?.label} tasks`}
        >
          {tasks.map((task) => (
            <TaskItem
              key={task.id}
              task={task}
              onToggle={() =>
                change(
                  async () => {
                    replace(await setCompleted(userId, task.id, !task.completed));
                  },
                  `“${task.title}” marked ${task.completed ? "active" : "complete"}.`,
                  task.id,
                )
              }
              onSave={(title, description) =>
                change(
                  async () => {
                    replace(await updateTask(userId, task.id, { title, description }));
                  },
                  `Saved “${title}”.`,
                  task.id,
                )
              }
              onDelete={() =>
                change(
                  async () => {
                    await deleteTask(userId, task.id);
                    dropFromView(task.id);
                    setTotal((n) => n - 1);
                  },
                  `Deleted “${task.title}”.`,
                  task.id,
                )
              }
            />
          ))}
        </ul>
      )}
      {!loading && tasks.length < total ? (
        <button
          type="button"
          className="secondary more"
          disabled={loadingMore}
          onClick={() => void loadMore()}
        >
          {loadingMore ? "Loading…" : `Load more (${total - tasks.length} left)`}
        </button>
      ) : null}
    </>
  );
}

/** The fields a task's forms have an input for, where their errors are shown. */
const FORM_FIELDS = new Set(["title", "description"]);

function shownBesideFields(error: ApiError): boolean {
  const fields = Object.keys(error.fields);
  return fields.length > 0 && fields.every((field) => FORM_FIELDS.has(field));
}

/** Field errors from a 400, keyed by field name, for the inputs' own messages. */
function fieldErrors(caught: unknown): Record<string, string> {
  return caught instanceof ApiError ? caught.fields : {};
}

function NewTask({
  onAdd,
  focusOnStart,
}: {
  onAdd: (title: string, description: string | null) => Promise<void>;
  focusOnStart: boolean;
}) {
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const titleRef = useRef<HTMLInputElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  // The heading, not the input: focusing an input would open a phone's keyboard unasked.
  useEffect(() => {
    if (focusOnStart) heading.current?.focus();
  }, [focusOnStart]);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      await onAdd(title, description.trim() ? description : null);
      setTitle("");
      setDescription("");
      titleRef.current?.focus();
    } catch (caught) {
      setErrors(fieldErrors(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card new-task" onSubmit={(event) => void submit(event)} noValidate>
      <h2 ref={heading} tabIndex={-1}>
        Add a task
      </h2>
      <label htmlFor="new-title">Title</label>
      <input
        id="new-title"
        ref={titleRef}
        value={title}
        maxLength={255}
        aria-invalid={errors.title ? true : undefined}
        aria-describedby={errors.title ? "new-title-error" : undefined}
        onChange={(event) => setTitle(event.target.value)}
      />
      {errors.title ? (
        <p id="new-title-error" className="field-error" role="alert">
          {errors.title}
        </p>
      ) : null}
      <label htmlFor="new-description">
        Description <span className="muted">(optional)</span>
      </label>
      <textarea
        id="new-description"
        rows={2}
        value={description}
        aria-invalid={errors.description ? true : undefined}
        onChange={(event) => setDescription(event.target.value)}
      />
      {errors.description ? (
        <p className="field-error" role="alert">
          {errors.description}
        </p>
      ) : null}
      <button type="submit" disabled={busy}>
        {busy ? "Adding…" : "Add task"}
      </button>
    </form>
  );
}

function TaskItem({
  task,
  onToggle,
  onSave,
  onDelete,
}: {
  task: Task;
  onToggle: () => Promise<void>;
  onSave: (title: string, description: string | null) => Promise<void>;
  onDelete: () => Promise<void>;
}) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(task.title);
  const [description, setDescription] = useState(task.description ?? "");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const editButton = useRef<HTMLButtonElement>(null);
  const titleInput = useRef<HTMLInputElement>(null);
  const wasEditing = useRef(false);

  // Focus follows the mode: into the title when editing starts, back to Edit when it ends.
  useEffect(() => {
    if (editing) titleInput.current?.focus();
    else if (wasEditing.current) editButton.current?.focus();
    wasEditing.current = editing;
  }, [editing]);

  async function run(action: () => Promise<void>) {
    setBusy(true);
    try {
      await action();
      return true;
    } catch (caught) {
      setErrors(fieldErrors(caught));
      return false;
    } finally {
      setBusy(false);
    }
  }

  function startEditing() {
    setTitle(task.title);
    setDescription(task.description ?? "");
    setErrors({});
    setEditing(true);
  }

  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (await run(() => onSave(title, description.trim() ? description : null))) {
      setEditing(false);
    }
  }

  const titleId = `task-${task.id}-title`;
  if (editing) {
    return (
      <li id={`task-${task.id}`} className="task editing">
        <form
          onSubmit={(event) => void save(event)}
          onKeyDown={(event) => event.key === "Escape" && setEditing(false)}
          noValidate
        >
          <label htmlFor={`${titleId}-edit`}>Title</label>
          <input
            id={`${titleId}-edit`}
            ref={titleInput}
            value={title}
            maxLength={255}
            aria-invalid={errors.title ? true : undefined}
            onChange={(event) => setTitle(event.target.value)}
          />
          {errors.title ? (
            <p className="field-error" role="alert">
              {errors.title}
            </p>
          ) : null}
          <label htmlFor={`task-${task.id}-description-edit`}>Description</label>
          <textarea
            id={`task-${task.id}-description-edit`}
            rows={2}
            value={description}
            onChange={(event) => setDescription(event.target.value)}
          />
          {errors.description ? (
            <p className="field-error" role="alert">
              {errors.description}
            </p>
          ) : null}
          <div className="actions">
            <button type="submit" disabled={busy}>
              Save
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      </li>
    );
  }

  return (
    <li id={`task-${task.id}`} className={task.completed ? "task done" : "task"}>
      <input
        type="checkbox"
        id={`task-${task.id}-done`}
        checked={task.completed}
        aria-disabled={busy || undefined}
        onChange={() => busy || void run(onToggle)}
      />
      <div className="text">
        <label htmlFor={`task-${task.id}-done`} id={titleId} className="title">
          {task.title}
        </label>
        {task.description ? <p className="description">{task.description}</p> : null}
      </div>
      <div className="actions">
        <button
          type="button"
          ref={editButton}
          className="secondary"
          aria-label={`Edit “${task.title}”`}
          onClick={startEditing}
        >
          Edit
        </button>
        <button
          type="button"
          className="danger"
          aria-disabled={busy || undefined}
          aria-label={`Delete “${task.title}”`}
          onClick={() => busy || void run(onDelete)}
        >
          Delete
        </button>
      </div>
    </li>
  );
}
