/**
 * Keeping a copy of a user's tasks in step with the service: conditional writes (`ETag` /
 * `If-Match`), the change feed (`readChanges`) and the live stream (`followEvents`, which
 * reconnects, resumes after the last event and backs off by itself).
 */
import type { Client } from "openapi-fetch";

import type { components, paths } from "./generated/tasks";
import { bearerFetch, type TokenSource } from "./token";

type Schemas = components["schemas"];
export type TaskChange = Schemas["TaskUpserted"] | Schemas["TaskDeleted"];
export type ListChange = Schemas["ListUpserted"] | Schemas["ListDeleted"];
/** A feed entry: `type` says whether a task or a list changed. */
export type Change = TaskChange | ListChange;
export type ChangesPage = Schemas["ChangesPage"];

/** The strong validator of a task version, as `ETag` carries it and `If-Match` takes it. */
export function etag(version: number): string {
  return `"${version}"`;
}

/** The header that makes a write apply only to the version the person saw (412 otherwise). */
export function ifMatch(task: { version: number }): { "If-Match": string } {
  return { "If-Match": etag(task.version) };
}

/** The version an answer's `ETag` names, or null when it has none. */
export function versionOf(response: Response): number | null {
  const match = /^"(\d+)"$/.exec(response.headers.get("ETag") ?? "");
  return match ? Number(match[1]) : null;
}

/** The service no longer holds the changes after this cursor (410): read the feed (or the
 * list) again from the start and replace what the client holds. */
export class FeedExpired extends Error {
  constructor() {
    super(
      "the change feed no longer reaches back to this cursor; start again without one",
    );
    this.name = "FeedExpired";
  }
}

/** A feed or stream request the service refused for good (4xx other than 410 and 429). */
export class FeedRefused extends Error {
  constructor(readonly status: number) {
    super(`the service refused the request (HTTP ${status})`);
    this.name = "FeedRefused";
  }
}

/**
 * The feed's pages from `since` (the beginning when null) to its end: apply each page's
 * changes in order and keep its `cursor`; the last page yielded has `has_more` false.
 */
export async function* readChanges(
  client: Client<paths>,
  userId: string,
  since: string | null = null,
  limit?: number,
): AsyncGenerator<ChangesPage, void, void> {
  let cursor = since;
  for (;;) {
    const { data, response } = await client.GET("/api/{user_id}/changes", {
      params: {
        path: { user_id: userId },
        query: {
          ...(cursor === null ? {} : { since: cursor }),
          ...(limit ? { limit } : {}),
        },
      },
    });
    if (response.status === 410) throw new FeedExpired();
    if (!data) throw new FeedRefused(response.status);
    yield data;
    if (!data.has_more) return;
    cursor = data.cursor;
  }
}

/** One change of the stream and the cursor after it (what `Last-Event-ID` resumes from). */
export interface StreamedChange {
  cursor: string;
  change: Change;
}

export type StreamStatus =
  | { state: "open"; cursor: string | null }
  | { state: "reconnecting"; inMs: number; reason: string };

export interface FollowOptions {
  /** The proxy's origin, `""` for the page's own. */
  baseUrl: string;
  userId: string;
  getToken: TokenSource;
  /** Resume after this cursor (a feed page's `cursor` or an event's); null: from now on. */
  after?: string | null;
  /** Ends the stream (the generator returns). */
  signal?: AbortSignal;
  /** Open, or waiting to reconnect after a drop, for a status line. */
  onStatus?: (status: StreamStatus) => void;
  /** A connection that hears nothing for this long (not even a keep-alive) is dropped and
   * resumed: a dead network often closes nothing. Default 45 s (three keep-alives). */
  idleMs?: number;
  /** Reconnect delays: doubling from `firstMs` up to `maxMs`, each with jitter. */
  backoff?: { firstMs: number; maxMs: number };
  fetch?: (request: Request) => Promise<Response>;
}

interface SseBlock {
  id?: string;
  event?: string;
  data: string[];
}

/** The text/event-stream blocks of a body (lines end in LF, CRLF or CR). */
async function* sseBlocks(body: ReadableStream<Uint8Array>, idle: () => void) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let block: SseBlock = { data: [] };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      idle();
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "") {
          yield block;
          block = { data: [] };
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (name === "data") block.data.push(text);
        else if (name === "id") block.id = text;
        else if (name === "event") block.event = text;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Every change of the user's tasks as it commits, for as long as `signal` lets it run. The
 * stream is read with `fetch` (the token goes in a header, never the URL) and reopened
 * whenever it ends (its token expired, a replica rolled, the proxy reloaded) or breaks,
 * with `Last-Event-ID` set to the last cursor seen, so nothing is missed or repeated.
 * Throws `FeedExpired` when the service can no longer resume that far back, `FeedRefused`
 * for a 4xx that retrying cannot mend (401 once the token source gives up, 403, 400).
 */
export async function* followEvents(
  options: FollowOptions,
): AsyncGenerator<StreamedChange, void, void> {
  const { baseUrl, userId, signal, onStatus } = options;
  const idleMs = options.idleMs ?? 45_000;
  const { firstMs, maxMs } = options.backoff ?? {
    firstMs: 1_000,
    maxMs: 30_000,
  };
  const send = bearerFetch(options.getToken, options.fetch);
  const url = `${baseUrl}/api/${encodeURIComponent(userId)}/events`;
  let cursor = options.after ?? null;
  let failures = 0;

  while (!signal?.aborted) {
    const connection = new AbortController();
    const stop = () => connection.abort();
    signal?.addEventListener("abort", stop, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = () => {
      clearTimeout(timer);
      timer = setTimeout(stop, idleMs);
    };
    let reason = "the stream ended";
    let waitMs = 0;
    try {
      idle();
      const headers = new Headers({ Accept: "text/event-stream" });
      if (cursor !== null) headers.set("Last-Event-ID", cursor);
      const response = await send(
        new Request(url, {
          headers,
          signal: connection.signal,
          cache: "no-store",
        }),
      );
      if (response.status === 410) throw new FeedExpired();
      if (response.status === 429) {
        const seconds = Number(response.headers.get("Retry-After"));
        waitMs =
          Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : maxMs;
        reason = "too many open streams";
      } else if (response.status >= 400 && response.status < 500) {
        throw new FeedRefused(response.status);
      } else if (!response.ok || !response.body) {
        reason = `HTTP ${response.status}`;
        failures += 1;
      } else {
        let opened = false;
        const openedAt = Date.now();
        for await (const block of sseBlocks(response.body, idle)) {
          if (block.id !== undefined) cursor = block.id;
          if (!opened) {
            opened = true;
            failures = 0;
            onStatus?.({ state: "open", cursor });
          }
          if (
            block.event === "change" &&
            block.data.length > 0 &&
            block.id !== undefined
          ) {
            yield {
              cursor: block.id,
              change: JSON.parse(block.data.join("\n")) as Change,
            };
          }
        }
        // A stream that ends as soon as it opens is failing, not expiring: back off.
        if (Date.now() - openedAt < firstMs) failures += 1;
      }
    } catch (caught) {
      if (caught instanceof FeedExpired || caught instanceof FeedRefused)
        throw caught;
      if (signal?.aborted) return;
      reason = "the connection dropped";
      failures += 1;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", stop);
      connection.abort();
    }
    if (signal?.aborted) return;
    if (waitMs === 0 && failures > 0) {
      const ceiling = Math.min(maxMs, firstMs * 2 ** (failures - 1));
      waitMs = ceiling / 2 + Math.random() * (ceiling / 2);
    }
    onStatus?.({ state: "reconnecting", inMs: waitMs, reason });
    await sleep(waitMs, signal);
  }
}
