/**
 * Tells the tasks service that a Better Auth session ended, so the JWTs minted for it (their
 * `sid` is the session's id) are refused at once on every replica, not only when they expire.
 *
 * The same protocol as `todo_shared.revocation` (Python): a key `todo:revoked:<iss>:<sid>`
 * living as long as a token of the session can, and a message on `todo:revocations`. Two
 * commands over one short connection need no Redis library: this speaks RESP directly.
 */
import "server-only";

import { connect } from "node:net";

export const REVOCATION_CHANNEL = "todo:revocations";
const KEY_PREFIX = "todo:revoked";
const TIMEOUT_MS = 500;
// The tokens' clock leeway at the verifier, added to their lifetime.
const LEEWAY_SECONDS = 60;

function encode(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")}`;
}

/** Sends the commands, resolving once each has its one-line reply, rejecting on any error. */
function send(redisUrl: string, commands: string[][]): Promise<void> {
  const url = new URL(redisUrl);
  const setup: string[][] = [];
  if (url.password) {
    const password = decodeURIComponent(url.password);
    setup.push(
      url.username ? ["AUTH", decodeURIComponent(url.username), password] : ["AUTH", password],
    );
  }
  const db = url.pathname.replace(/^\//, "");
  if (db && db !== "0") setup.push(["SELECT", db]);
  const all = [...setup, ...commands];
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port || 6379) });
    let replies = "";
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error("Redis did not answer in time")));
    socket.on("error", reject);
    socket.on("connect", () => socket.write(all.map(encode).join("")));
    socket.on("data", (chunk) => {
      replies += chunk.toString();
      const lines = replies.split("\r\n").slice(0, -1);
      const failed = lines.find((line) => line.startsWith("-"));
      if (failed) socket.destroy(new Error(`Redis refused: ${failed.slice(1)}`));
      else if (lines.length >= all.length) {
        socket.end();
        resolve();
      }
    });
  });
}

/**
 * Publishes the end of a session of `issuer`. Never throws: sign-out must work with Redis
 * down, and then the session's JWTs pass until they expire (docs/api.md, Revocation).
 */
export async function publishRevocation(
  redisUrl: string | null,
  issuer: string,
  sid: string,
  tokenTtlSeconds: number,
): Promise<void> {
  if (!redisUrl) return;
  const ttl = String(tokenTtlSeconds + LEEWAY_SECONDS);
  try {
    await send(redisUrl, [
      ["SET", `${KEY_PREFIX}:${issuer}:${sid}`, "1", "EX", ttl],
      ["PUBLISH", REVOCATION_CHANNEL, JSON.stringify({ iss: issuer, sid })],
    ]);
  } catch (error) {
    console.warn(
      JSON.stringify({
        message: "session end not published: its tokens pass until they expire",
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  }
}
