/**
 * Compile-time checks of the client's types (`tsc --noEmit` runs them; nothing executes):
 * the calls a front end makes must type-check, and misuse must not.
 */
import {
  createAuthClient,
  createTasksClient,
  etag,
  FeedExpired,
  followEvents,
  ifMatch,
  readChanges,
  refreshingTokenSource,
  type StreamStatus,
  type Task,
  versionOf,
} from "../src/index";

const tasks = createTasksClient("http://127.0.0.1:8080", {
  getToken: async () => "token",
});
const auth = createAuthClient("http://127.0.0.1:8080");
// A source that renews: asked again with { refused: true } after a 401, the request is retried.
let held = "token";
const renewing = createTasksClient("", {
  getToken: async ({ refused }) =>
    refused ? (held = `${held}-renewed`) : held,
});
void renewing;
// An API client of the auth service: refreshed after a 401, the new pair kept.
const refreshing = createTasksClient("", {
  getToken: refreshingTokenSource(
    "",
    { access_token: "a", refresh_token: "r" },
    (next) => void next.refresh_token,
  ),
});
void refreshing;
const user_id = "3f1c";

export async function usage(): Promise<Task[]> {
  await auth.POST("/api/auth/signup", {
    body: { email: "a@example.com", password: "12345678" },
  });
  const login = await auth.POST("/api/auth/login", {
    body: { email: "a@example.com", password: "12345678" },
  });
  if (login.data) {
    const bearer: "bearer" = login.data.token_type;
    void bearer;
  }

  const created = await tasks.POST("/api/{user_id}/tasks", {
    params: { path: { user_id } },
    body: { title: "Buy milk" },
  });
  if (created.error) {
    // The documented error bodies: field errors for a 400, a message otherwise.
    const detail:
      string | { loc: (string | number)[]; msg: string; type: string }[] =
      created.error.detail;
    void detail;
  } else if (created.data) {
    const task: Task = created.data;
    void task;
  }
  // A create safe to retry: the key is a documented header parameter, the replay a header.
  const retried = await tasks.POST("/api/{user_id}/tasks", {
    params: { path: { user_id }, header: { "Idempotency-Key": "9b2f0c1e" } },
    body: { title: "Buy milk" },
  });
  const replayed: boolean =
    retried.response.headers.get("Idempotent-Replayed") === "true";
  void replayed;
  await tasks.PUT("/api/{user_id}/tasks/{task_id}", {
    params: { path: { user_id, task_id: 1 } },
    body: { title: "Buy oat milk", description: null },
  });
  await tasks.PATCH("/api/{user_id}/tasks/{task_id}", {
    params: { path: { user_id, task_id: 1 } },
    // @ts-expect-error a title may be omitted but never null (the service answers 400)
    body: { title: null },
  });
  await tasks.GET("/api/{user_id}/tasks", {
    // @ts-expect-error limit is a number, never null
    params: { path: { user_id }, query: { limit: null } },
  });
  const jwks = await auth.GET("/api/auth/jwks");
  const kid: string | undefined = jwks.data?.keys[0]?.kid;
  void kid;
  const list = await tasks.GET("/api/{user_id}/tasks", {
    params: {
      path: { user_id },
      query: { completed: false, limit: 20, offset: 0 },
    },
  });
  await tasks.PATCH("/api/{user_id}/tasks/{task_id}", {
    params: { path: { user_id, task_id: 1 } },
    body: { description: null },
  });
  await tasks.PATCH("/api/{user_id}/tasks/{task_id}/complete", {
    params: { path: { user_id, task_id: 1 } },
  });
  await tasks.DELETE("/api/{user_id}/tasks/{task_id}", {
    params: { path: { user_id, task_id: 1 } },
  });
  void created;
  return list.data ?? [];
}

// Conditional writes, the feed and the stream, as a client that stays in step uses them.
export async function staysInStep(
  task: Task,
  signal: AbortSignal,
): Promise<void> {
  const saved = await tasks.PATCH("/api/{user_id}/tasks/{task_id}", {
    params: { path: { user_id, task_id: task.id }, header: ifMatch(task) },
    body: { title: "Buy oat milk" },
  });
  if (saved.response.status === 412) {
    const stored: number | null = versionOf(saved.response);
    await tasks.DELETE("/api/{user_id}/tasks/{task_id}", {
      params: {
        path: { user_id, task_id: task.id },
        header: { "If-Match": etag(stored ?? 1) },
      },
    });
  }
  await tasks.GET("/api/{user_id}/tasks/{task_id}", {
    params: {
      path: { user_id, task_id: task.id },
      header: { "If-None-Match": etag(task.version) },
    },
  });
  let cursor: string | null = null;
  try {
    for await (const page of readChanges(tasks, user_id, cursor)) {
      for (const change of page.changes) {
        if (change.op === "upsert" && change.type === "task") {
          const held: number = change.task.version;
          void held;
        } else if (change.op === "upsert") {
          const name: string = change.list.name;
          void name;
        }
      }
      cursor = page.cursor;
    }
  } catch (caught) {
    if (!(caught instanceof FeedExpired)) throw caught;
    cursor = null;
  }
  const events = followEvents({
    baseUrl: "",
    userId: user_id,
    getToken: async () => "token",
    after: cursor,
    signal,
    onStatus: (status: StreamStatus) => void status.state,
  });
  for await (const { cursor: after, change } of events) {
    const id: number = change.id;
    void [id, after];
  }
  // @ts-expect-error If-Match is a string (a quoted version), not the number itself
  etag("3");
}
