# The Next.js front end; build from the repository root (the typed client lives beside it):
#
#     docker build -f docker/frontend.Dockerfile -t todo-frontend .
#
# Stage 1 installs the locked dependencies (a layer that changes only with package-lock.json
# or the client), stage 2 builds, stage 3 is the same base image with Next.js's standalone
# output only (the server and the modules it imports, not the build's node_modules), run by
# an unprivileged user. No secret is needed to build: the server reads its settings at start.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS deps
ENV NEXT_TELEMETRY_DISABLED=1 \
    npm_config_update_notifier=false
COPY clients/typescript /src/clients/typescript
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json frontend/.npmrc ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

FROM deps AS build
COPY frontend ./
RUN npm run build

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="todo-frontend"
RUN useradd --system --user-group --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=build /src/frontend/.next/standalone ./
COPY --from=build /src/frontend/.next/static ./.next/static
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    HOSTNAME=0.0.0.0 \
    PORT=3000
USER app
EXPOSE 3000
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# server.js applies Better Auth's migrations (instrumentation.ts) before it answers.
CMD ["node", "server.js"]
