/** Liveness for the container healthcheck (the proxy answers its own /healthz). */
export const dynamic = "force-dynamic";

export function GET(): Response {
  return Response.json({ status: "ok" });
}
