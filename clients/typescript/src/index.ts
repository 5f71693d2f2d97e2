/**
 * Typed clients of the Todo API. The types are generated from the committed OpenAPI
 * documents (`openapi/tasks.json`, `openapi/auth.json`) by `scripts/openapi.sh`; never
 * edit `src/generated/` by hand.
 *
 * ```ts
 * const tasks = createTasksClient("", { getToken: async () => session.token });
 * const { data, error, response } = await tasks.GET("/api/{user_id}/tasks", {
 *   params: { path: { user_id }, query: { limit: 20 } },
 * });
 * ```
 */
import createClient, { type Client, type ClientOptions, type Middleware } from "openapi-fetch";

import type {
  components as AuthComponents,
  operations as AuthOperations,
  paths as AuthPaths,
} from "./generated/auth";
import type {
  components as TasksComponents,
  operations as TasksOperations,
  paths as TasksPaths,
} from "./generated/tasks";

export type {
  AuthComponents,
  AuthOperations,
  AuthPaths,
  TasksComponents,
  TasksOperations,
  TasksPaths,
};

type TasksSchemas = TasksComponents["schemas"];
type AuthSchemas = AuthComponents["schemas"];

export type Task = TasksSchemas["TaskPublic"];
export type TaskCreate = TasksSchemas["TaskCreate"];
export type TaskUpdate = TasksSchemas["TaskUpdate"];
export type TaskPatch = TasksSchemas["TaskPatch"];
export type TaskComplete = TasksSchemas["TaskComplete"];
export type UserCreate = AuthSchemas["UserCreate"];
export type UserPublic = AuthSchemas["UserPublic"];
export type LoginRequest = AuthSchemas["LoginRequest"];
export type Token = AuthSchemas["Token"];

/** The bearer token for the next request; `null`/`undefined` sends none. */
export type TokenSource = () =>
  | string
  | null
  | undefined
  | Promise<string | null | undefined>;

export interface ApiClientOptions extends Omit<ClientOptions, "baseUrl"> {
  /** Asked before every request, so a refreshed token is picked up without a new client. */
  getToken?: TokenSource;
}

/** openapi-fetch middleware that sets `Authorization: Bearer <token>` on each request. */
export function bearerAuth(getToken: TokenSource): Middleware {
  return {
    async onRequest({ request }) {
      const token = await getToken();
      if (token) {
        request.headers.set("Authorization", `Bearer ${token}`);
      }
      return request;
    },
  };
}

function create<Paths extends {}>(baseUrl: string, options: ApiClientOptions): Client<Paths> {
  const { getToken, ...clientOptions } = options;
  const client = createClient<Paths>({ ...clientOptions, baseUrl });
  if (getToken) {
    client.use(bearerAuth(getToken));
  }
  return client;
}

/**
 * The tasks service. `baseUrl` is the origin the proxy serves (paths start with `/api/`),
 * e.g. `""` in a browser on the same origin or `http://127.0.0.1:8080`.
 */
export function createTasksClient(
  baseUrl: string,
  options: ApiClientOptions = {},
): Client<TasksPaths> {
  return create<TasksPaths>(baseUrl, options);
}

/** The auth service: signup, login and the JWKS (paths start with `/api/auth/`). */
export function createAuthClient(
  baseUrl: string,
  options: ApiClientOptions = {},
): Client<AuthPaths> {
  return create<AuthPaths>(baseUrl, options);
}
