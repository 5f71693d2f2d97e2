/**
 * The server's settings, read from the environment at run time (never at build time, so an
 * image carries no secret and one image serves every deployment).
 */

const PLACEHOLDER_PREFIX = "insecure-";
const MIN_SECRET_LENGTH = 32;

export interface ServerConfig {
  /** The origin people open, e.g. http://127.0.0.1:8080: Better Auth's base URL and the JWT audience. */
  publicUrl: string;
  /** `${publicUrl}/auth`: the `iss` of every JWT, distinct from the auth service's. */
  issuer: string;
  secret: string;
  databaseUrl: string;
  /** Browser origins allowed to post to /auth (the public URL in its 127.0.0.1 and localhost forms). */
  trustedOrigins: string[];
  jwtTtlSeconds: number;
  /** Sign-in and sign-up attempts per client address per minute. */
  authRateLimit: number;
  /** Where ended sessions are published for the tasks service; none: they are not. */
  redisUrl: string | null;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** The same origin under its other loopback name, so both spellings of a local URL work. */
function loopbackTwin(origin: string): string | null {
  const url = new URL(origin);
  if (url.hostname === "127.0.0.1") url.hostname = "localhost";
  else if (url.hostname === "localhost") url.hostname = "127.0.0.1";
  else return null;
  return url.origin;
}

let cached: ServerConfig | undefined;

export function serverConfig(): ServerConfig {
  if (cached) return cached;
  const publicUrl = new URL(required("PUBLIC_URL")).origin;
  const secret = required("BETTER_AUTH_SECRET");
  if (process.env.ENVIRONMENT === "production") {
    if (secret.startsWith(PLACEHOLDER_PREFIX) || secret.length < MIN_SECRET_LENGTH) {
      throw new Error(
        `BETTER_AUTH_SECRET is a placeholder or shorter than ${MIN_SECRET_LENGTH} characters; ` +
          "production needs a generated secret (e.g. `openssl rand -base64 32`)",
      );
    }
  }
  const twin = loopbackTwin(publicUrl);
  const extra = (process.env.TRUSTED_ORIGINS ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  cached = {
    publicUrl,
    issuer: `${publicUrl}/auth`,
    secret,
    databaseUrl: required("DATABASE_URL"),
    trustedOrigins: [publicUrl, ...(twin ? [twin] : []), ...extra],
    jwtTtlSeconds: positiveInt("JWT_TTL_SECONDS", 900),
    authRateLimit: positiveInt("AUTH_RATE_LIMIT", 20),
    redisUrl: process.env.REDIS_URL || null,
  };
  return cached;
}
