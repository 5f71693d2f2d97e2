/**
 * The bearer token for the next request; `null`/`undefined` sends none. Asked again with
 * `{ refused: true }` after the service answered 401 to the token it gave: a source that can
 * renew (a session's token endpoint, a refresh token) returns a new one and the request is
 * sent once more with it (a renewal may be byte-identical: EdDSA signs deterministically, so a
 * token minted again within the same second is the same string); returning none gives the
 * caller the 401.
 */
export type TokenSource = (context: {
  refused: boolean;
}) => string | null | undefined | Promise<string | null | undefined>;

function withToken(
  request: Request,
  token: string | null | undefined,
): Request {
  if (token) request.headers.set("Authorization", `Bearer ${token}`);
  return request;
}

/** `fetch` that sends the source's token, and after a 401 to it, the source's renewal once. */
export function bearerFetch(
  getToken: TokenSource,
  send: (request: Request) => Promise<Response> = (request) => fetch(request),
): (request: Request) => Promise<Response> {
  return async (request) => {
    const retry = request.clone();
    const token = await getToken({ refused: false });
    const answer = await send(withToken(request, token));
    if (answer.status !== 401 || !token) return answer;
    const renewed = await getToken({ refused: true });
    if (!renewed) return answer;
    return send(withToken(retry, renewed));
  };
}

/** What `POST /api/auth/login` and `POST /api/auth/refresh` answer (the fields used here). */
export interface TokenPair {
  access_token: string;
  refresh_token: string;
}

/**
 * A `TokenSource` for an API client of the auth service: the access token of `tokens`, and
 * after a 401, the next pair from `POST /api/auth/refresh` (handed to `onRefreshed` to be
 * stored: the old refresh token is spent). Concurrent 401s share one refresh, since a refresh
 * token presented twice ends the session (reuse detection). A failed refresh (the session
 * ended) gives `null`: the caller gets the 401 and must log in again.
 */
export function refreshingTokenSource(
  baseUrl: string,
  tokens: TokenPair,
  onRefreshed: (tokens: TokenPair) => void = () => {},
  send: (request: Request) => Promise<Response> = (request) => fetch(request),
): TokenSource {
  let current: TokenPair | null = tokens;
  let refreshing: Promise<TokenPair | null> | null = null;
  async function refresh(spent: TokenPair): Promise<TokenPair | null> {
    const answer = await send(
      new Request(`${baseUrl}/api/auth/refresh`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: spent.refresh_token }),
      }),
    );
    if (!answer.ok) return null;
    const next = (await answer.json()) as TokenPair;
    onRefreshed(next);
    return next;
  }
  return async ({ refused }) => {
    if (!refused || current === null) return current?.access_token;
    const spent = current;
    refreshing ??= refresh(spent).finally(() => (refreshing = null));
    const next = await refreshing;
    // A 401 to a token already replaced is answered with the replacement, not a new refresh.
    if (current === spent) current = next;
    return current?.access_token;
  };
}
