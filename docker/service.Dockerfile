# One image recipe for both services; build from the repository root:
#
#     docker build -f docker/service.Dockerfile --build-arg SERVICE=auth -t todo-auth .
#
# Stage 1 installs the service's hash-pinned dependencies (a layer that changes only with
# services/<SERVICE>/requirements.lock), then the shared package and the service itself.
# Stage 2 is the same base image with that virtualenv and nothing else: no uv, no compiler,
# no sources, running as an unprivileged user.
ARG PYTHON_IMAGE=python:3.12-slim

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
# The uv release this repository is developed with.
ARG UV_VERSION=0.13.9
RUN test -n "$SERVICE" || { echo "build arg SERVICE (auth or tasks) is required" >&2; exit 1; } \
 && PIP_ROOT_USER_ACTION=ignore pip install --no-cache-dir "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    VIRTUAL_ENV=/opt/venv
RUN uv venv --python "$(command -v python3)" /opt/venv
COPY services/${SERVICE}/requirements.lock /tmp/requirements.lock
RUN uv pip install --require-hashes --no-deps -r /tmp/requirements.lock
COPY shared /src/shared
COPY services/${SERVICE} /src/service
# Both are installed as wheels (not editable); their dependencies are already in place.
# --no-sources: the workspace links in their pyproject.toml mean nothing outside the workspace.
RUN uv pip install --no-deps --no-sources /src/shared /src/service \
 && ln -s "todo-${SERVICE}" /opt/venv/bin/todo-service

FROM ${PYTHON_IMAGE}
ARG SERVICE
LABEL org.opencontainers.image.title="todo-${SERVICE}"
RUN useradd --system --user-group --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8000 \
    METRICS_PORT=9000
USER app
WORKDIR /app
# 8000: the API (through the proxy); 9000: the Prometheus metrics (scraped directly).
EXPOSE 8000 9000
# Slim images carry no curl: ask /healthz with the standard library.
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
# `todo-service` is the service's own command (todo-auth or todo-tasks): `serve` applies the
# migrations (one replica at a time) and then runs uvicorn with WEB_CONCURRENCY workers.
CMD ["todo-service", "serve"]
