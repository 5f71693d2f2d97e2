/**
 * The Better Auth JWT for the tasks API: fetched from /auth/token with the session cookie, kept
 * in memory only (never in storage a script could read later), renewed shortly before it
 * expires, and on demand after the tasks service refuses it.
 */

/** The session is gone (signed out elsewhere, or expired): the person must sign in again. */
export class SignedOutError extends Error {
  constructor() {
    super("signed out");
    this.name = "SignedOutError";
  }
}

interface HeldToken {
  value: string;
  /** Milliseconds since the epoch, by the browser's clock, after which it is renewed. */
  renewAt: number;
}

/** Renew this long before `exp` (or at half-life for short tokens), so clock skew never bites. */
const RENEW_MARGIN_MS = 60_000;

let held: HeldToken | null = null;
let inFlight: Promise<string> | null = null;

function expiresAt(token: string): { exp: number; iat: number } {
  const payload = token.split(".")[1] ?? "";
  const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
  const claims = JSON.parse(json) as { exp?: unknown; iat?: unknown };
  if (typeof claims.exp !== "number") throw new Error("token without exp");
  return { exp: claims.exp, iat: typeof claims.iat === "number" ? claims.iat : claims.exp };
}

async function fetchToken(): Promise<string> {
  const response = await fetch("/auth/token", { credentials: "same-origin", cache: "no-store" });
  if (response.status === 401) throw new SignedOutError();
  if (!response.ok) throw new Error(`token endpoint answered ${response.status}`);
  const { token } = (await response.json()) as { token: string };
  const { exp, iat } = expiresAt(token);
  const lifetimeMs = (exp - iat) * 1000;
  const margin = Math.min(RENEW_MARGIN_MS, lifetimeMs / 2);
  // Measured from now rather than from `iat`: the browser's clock may disagree with the server's.
  held = { value: token, renewAt: Date.now() + lifetimeMs - margin };
  return token;
}

/** A token that is good for a while yet; concurrent callers share one renewal. */
export async function accessToken(): Promise<string> {
  if (held && Date.now() < held.renewAt) return held.value;
  inFlight ??= fetchToken().finally(() => {
    inFlight = null;
  });
  return inFlight;
}

/** Drop the held token: after a 401 from the tasks service, or on sign-out. */
export function forgetToken(): void {
  held = null;
}

/** The typed client's token source: after the tasks service refuses the held token, a new one. */
export function sessionToken({ refused }: { refused: boolean }): Promise<string> {
  if (refused) forgetToken();
  return accessToken();
}
