/** Better Auth in the browser: same origin, endpoints under /auth. */
import { createAuthClient } from "better-auth/react";

export const authClient = createAuthClient({ basePath: "/auth" });
