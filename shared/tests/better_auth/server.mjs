// A real Better Auth server for the verifier interop test: email/password sign-up plus the
// `jwt` plugin, in memory (no database), on 127.0.0.1. It listens on a free port first, then
// prints {"port": N} on stdout so the test knows the base URL Better Auth must be built with.
import http from "node:http";
import { randomBytes } from "node:crypto";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";

let handler = (_req, res) => {
  res.writeHead(503).end();
};
const server = http.createServer((req, res) => handler(req, res));

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  const baseURL = `http://127.0.0.1:${port}`;
  const auth = betterAuth({
    baseURL,
    secret: process.env.BETTER_AUTH_SECRET ?? randomBytes(32).toString("hex"),
    database: memoryAdapter({ user: [], session: [], account: [], verification: [], jwks: [] }),
    emailAndPassword: { enabled: true },
    telemetry: { enabled: false },
    plugins: [jwt()],
  });
  handler = toNodeHandler(auth);
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
