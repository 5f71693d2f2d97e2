/**
 * Better Auth's tables, created or extended at server start through its `getMigrations` API
 * (its CLI needs a newer Node than the image carries), and the first JWT signing key. Replicas
 * starting together queue on a PostgreSQL advisory lock, and each plans its changes only once
 * it holds the lock, so the second finds nothing left to do.
 */
import "server-only";

import { getMigrations } from "better-auth/db/migration";
import { Client } from "pg";

import { getAuth } from "./auth";
import { serverConfig } from "./config";

/** Any constant unique to this database: 'todo-frontend' as a 64-bit number. */
const MIGRATION_LOCK_KEY = 0x746f646f6665n;

export async function migrate(): Promise<void> {
  const lock = new Client({ connectionString: serverConfig().databaseUrl });
  await lock.connect();
  try {
    await lock.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY.toString()]);
    const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(getAuth().options);
    const tables = [...toBeCreated, ...toBeAdded].map((change) => change.table);
    if (tables.length > 0) {
      await runMigrations();
      console.info(`migrations: applied (${[...new Set(tables)].join(", ")})`);
    } else {
      console.info("migrations: up to date");
    }
    // The JWKS endpoint mints the first signing key when there is none; two requests racing
    // (two verifier workers at start-up) would mint two and publish them to each differently.
    // Minting it here, under the lock, leaves one key before anybody asks.
    await getAuth().api.getJwks();
  } finally {
    await lock.end(); // closing the session releases the lock
  }
}

/** A server that cannot reach or migrate its database must not come up looking healthy. */
export async function migrateOrExit(): Promise<void> {
  try {
    await migrate();
  } catch (error) {
    console.error("migrations failed:", error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
