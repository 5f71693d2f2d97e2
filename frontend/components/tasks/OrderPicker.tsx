"use client";

import { ORDER_LABELS, type Order } from "@/lib/tasks";

/** The list's order: newest or oldest first, recently changed, highest priority, or (within
 * one list) the person's own. */
export function OrderPicker({
  order,
  onChoose,
  manual,
}: {
  order: Order;
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
          .map((value) => (
            <option key={value} value={value}>
              {ORDER_LABELS[value]}
            </option>
          ))}
      </select>
    </p>
  );
}
