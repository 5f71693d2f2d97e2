/**
 * Better Auth: email + password accounts in the front end's own database, and a `jwt` plugin
 * that signs EdDSA access tokens the tasks service verifies through /auth/jwks. Each token
 * carries its session's id as `sid`; when a session is deleted (sign-out, revoking it), its
 * end is published, so the tasks service refuses its tokens from then on.
 */
import "server-only";

import { betterAuth } from "better-auth";
import { jwt } from "better-auth/plugins";
import { Pool } from "pg";

import { serverConfig } from "./config";
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_LENGTH } from "./limits";
import { publishRevocation } from "./revocation";

/** Endpoints live under /auth, away from nginx's /api/auth/ (the auth service). */
export const AUTH_BASE_PATH = "/auth";

function createAuth() {
  const config = serverConfig();
  const attempts = { window: 60, max: config.authRateLimit };
  return betterAuth({
    appName: "Todo",
    baseURL: config.publicUrl,
    basePath: AUTH_BASE_PATH,
    secret: config.secret,
    database: new Pool({ connectionString: config.databaseUrl, max: 10 }),
    trustedOrigins: config.trustedOrigins,
    emailAndPassword: {
      enabled: true,
      // The auth service's bounds, so both account systems take the same passwords.
      minPasswordLength: PASSWORD_MIN_LENGTH,
      maxPasswordLength: PASSWORD_MAX_BYTES,
    },
    // Nothing leaves the machine.
    telemetry: { enabled: false },
    rateLimit: {
      enabled: true,
      customRules: { "/sign-in/email": attempts, "/sign-up/email": attempts },
    },
    databaseHooks: {
      session: {
        delete: {
          after: async (session) =>
            publishRevocation(config.redisUrl, config.issuer, session.id, config.jwtTtlSeconds),
        },
      },
    },
    advanced: {
      // nginx replaces X-Forwarded-For with the address it saw, so this header is the client's.
      ipAddress: { ipAddressHeaders: ["x-forwarded-for"] },
    },
    plugins: [
      jwt({
        jwks: { keyPairConfig: { alg: "EdDSA", crv: "Ed25519" } },
        jwt: {
          issuer: config.issuer,
          audience: config.publicUrl,
          expirationTime: `${config.jwtTtlSeconds}s`,
          // The claims the tasks service reads; not the whole user record.
          definePayload: ({ user, session }) => ({ email: user.email, sid: session.id }),
        },
      }),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;

let instance: Auth | undefined;

/** Built on first use: `next build` imports this module without any runtime settings. */
export function getAuth(): Auth {
  instance ??= createAuth();
  return instance;
}
