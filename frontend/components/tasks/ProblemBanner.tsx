/** The page's one banner: what went wrong, until it is dismissed or (an outage) it ends. */
export function ProblemBanner({
  message,
  onDismiss,
}: {
  message: string;
  /** Absent while the page is retrying by itself: the banner goes when that succeeds. */
  onDismiss?: () => void;
}) {
  return (
    <div role="alert" className="error banner">
      <span>{message}</span>
      {onDismiss ? (
        <button type="button" className="link" onClick={onDismiss}>
          Dismiss
        </button>
      ) : null}
    </div>
  );
}
