/**
 * The tasks API as the page uses it, through the typed client generated from the service's
 * OpenAPI document (`@todo/api-client`), with every failure turned into a sentence for people.
 */
import { createTasksClient, ifMatch, type Task, versionOf } from "@todo/api-client";

import { forgetToken, SignedOutError, sessionToken } from "./token";

export type { Task };

/** What a write is made from: the task as the person saw it (its version goes in If-Match). */
export type Seen = Pick<Task, "id" | "version">;
export type Filter = "all" | "active" | "completed";

/** The orders a list can be shown in; `manual` (the person's own, set by moving tasks) only
 * within one list or the Inbox, "best" only while searching. */
export type Order = "newest" | "oldest" | "updated" | "priority" | "manual" | "best";

export const ORDER_LABELS: Record<Order, string> = {
  newest: "Newest first",
  oldest: "Oldest first",
  updated: "Recently changed",
  priority: "Highest priority",
  manual: "My order",
  best: "Best match",
};

const ORDER_QUERY: Record<
  Order,
  { sort?: "created" | "updated" | "priority" | "position"; order: "asc" | "desc" }
> = {
  newest: { sort: "created", order: "desc" },
  oldest: { sort: "created", order: "asc" },
  updated: { sort: "updated", order: "desc" },
  priority: { sort: "priority", order: "desc" },
  manual: { sort: "position", order: "asc" },
  best: { order: "desc" }, // a search without `sort`: best matches first
};

/** Whose tasks a view shows: every task, the Inbox's (no list), or one list's (its id). */
export type Scope = "all" | "inbox" | number;

/** What the list shows: a list (or all), a completion filter, optionally only the tasks with
 * a label or the words searched for (`q`), in an order. */
export interface View {
  scope: Scope;
  filter: Filter;
  label: string | null;
  order: Order;
  /** Searched for (the service's `q`); absent or "" when not searching. */
  q?: string;
}

/** The longest search the service takes. */
export const SEARCH_MAX_LENGTH = 200;

/** `view` searching for `words` ("": no search). A search starts best match first; ending
 * one goes back to newest first from there. */
export function searchView(view: View, words: string): View {
  if (words === "") {
    const ended: View = { ...view, order: view.order === "best" ? "newest" : view.order };
    delete ended.q;
    return ended;
  }
  return { ...view, q: words, order: view.q ? view.order : "best" };
}

/** The `list_id` a task made in this scope gets. */
export function listOf(scope: Scope): number | null {
  return typeof scope === "number" ? scope : null;
}

/** Labels match ignoring case, as the service compares them. */
export function sameLabel(a: string, b: string): boolean {
  return a.toLocaleLowerCase() === b.toLocaleLowerCase();
}

/** How a priority reads, 0 (none) to 3. */
export const PRIORITY_NAMES = ["No", "Low", "Medium", "High"] as const;

/** A labels input's text ("home, errands") as the labels it names, in order; blanks dropped. */
export function parseLabels(text: string): string[] {
  return text
    .split(",")
    .map((label) => label.trim())
    .filter((label) => label !== "");
}

/** What a form writes: the seed's fields and the ones that organise a task. */
export interface TaskFieldsInput {
  title: string;
  description: string | null;
  priority: number;
  labels: string[];
  list_id?: number | null;
}

export const PAGE_SIZE = 20;

/** One page of a filter's tasks: `total` is the filter's size, `next` the cursor after it. */
export interface TaskPage {
  tasks: Task[];
  total: number;
  next: string | null;
  /** When it was asked for (ms since the epoch): an answer to a request sent after a failure
   * shows the service is back. */
  requestedAt: number;
}

/** A failed call, with what to tell the person and which form fields were wrong. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly fields: Record<string, string> = {},
    /** A 412's `ETag`: the version the task is at now. */
    readonly currentVersion: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The task changed elsewhere since the person saw it (412): nothing was written. */
  get conflict(): boolean {
    return this.status === 412;
  }

  get signedOut(): boolean {
    return this.status === 401;
  }

  /** The service or the network is down or overloaded for now: worth trying again by itself. */
  get transient(): boolean {
    return [0, 429, 502, 503, 504].includes(this.status);
  }
}

const FIELD_LABELS: Record<string, string> = {
  title: "Title",
  description: "Description",
  priority: "Priority",
  labels: "Labels",
};

interface FieldError {
  loc?: (string | number)[];
  msg?: string;
}

function retryAfter(response: Response): string {
  const seconds = Number(response.headers.get("Retry-After"));
  return Number.isFinite(seconds) && seconds > 0
    ? ` Try again in ${seconds} second${seconds === 1 ? "" : "s"}.`
    : " Try again shortly.";
}

function toApiError(response: Response, body: unknown): ApiError {
  const status = response.status;
  if (status === 400) {
    const detail = (body as { detail?: unknown } | undefined)?.detail;
    const fields: Record<string, string> = {};
    if (Array.isArray(detail)) {
      for (const item of detail as FieldError[]) {
        // ["body", "labels", 2]: the field is what follows where it was sent.
        const field = String(item.loc?.[1] ?? "request");
        // "Title must not be blank": the API's sentence, led by the field's label.
        fields[field] = `${FIELD_LABELS[field] ?? field} ${item.msg ?? "is not valid"}`;
      }
    }
    const summary = Object.values(fields).join("; ");
    return new ApiError(`Please fix the form. ${summary}`.trim(), status, fields);
  }
  if (status === 401) {
    forgetToken();
    return new ApiError("Your session has ended. Please sign in again.", status);
  }
  if (status === 404) return new ApiError("That task no longer exists.", status);
  if (status === 409) {
    // The service's own sentence, written for people ("you already have a list of that name").
    const detail = (body as { detail?: unknown } | undefined)?.detail;
    const said = typeof detail === "string" ? detail : "That conflicts with what is there now";
    return new ApiError(`${said.charAt(0).toUpperCase()}${said.slice(1)}.`, status);
  }
  if (status === 412) {
    const message = "This task was changed on another device.";
    return new ApiError(message, status, {}, versionOf(response));
  }
  if (status === 429) return new ApiError(`Too many requests.${retryAfter(response)}`, status);
  if (status === 503) {
    return new ApiError(`The service is temporarily unavailable.${retryAfter(response)}`, status);
  }
  return new ApiError(`Something went wrong (HTTP ${status}).`, status);
}

/** The typed client's result, or an ApiError; a lost session becomes a 401 ApiError too. */
export async function call<T>(
  request: () => Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<{ data: T; response: Response }> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await request();
  } catch (error) {
    if (error instanceof SignedOutError) throw new ApiError("Please sign in again.", 401);
    throw new ApiError("The network failed; check your connection and try again.", 0);
  }
  if (!result.response.ok) throw toApiError(result.response, result.error);
  return { data: result.data as T, response: result.response };
}

let client: ReturnType<typeof createTasksClient> | undefined;

export function api(): ReturnType<typeof createTasksClient> {
  client ??= createTasksClient(window.location.origin, { getToken: sessionToken });
  return client;
}

const COMPLETED: Record<Filter, boolean | undefined> = {
  all: undefined,
  active: false,
  completed: true,
};

/** A listing's answer as a page: its size and next cursor come in headers. */
function pageOf(tasks: Task[], response: Response, requestedAt: number): TaskPage {
  return {
    tasks,
    total: Number(response.headers.get("X-Total-Count") ?? tasks.length),
    next: response.headers.get("X-Next-Cursor"),
    requestedAt,
  };
}

/** A page of a view's tasks, newest first: the first (`cursor` null) or the one after it. */
export async function listTasks(
  userId: string,
  view: View,
  cursor: string | null,
  limit: number = PAGE_SIZE,
): Promise<TaskPage> {
  const completed = COMPLETED[view.filter];
  const requestedAt = Date.now();
  const { data, response } = await call(() =>
    api().GET("/api/{user_id}/tasks", {
      params: {
        path: { user_id: userId },
        query: {
          limit,
          ...(cursor === null ? {} : { cursor }),
          ...(completed === undefined ? {} : { completed }),
          ...(view.label === null ? {} : { label: [view.label] }),
          ...(view.scope === "all"
            ? {}
            : view.scope === "inbox"
              ? { inbox: true }
              : { list_id: view.scope }),
          ...(view.order === "newest" && !view.q ? {} : ORDER_QUERY[view.order]),
          ...(view.q ? { q: view.q } : {}),
        },
      },
    }),
  );
  return pageOf(data, response, requestedAt);
}

/** The three filters' sizes, from X-Total-Count (one single-row page each). */
export async function countTasks(userId: string): Promise<Record<Filter, number>> {
  const filters: Filter[] = ["all", "active", "completed"];
  const pages = await Promise.all(
    filters.map((filter) =>
      listTasks(userId, { scope: "all", filter, label: null, order: "newest" }, null, 1),
    ),
  );
  return { all: pages[0]!.total, active: pages[1]!.total, completed: pages[2]!.total };
}

/** A fresh `Idempotency-Key`: 128 random bits in hex (`getRandomValues`, unlike `randomUUID`,
 * also works on a plain-HTTP origin that is not localhost). */
function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A failure after which the create may or may not have happened: the replica died with the
 * request in flight (502, 503) or the connection dropped (0). */
function uncertain(error: unknown): boolean {
  return error instanceof ApiError && [0, 502, 503].includes(error.status);
}

/** One task per call, however the network behaves: the call's own key makes its retry answer
 * the task a lost first attempt created (`Idempotent-Replayed`) instead of adding another. */
export async function createTask(userId: string, fields: TaskFieldsInput): Promise<Task> {
  const key = idempotencyKey();
  const send = () =>
    call(() =>
      api().POST("/api/{user_id}/tasks", {
        params: { path: { user_id: userId }, header: { "Idempotency-Key": key } },
        body: { ...fields, completed: false },
      }),
    );
  try {
    return (await send()).data;
  } catch (error) {
    if (!uncertain(error)) throw error;
    return (await send()).data;
  }
}

export async function readTask(userId: string, taskId: number): Promise<Task> {
  const { data } = await call(() =>
    api().GET("/api/{user_id}/tasks/{task_id}", {
      params: { path: { user_id: userId, task_id: taskId } },
    }),
  );
  return data;
}

/** Writes from what the person saw: a 412 ApiError (`conflict`) if the task moved on since. */
export async function updateTask(
  userId: string,
  seen: Seen,
  changes: TaskFieldsInput,
): Promise<Task> {
  const { data } = await call(() =>
    api().PATCH("/api/{user_id}/tasks/{task_id}", {
      params: { path: { user_id: userId, task_id: seen.id }, header: ifMatch(seen) },
      body: changes,
    }),
  );
  return data;
}

export async function setCompleted(userId: string, seen: Seen, completed: boolean): Promise<Task> {
  const { data } = await call(() =>
    api().PATCH("/api/{user_id}/tasks/{task_id}/complete", {
      params: { path: { user_id: userId, task_id: seen.id }, header: ifMatch(seen) },
      body: { completed },
    }),
  );
  return data;
}

export async function deleteTask(userId: string, seen: Seen): Promise<void> {
  await call(() =>
    api().DELETE("/api/{user_id}/tasks/{task_id}", {
      params: { path: { user_id: userId, task_id: seen.id }, header: ifMatch(seen) },
    }),
  );
}

/** Where a move puts a task: just before or after another of the list, or first. */
export type Placement = { before: number } | { after: number } | Record<string, never>;

export async function moveTask(userId: string, seen: Seen, place: Placement): Promise<Task> {
  const { data } = await call(() =>
    api().POST("/api/{user_id}/tasks/{task_id}/move", {
      params: { path: { user_id: userId, task_id: seen.id }, header: ifMatch(seen) },
      body: place,
    }),
  );
  return data;
}

/** A page of the trash, latest deleted first. */
export async function listTrash(userId: string, cursor: string | null): Promise<TaskPage> {
  const requestedAt = Date.now();
  const { data, response } = await call(() =>
    api().GET("/api/{user_id}/trash", {
      params: {
        path: { user_id: userId },
        query: { limit: PAGE_SIZE, ...(cursor === null ? {} : { cursor }) },
      },
    }),
  );
  return pageOf(data, response, requestedAt);
}

/** The task back from the trash, as it was (a 404 ApiError if it is no longer there). */
export async function restoreTask(userId: string, taskId: number): Promise<Task> {
  const { data } = await call(() =>
    api().POST("/api/{user_id}/tasks/{task_id}/restore", {
      params: { path: { user_id: userId, task_id: taskId } },
    }),
  );
  return data;
}

export async function discardTask(userId: string, taskId: number): Promise<void> {
  await call(() =>
    api().DELETE("/api/{user_id}/trash/{task_id}", {
      params: { path: { user_id: userId, task_id: taskId } },
    }),
  );
}

export async function emptyTrash(userId: string): Promise<void> {
  await call(() => api().DELETE("/api/{user_id}/trash", { params: { path: { user_id: userId } } }));
}

/** Field errors from a 400, keyed by field name, for the inputs' own messages. */
export function fieldErrors(caught: unknown): Record<string, string> {
  return caught instanceof ApiError ? caught.fields : {};
}
