/**
 * Changes made on other devices, as they commit: the tasks service's event stream, followed
 * for as long as the page shows the tasks. Each change goes into the loaded lists at once; the
 * shown list and the counts then reload once the burst is over, so positions and totals are
 * the service's. A dropped connection resumes after the last event (nothing missed), at once
 * when the browser says it is back online.
 */
import { type QueryClient, useQueryClient } from "@tanstack/react-query";
import { FeedExpired, followEvents } from "@todo/api-client";
import { useEffect, useState } from "react";

import { applyChange, taskKeys } from "@/lib/task-cache";
import { sessionToken } from "@/lib/token";

/** Quiet time after the last change before the shown list and the counts reload. */
const SETTLE_MS = 300;

export type LiveState = "connecting" | "live" | "offline";

function reloadShown(client: QueryClient, userId: string): void {
  void client.invalidateQueries({ queryKey: taskKeys.lists(userId) });
  void client.invalidateQueries({ queryKey: taskKeys.trash(userId) });
  void client.invalidateQueries({ queryKey: taskKeys.counts(userId) });
}

export function useLiveUpdates(userId: string): LiveState {
  const client = useQueryClient();
  const [state, setState] = useState<LiveState>("connecting");

  useEffect(() => {
    const page = new AbortController();
    let cursor: string | null = null;
    let connection: AbortController | null = null;
    let settling: ReturnType<typeof setTimeout> | undefined;
    const settle = () => {
      clearTimeout(settling);
      settling = setTimeout(() => reloadShown(client, userId), SETTLE_MS);
    };

    async function follow(): Promise<void> {
      while (!page.signal.aborted) {
        connection = new AbortController();
        const signal = AbortSignal.any([page.signal, connection.signal]);
        try {
          for await (const { cursor: after, change } of followEvents({
            baseUrl: window.location.origin,
            userId,
            getToken: sessionToken,
            after: cursor,
            signal,
            onStatus: (status) => {
              if (status.state === "open") {
                // The lists loaded before the stream began may miss what came between: a
                // stream with nothing to resume from reloads them once it is open.
                if (cursor === null) reloadShown(client, userId);
                cursor = status.cursor;
                setState("live");
              } else if (status.inMs > 0) {
                setState("offline");
              }
            },
          })) {
            cursor = after;
            if (applyChange(client, userId, change)) settle();
          }
        } catch (caught) {
          if (!(caught instanceof FeedExpired)) {
            // Refused for good (the session ended): the page's own requests sign out.
            setState("offline");
            return;
          }
          cursor = null; // too far behind to resume: start over from the lists
        }
      }
    }

    // A connection the network dropped often closes nothing: resume as soon as it is back.
    const online = () => connection?.abort();
    const offline = () => {
      setState("offline");
      connection?.abort();
    };
    window.addEventListener("online", online);
    window.addEventListener("offline", offline);
    void follow();
    return () => {
      page.abort();
      clearTimeout(settling);
      window.removeEventListener("online", online);
      window.removeEventListener("offline", offline);
    };
  }, [client, userId]);

  return state;
}
