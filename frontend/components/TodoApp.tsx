"use client";

import { useCallback, useState } from "react";

import { authClient } from "@/lib/auth-client";
import { forgetToken } from "@/lib/token";

import { AuthForm } from "./AuthForm";
import { Tasks } from "./Tasks";

/** The whole page: a sign-in form, or the signed-in person's tasks. */
export function TodoApp() {
  const session = authClient.useSession();
  const [notice, setNotice] = useState<string | null>(null);
  const [justSignedIn, setJustSignedIn] = useState(false);

  const user = session.data?.user;

  const signOut = useCallback(async (message: string | null) => {
    forgetToken();
    await authClient.signOut();
    setNotice(message);
  }, []);
  // Stable, so the task list does not reload whenever the session is refreshed.
  const sessionEnded = useCallback(
    () => void signOut("Your session has ended. Please sign in again."),
    [signOut],
  );

  return (
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
      ) : (
        <AuthForm
          notice={notice}
          onSignedIn={() => {
            setNotice(null);
            setJustSignedIn(true);
          }}
        />
      )}
    </main>
  );
}
