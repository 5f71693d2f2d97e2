"use client";

import { QueryClientProvider } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";

import { authClient } from "@/lib/auth-client";
import { createQueryClient } from "@/lib/query-client";
import { ApiError } from "@/lib/tasks";
import { forgetToken } from "@/lib/token";

import { AuthForm } from "./AuthForm";
import { Tasks } from "./tasks/Tasks";
import { Unreachable } from "./Unreachable";

/** The whole page: a sign-in form, the signed-in person's tasks, or an outage notice. */
export function TodoApp() {
  const session = authClient.useSession();
  const [queryClient] = useState(createQueryClient);
  const [notice, setNotice] = useState<string | null>(null);
  const [justSignedIn, setJustSignedIn] = useState(false);

  const user = session.data?.user;

  // Set from a sign-out until the next sign-in: a 401 of a request still in flight then is
  // expected, and must not sign out again (which would end the next session as it starts).
  const signedOut = useRef(false);

  const signOut = useCallback(
    async (message: string | null) => {
      if (signedOut.current) return;
      signedOut.current = true;
      forgetToken();
      queryClient.clear(); // the next person on this device sees nothing of this one's
      try {
        await authClient.signOut();
      } finally {
        setNotice(message);
      }
    },
    [queryClient],
  );
  // Stable, so the task list does not reload whenever the session is refreshed.
  const sessionEnded = useCallback(
    () => void signOut("Your session has ended. Please sign in again."),
    [signOut],
  );
  const { refetch } = session;
  const reloadSession = useCallback(() => void refetch(), [refetch]);

  // A list or count that finds the session gone (a 401 the token's renewal did not cure).
  useEffect(
    () =>
      queryClient.getQueryCache().subscribe((event) => {
        if (event.type !== "updated" || event.action.type !== "error") return;
        if (event.action.error instanceof ApiError && event.action.error.signedOut) sessionEnded();
      }),
    [queryClient, sessionEnded],
  );

  return (
    <QueryClientProvider client={queryClient}>
      <main className="page">
        <header className="bar">
          <h1>Todo</h1>
          {user ? (
            <div className="who">
              <span className="email">{user.email}</span>
              <button type="button" className="secondary" onClick={() => void signOut(null)}>
                Sign out
              </button>
            </div>
          ) : null}
        </header>
        {session.isPending ? (
          <p role="status" className="muted">
            Loading…
          </p>
        ) : user ? (
          <Tasks userId={user.id} onSignedOut={sessionEnded} focusOnStart={justSignedIn} />
        ) : session.error ? (
          <Unreachable onBack={reloadSession} />
        ) : (
          <AuthForm
            notice={notice}
            onSignedIn={() => {
              signedOut.current = false;
              setNotice(null);
              setJustSignedIn(true);
            }}
          />
        )}
      </main>
    </QueryClientProvider>
  );
}
