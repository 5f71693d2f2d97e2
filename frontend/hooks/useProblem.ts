import { useCallback, useState } from "react";

import { ApiError } from "@/lib/tasks";

/** What went wrong, for the page's banner. */
export interface Problem {
  message: string;
  /** An outage or overload: the banner goes once the service answers again. */
  transient: boolean;
  /** When it happened (ms since the epoch), to tell whether a later answer ended it. */
  at: number;
}

export type Report = (caught: unknown, context?: string) => void;

/** The fields a task's forms have an input for, where their errors are shown instead. */
const FORM_FIELDS = new Set(["title", "description", "priority", "labels"]);

function shownBesideFields(error: ApiError): boolean {
  const fields = Object.keys(error.fields);
  return fields.length > 0 && fields.every((field) => FORM_FIELDS.has(field));
}

/** Every failure ends here: a lost session signs out, a form's field error stays beside its
 * field, anything else becomes the banner. */
export function useProblem(onSignedOut: () => void) {
  const [problem, setProblem] = useState<Problem | null>(null);

  const report = useCallback<Report>(
    (caught, context) => {
      if (caught instanceof ApiError && caught.signedOut) {
        onSignedOut();
        return;
      }
      if (caught instanceof ApiError && shownBesideFields(caught)) return;
      const reason = caught instanceof Error ? caught.message : String(caught);
      setProblem({
        message: context ? `${context} ${reason}` : reason,
        transient: caught instanceof ApiError && caught.transient,
        at: Date.now(),
      });
    },
    [onSignedOut],
  );
  const dismiss = useCallback(() => setProblem(null), []);

  return { problem, report, dismiss };
}
