"use client";

import { useEffect, useState } from "react";

/** How often the page asks whether the service is back. */
const PROBE_MS = 3_000;

/** Whether Better Auth reads sessions again (asked without touching the page's session state). */
async function sessionsAnswer(): Promise<boolean> {
  try {
    return (await fetch("/auth/get-session", { cache: "no-store" })).ok;
  } catch {
    return false;
  }
}

/**
 * The session could not be read (the service or its database is down): said as an outage, not
 * as a sign-in form, and ended by itself: once the service answers, `onBack` reloads the session.
 */
export function Unreachable({ onBack }: { onBack: () => void }) {
  const [checking, setChecking] = useState(false);

  useEffect(() => {
    let stopped = false;
    const timer = setInterval(() => {
      void sessionsAnswer().then((back) => back && !stopped && onBack());
    }, PROBE_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [onBack]);

  async function checkNow() {
    setChecking(true);
    const back = await sessionsAnswer();
    setChecking(false);
    if (back) onBack();
  }

  return (
    <section className="card" aria-labelledby="unreachable-title">
      <h2 id="unreachable-title">Can’t reach Todo right now</h2>
      <p role="alert">
        The service is temporarily unavailable. This page carries on by itself as soon as it is
        back.
      </p>
      <button
        type="button"
        className="secondary"
        disabled={checking}
        onClick={() => void checkNow()}
      >
        {checking ? "Checking…" : "Try now"}
      </button>
    </section>
  );
}
