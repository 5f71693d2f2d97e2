"use client";

import { ORDER_LABELS, type Order } from "@/lib/tasks";

/** The list's order: newest or oldest first, recently changed, highest priority, (within
 * one list) the person's own, or best match while searching. */
export function OrderPicker({
  order,
  searching = false,
  onChoose,
  manual,
}: {
  order: Order;
  searching?: boolean;
  onChoose: (order: Order) => void;
  /** Whether the person's own order can be chosen: only one list (or the Inbox) has one. */
  manual: boolean;
}) {
  return (
    <p className="order-picker">
      <label htmlFor="task-order">Sort</label>
      <select
        id="task-order"
        value={order}
        onChange={(event) => onChoose(event.target.value as Order)}
      >
        {(Object.keys(ORDER_LABELS) as Order[])
          .filter((value) => manual || value !== "manual")
          .filter((value) => searching || value !== "best")
          .map((value) => (
            <option key={value} value={value}>
              {ORDER_LABELS[value]}
            </option>
          ))}
      </select>
    </p>
  );
}
