/** Runs once per server process, before it answers: bring the database schema up to date. */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { migrateOrExit } = await import("./lib/migrate");
    await migrateOrExit();
  }
}
