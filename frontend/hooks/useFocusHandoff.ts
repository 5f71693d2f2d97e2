import { type FocusEvent, useEffect, useRef } from "react";

import type { Task } from "@/lib/tasks";

/**
 * Keyboard focus never falls to the page body when the task holding it leaves the list (a
 * delete, a toggle out of the filter, a task gone elsewhere): it moves to the task that took
 * its place, or the one before, or the new task's title when the list is empty.
 * Returns the list's focus and blur handlers.
 */
export function useFocusHandoff(tasks: Task[]) {
  const focused = useRef<{ id: number; index: number } | null>(null);

  useEffect(() => {
    const last = focused.current;
    if (last === null || tasks.some((task) => task.id === last.id)) return;
    focused.current = null;
    if (document.activeElement !== null && document.activeElement !== document.body) return;
    const neighbour = tasks[last.index] ?? tasks[last.index - 1];
    document.getElementById(neighbour ? `task-${neighbour.id}-done` : "new-title")?.focus();
  }, [tasks]);

  return {
    onFocus(event: FocusEvent<HTMLElement>) {
      const id = Number(event.target.closest("[data-task-id]")?.getAttribute("data-task-id"));
      const index = tasks.findIndex((task) => task.id === id);
      focused.current = index >= 0 ? { id, index } : null;
    },
    onBlur(event: FocusEvent<HTMLElement>) {
      // A move elsewhere (not a removal, which has no next target) ends the watch.
      const next = event.relatedTarget;
      if (next instanceof Node && !event.currentTarget.contains(next)) focused.current = null;
    },
  };
}
