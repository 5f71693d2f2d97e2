"use client";

import { useMemo, useState } from "react";

import { useFilterSwitch } from "@/hooks/useFilterSwitch";
import { useFocusHandoff } from "@/hooks/useFocusHandoff";
import { useLiveUpdates } from "@/hooks/useLiveUpdates";
import { useProblem } from "@/hooks/useProblem";
import type { TaskEvents } from "@/hooks/useTaskChanges";
import { useTaskCounts } from "@/hooks/useTaskCounts";
import { useTaskList } from "@/hooks/useTaskList";
import { type Filter, ORDER_LABELS, type Task } from "@/lib/tasks";

import { LabelFilter } from "./LabelFilter";
import { OrderPicker } from "./OrderPicker";
import { TrashView } from "./TrashView";
import { UndoBar } from "./UndoBar";

import { NewTaskForm } from "./NewTaskForm";
import { ProblemBanner } from "./ProblemBanner";
import { FILTER_LABELS, TaskFilters } from "./TaskFilters";
import { TaskItem } from "./TaskItem";

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
  const { filter, label, order } = view;
  const list = useTaskList(userId, view, problem?.transient ?? false);
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

  return (
    <>
      <NewTaskForm userId={userId} events={events} focusOnStart={focusOnStart} />
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
          void choose({ filter: f, label, order }, `${what} tasks`);
        }}
        onTrash={() => setInTrash(true)}
      />
      {inTrash ? null : (
        <OrderPicker
          order={order}
          onChoose={(next) =>
            void choose({ filter, label, order: next }, `tasks ${ORDER_LABELS[next].toLowerCase()}`)
          }
        />
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
                  { filter, label: null, order },
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
              {label === null
                ? EMPTY[filter]
                : `No ${filter === "all" ? "" : `${FILTER_LABELS[filter].toLowerCase()} `}tasks labelled “${label}”.`}
            </p>
          ) : (
            <ul
              className="tasks"
              aria-label={`${FILTER_LABELS[filter]} tasks${label === null ? "" : ` labelled ${label}`}`}
              aria-busy={pending !== null || undefined}
              onFocus={focus.onFocus}
              onBlur={focus.onBlur}
            >
              {list.tasks.map((task) => (
                <TaskItem
                  key={task.id}
                  userId={userId}
                  task={task}
                  events={events}
                  onLabel={(chosen) =>
                    void choose({ filter, label: chosen, order }, `tasks labelled “${chosen}”`)
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
              {list.loadingMore ? "Loading…" : `Load more (${list.total - list.tasks.length} left)`}
            </button>
          ) : null}
        </>
      )}
      <UndoBar userId={userId} task={undoable} events={events} onDone={() => offerUndo(null)} />
    </>
  );
}
