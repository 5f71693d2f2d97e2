"use client";

import { ORDER_LABELS, type Order } from "@/lib/tasks";

/** The list's order: newest or oldest first, recently changed, or highest priority. */
export function OrderPicker({
  order,
  onChoose,
}: {
  order: Order;
  onChoose: (order: Order) => void;
}) {
  return (
    <p className="order-picker">
      <label htmlFor="task-order">Sort</label>
      <select
        id="task-order"
        value={order}
        onChange={(event) => onChoose(event.target.value as Order)}
      >
        {(Object.keys(ORDER_LABELS) as Order[]).map((value) => (
          <option key={value} value={value}>
            {ORDER_LABELS[value]}
          </option>
        ))}
      </select>
    </p>
  );
}
