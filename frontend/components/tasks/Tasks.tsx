"use client";

import { useEffect, useMemo, useRef, useState } from "react";

import { useFilterSwitch } from "@/hooks/useFilterSwitch";
import { useFocusHandoff } from "@/hooks/useFocusHandoff";
import { useLiveUpdates } from "@/hooks/useLiveUpdates";
import { useProblem } from "@/hooks/useProblem";
import { type TaskEvents, useMoveTask } from "@/hooks/useTaskChanges";
import { useTaskCounts } from "@/hooks/useTaskCounts";
import { useTaskList } from "@/hooks/useTaskList";
import { useListChanges, useTaskLists } from "@/hooks/useTaskLists";
import {
  ApiError,
  type Filter,
  ORDER_LABELS,
  type Scope,
  searchView,
  type Task,
  listOf,
} from "@/lib/tasks";

import { ListActions } from "../lists/ListActions";
import { ListNav } from "../lists/ListNav";

import { LabelFilter } from "./LabelFilter";
import { OrderPicker } from "./OrderPicker";
import { SearchBox } from "./SearchBox";
import { TrashView } from "./TrashView";
import { UndoBar } from "./UndoBar";

import { NewTaskForm } from "./NewTaskForm";
import { ProblemBanner } from "./ProblemBanner";
import { FILTER_LABELS, TaskFilters } from "./TaskFilters";
import { type Reorder, TaskItem } from "./TaskItem";

const EMPTY: Record<Filter, string> = {
  all: "No tasks yet. Add your first one above.",
  active: "Nothing left to do.",
  completed: "No completed tasks yet.",
};

/** The signed-in person's tasks: add, filter (by completion and by label), page, edit in
 * place, complete, delete; what other devices change shows up by itself. */
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
  const { problem, report, dismiss } = useProblem(onSignedOut);
  const [status, announce] = useState("");
  const [undoable, offerUndo] = useState<Task | null>(null);
  const [inTrash, setInTrash] = useState(false);
  const events = useMemo<TaskEvents>(() => ({ report, announce, offerUndo }), [report]);
  const { view, pending, choose } = useFilterSwitch(userId, report);
  const { scope, filter, label, order, q = "" } = view;
  const list = useTaskList(userId, view, problem?.transient ?? false);
  const taskLists = useTaskLists(userId);
  const listChanges = useListChanges(userId, report, announce);
  const move = useMoveTask(userId, events);
  const refocus = useRef<string | null>(null);
  const shownList = typeof scope === "number" ? taskLists.lists.find((l) => l.id === scope) : null;
  const scopeName =
    scope === "all" ? "All tasks" : scope === "inbox" ? "Inbox" : (shownList?.name ?? "List");

  // A moved task keeps the focus on the control that moved it, wherever it now is.
  useEffect(() => {
    const control = refocus.current === null ? null : document.getElementById(refocus.current);
    if (control) {
      control.focus();
      refocus.current = null;
    }
  }, [list.tasks]);

  function chooseScope(next: Scope, name: string) {
    setInTrash(false);
    // A search ends with the switch; a manual order is only a list's.
    const dropped = order === "best" || (next === "all" && order === "manual");
    void choose(
      { scope: next, filter, label, order: dropped ? "newest" : order },
      `tasks of ${name}`,
    );
  }

  function reorder(task: Task, index: number): Reorder | undefined {
    if (order !== "manual") return undefined;
    const above = list.tasks[index - 1];
    const below = list.tasks[index + 1];
    const send = (place: { before: number } | { after: number }, what: string, control: string) =>
      move.mutate({ seen: task, place, what }, { onSuccess: () => (refocus.current = control) });
    return {
      up: above ? () => send({ before: above.id }, "up", `task-${task.id}-up`) : undefined,
      down: below ? () => send({ after: below.id }, "down", `task-${task.id}-down`) : undefined,
      dropped: (taskId) => {
        const dragged = list.tasks.find((other) => other.id === taskId);
        if (dragged) {
          move.mutate({
            seen: dragged,
            place: { before: task.id },
            what: `before “${task.title}”`,
          });
        }
      },
    };
  }
  const counts = useTaskCounts(userId);
  const focus = useFocusHandoff(list.tasks);
  const live = useLiveUpdates(userId);

  // An outage's banner goes by itself once a list request sent after it was answered.
  const ended = problem !== null && problem.transient && list.requestedAt > problem.at;
  const shownProblem = ended ? null : problem;
  const loadFailure =
    list.error && !list.error.signedOut
      ? `Couldn't load your tasks. ${list.error.message} Trying again by itself…`
      : null;

  const createError =
    listChanges.create.error instanceof ApiError ? listChanges.create.error.message : null;

  return (
    <div className="workspace">
      <ListNav
        lists={taskLists.lists}
        left={taskLists.left}
        scope={scope}
        onChoose={chooseScope}
        onCreate={(name, done) =>
          listChanges.create.mutate(name, {
            onSuccess: (made) => {
              done();
              chooseScope(made.id, made.name);
            },
          })
        }
        creating={listChanges.create.isPending}
        createError={createError}
      />
      <div className="shown">
        <h2 className="scope-name">{scopeName}</h2>
        {shownList ? (
          <ListActions
            key={shownList.id}
            list={shownList}
            lists={taskLists.lists}
            left={taskLists.left.get(shownList.id)}
            onRename={(name, done) =>
              listChanges.rename.mutate({ seen: shownList, name }, { onSuccess: done })
            }
            onMove={(place, what) => listChanges.move.mutate({ seen: shownList, place, what })}
            onDelete={() =>
              listChanges.remove.mutate(shownList, {
                onSuccess: () => chooseScope("all", "All tasks"),
              })
            }
          />
        ) : null}
        <NewTaskForm
          userId={userId}
          events={events}
          focusOnStart={focusOnStart}
          listId={listOf(scope)}
        />
        {shownProblem ? (
          <ProblemBanner message={shownProblem.message} onDismiss={dismiss} />
        ) : loadFailure ? (
          <ProblemBanner message={loadFailure} />
        ) : null}
        <p role="status" className="visually-hidden">
          {status}
        </p>
        <p role="status" className="muted sync-status" data-live={live}>
          {live === "offline"
            ? "Offline: changes from your other devices will show here when the connection is back."
            : null}
        </p>
        <TaskFilters
          shown={filter}
          pending={pending && pending.label === label ? pending.filter : null}
          counts={counts}
          inTrash={inTrash}
          onChoose={(f, what) => {
            setInTrash(false);
            void choose({ ...view, filter: f }, `${what} tasks`);
          }}
          onTrash={() => setInTrash(true)}
        />
        {inTrash ? null : (
          <>
            <SearchBox
              searched={q}
              matches={q === "" || list.loading ? null : list.total}
              onSearch={(words) =>
                void choose(searchView(view, words), words ? `tasks matching “${words}”` : "tasks")
              }
            />
            <OrderPicker
              order={order}
              manual={scope !== "all"}
              searching={q !== ""}
              onChoose={(next) =>
                void choose({ ...view, order: next }, `tasks ${ORDER_LABELS[next].toLowerCase()}`)
              }
            />
          </>
        )}
        {inTrash ? (
          <TrashView userId={userId} events={events} />
        ) : (
          <>
            {label !== null ? (
              <LabelFilter
                label={label}
                total={list.loading ? null : list.total}
                onClear={() =>
                  void choose(
                    { ...view, label: null },
                    `${FILTER_LABELS[filter].toLowerCase()} tasks`,
                  )
                }
              />
            ) : null}
            {list.loading ? (
              <p role="status" className="muted">
                Loading tasks…
              </p>
            ) : list.tasks.length === 0 ? (
              <p className="muted empty">
                {q !== ""
                  ? `Nothing here matches “${q}”.`
                  : label === null
                    ? EMPTY[filter]
                    : `No ${filter === "all" ? "" : `${FILTER_LABELS[filter].toLowerCase()} `}tasks labelled “${label}”.`}
              </p>
            ) : (
              <ul
                className="tasks"
                aria-label={`${FILTER_LABELS[filter]} tasks${scope === "all" ? "" : ` in ${scopeName}`}${label === null ? "" : ` labelled ${label}`}${q === "" ? "" : ` matching ${q}`}`}
                aria-busy={pending !== null || undefined}
                onFocus={focus.onFocus}
                onBlur={focus.onBlur}
              >
                {list.tasks.map((task, index) => (
                  <TaskItem
                    key={task.id}
                    userId={userId}
                    task={task}
                    events={events}
                    reorder={reorder(task, index)}
                    onLabel={(chosen) =>
                      void choose({ ...view, label: chosen }, `tasks labelled “${chosen}”`)
                    }
                  />
                ))}
              </ul>
            )}
            {!list.loading && list.hasMore ? (
              <button
                type="button"
                className="secondary more"
                disabled={list.loadingMore}
                onClick={list.loadMore}
              >
                {list.loadingMore
                  ? "Loading…"
                  : `Load more (${list.total - list.tasks.length} left)`}
              </button>
            ) : null}
          </>
        )}
        <UndoBar userId={userId} task={undoable} events={events} onDone={() => offerUndo(null)} />
      </div>
    </div>
  );
}
