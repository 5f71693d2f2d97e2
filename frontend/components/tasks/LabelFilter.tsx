"use client";

/** The label the list is narrowed to, its size, and the way back to every label. */
export function LabelFilter({
  label,
  total,
  onClear,
}: {
  label: string;
  /** The narrowed list's size, once known. */
  total: number | null;
  onClear: () => void;
}) {
  return (
    <p className="label-filter">
      <span>
        Labelled <strong className="label">{label}</strong>
        {total === null ? null : ` · ${total} task${total === 1 ? "" : "s"}`}
      </span>
      <button type="button" className="secondary" onClick={onClear}>
        Show every label
      </button>
    </p>
  );
}
