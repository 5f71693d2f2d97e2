import { type Query, QueryClient } from "@tanstack/react-query";

import { ApiError } from "./tasks";

/** How often a query that failed (or one asked to watch for a recovery) tries again by itself. */
export const RECOVERY_MS = 3_000;

/** While a query is in error it keeps asking, so an outage ends on screen when it ends. */
function recoveryInterval(query: Query): number | false {
  return query.state.status === "error" ? RECOVERY_MS : false;
}

/** Server state's defaults: an outage or overload is retried twice, a second apart, before the
 * page says so (and then every few seconds, by itself); nothing else is retried. */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: (failures, error) => error instanceof ApiError && error.transient && failures < 2,
        retryDelay: 1_000,
        refetchInterval: recoveryInterval,
      },
    },
  });
}
