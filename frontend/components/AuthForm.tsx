"use client";

import { type FormEvent, useState } from "react";

import { authClient } from "@/lib/auth-client";
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_LENGTH } from "@/lib/limits";

type Mode = "sign-in" | "sign-up";

interface AuthError {
  status: number;
  message?: string | undefined;
}

function describe(error: AuthError, retryAfter: string | null): string {
  if (error.status === 429) {
    return `Too many attempts. Try again in ${retryAfter ?? "a few"} seconds.`;
  }
  if (error.status >= 500) return "The service is temporarily unavailable. Try again shortly.";
  return error.message || `Something went wrong (HTTP ${error.status}).`;
}

/** Sign in or create an account with an email address and a password. */
export function AuthForm({
  notice,
  onSignedIn,
}: {
  notice: string | null;
  onSignedIn: () => void;
}) {
  const [mode, setMode] = useState<Mode>("sign-in");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    let retryAfter: string | null = null;
    const fetchOptions = {
      onResponse: (context: { response: Response }) => {
        retryAfter = context.response.headers.get("X-Retry-After");
      },
    };
    try {
      const result =
        mode === "sign-up"
          ? await authClient.signUp.email({
              email,
              password,
              name: email.split("@")[0] ?? email,
              fetchOptions,
            })
          : await authClient.signIn.email({ email, password, fetchOptions });
      if (result.error) {
        setError(describe(result.error, retryAfter));
        return;
      }
      setPassword("");
      onSignedIn();
    } catch {
      // The auth client throws when no answer came at all.
      setError("The network failed; check your connection and try again.");
    } finally {
      setBusy(false);
    }
  }

  const title = mode === "sign-up" ? "Create an account" : "Sign in";
  return (
    <section className="card auth" aria-labelledby="auth-title">
      <h2 id="auth-title">{title}</h2>
      {notice ? (
        <p role="status" className="notice">
          {notice}
        </p>
      ) : null}
      <form onSubmit={(event) => void submit(event)}>
        <label htmlFor="email">Email</label>
        <input
          id="email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(event) => setEmail(event.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete={mode === "sign-up" ? "new-password" : "current-password"}
          required
          minLength={PASSWORD_MIN_LENGTH}
          maxLength={PASSWORD_MAX_BYTES}
          aria-describedby="password-hint"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <p id="password-hint" className="hint">
          {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_BYTES} characters.
        </p>
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? "Please wait…" : title}
        </button>
      </form>
      <p className="switch">
        {mode === "sign-in" ? "New here?" : "Already have an account?"}{" "}
        <button
          type="button"
          className="link"
          onClick={() => {
            setMode(mode === "sign-in" ? "sign-up" : "sign-in");
            setError(null);
          }}
        >
          {mode === "sign-in" ? "Create an account" : "Sign in instead"}
        </button>
      </p>
    </section>
  );
}
