/** The lists API as the page uses it: a person's lists in their order, made, renamed,
 * reordered and deleted (a list's tasks go to the trash with it). */
import { ifMatch, type TaskList } from "@todo/api-client";

import { api, call, type Placement, type Seen } from "./tasks";

export type { TaskList };

export async function listLists(userId: string): Promise<TaskList[]> {
  const { data } = await call(() =>
    api().GET("/api/{user_id}/lists", { params: { path: { user_id: userId } } }),
  );
  return data;
}

export async function createList(userId: string, name: string): Promise<TaskList> {
  const { data } = await call(() =>
    api().POST("/api/{user_id}/lists", { params: { path: { user_id: userId } }, body: { name } }),
  );
  return data;
}

export async function renameList(userId: string, seen: Seen, name: string): Promise<TaskList> {
  const { data } = await call(() =>
    api().PATCH("/api/{user_id}/lists/{list_id}", {
      params: { path: { user_id: userId, list_id: seen.id }, header: ifMatch(seen) },
      body: { name },
    }),
  );
  return data;
}

export async function moveList(userId: string, seen: Seen, place: Placement): Promise<TaskList> {
  const { data } = await call(() =>
    api().POST("/api/{user_id}/lists/{list_id}/move", {
      params: { path: { user_id: userId, list_id: seen.id }, header: ifMatch(seen) },
      body: place,
    }),
  );
  return data;
}

/** The list and, into the trash, its tasks. */
export async function deleteList(userId: string, seen: Seen): Promise<void> {
  await call(() =>
    api().DELETE("/api/{user_id}/lists/{list_id}", {
      params: {
        path: { user_id: userId, list_id: seen.id },
        query: { with_tasks: true },
        header: ifMatch(seen),
      },
    }),
  );
}
