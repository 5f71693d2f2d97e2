import type { Filter } from "@/lib/tasks";

export const FILTER_LABELS: Record<Filter, string> = {
  all: "All",
  active: "Active",
  completed: "Completed",
};

/** All, Active, Completed with their sizes; the one shown is pressed, one loading is busy. */
export function TaskFilters({
  shown,
  pending,
  counts,
  onChoose,
}: {
  shown: Filter;
  pending: Filter | null;
  counts: Record<Filter, number> | null;
  onChoose: (filter: Filter, label: string) => void;
}) {
  return (
    <nav className="filters" aria-label="Filter tasks">
      {(Object.keys(FILTER_LABELS) as Filter[]).map((value) => (
        <button
          key={value}
          type="button"
          className="filter"
          aria-pressed={shown === value}
          aria-busy={pending === value || undefined}
          onClick={() => onChoose(value, FILTER_LABELS[value].toLowerCase())}
        >
          {FILTER_LABELS[value]} <span className="count">{counts ? counts[value] : "…"}</span>
        </button>
      ))}
    </nav>
  );
}
