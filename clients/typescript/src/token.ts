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
