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
import createClient, { type Client, type ClientOptions } from "openapi-fetch";

import { bearerFetch, type TokenSource } from "./token";

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

export {
  bearerFetch,
  refreshingTokenSource,
  type TokenPair,
  type TokenSource,
} from "./token";
export {
  type Change,
  type ChangesPage,
  etag,
  FeedExpired,
  FeedRefused,
  type FollowOptions,
  followEvents,
  ifMatch,
  type ListChange,
  readChanges,
  type StreamedChange,
  type StreamStatus,
  type TaskChange,
  versionOf,
} from "./sync";
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
export type TaskMove = TasksSchemas["TaskMove"];
export type TaskList = TasksSchemas["ListPublic"];
export type ListCreate = TasksSchemas["ListCreate"];
export type ListMove = TasksSchemas["ListMove"];
export type UserCreate = AuthSchemas["UserCreate"];
export type UserPublic = AuthSchemas["UserPublic"];
export type LoginRequest = AuthSchemas["LoginRequest"];
export type Token = AuthSchemas["Token"];
export type SessionPublic = AuthSchemas["SessionPublic"];

export interface ApiClientOptions extends Omit<ClientOptions, "baseUrl"> {
  /** Asked before every request, so a refreshed token is picked up without a new client. */
  getToken?: TokenSource;
}

function create<Paths extends {}>(
  baseUrl: string,
  options: ApiClientOptions,
): Client<Paths> {
  const { getToken, fetch: send, ...clientOptions } = options;
  return createClient<Paths>({
    ...clientOptions,
    baseUrl,
    ...(getToken
      ? { fetch: bearerFetch(getToken, send) }
      : send
        ? { fetch: send }
        : {}),
  });
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

/** The auth service: signup, login, refresh, sessions, password and the JWKS (paths start
 * with `/api/auth/`). */
export function createAuthClient(
  baseUrl: string,
  options: ApiClientOptions = {},
): Client<AuthPaths> {
  return create<AuthPaths>(baseUrl, options);
}
