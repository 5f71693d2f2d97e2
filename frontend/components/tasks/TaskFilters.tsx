import type { Filter } from "@/lib/tasks";

export const FILTER_LABELS: Record<Filter, string> = {
  all: "All",
  active: "Active",
  completed: "Completed",
};

/** All, Active, Completed with their sizes, and the trash; the one shown is pressed, one
 * loading is busy. */
export function TaskFilters({
  shown,
  pending,
  counts,
  inTrash,
  onChoose,
  onTrash,
}: {
  shown: Filter;
  pending: Filter | null;
  counts: Record<Filter, number> | null;
  inTrash: boolean;
  onChoose: (filter: Filter, label: string) => void;
  onTrash: () => void;
}) {
  return (
    <nav className="filters" aria-label="Filter tasks">
      {(Object.keys(FILTER_LABELS) as Filter[]).map((value) => (
        <button
          key={value}
          type="button"
          className="filter"
          aria-pressed={!inTrash && shown === value}
          aria-busy={pending === value || undefined}
          onClick={() => onChoose(value, FILTER_LABELS[value].toLowerCase())}
        >
          {FILTER_LABELS[value]} <span className="count">{counts ? counts[value] : "…"}</span>
        </button>
      ))}
      <button type="button" className="filter trash" aria-pressed={inTrash} onClick={onTrash}>
        Trash
      </button>
    </nav>
  );
}
