"""Prometheus metrics: what the shared kit measures (requests, the database pool, the issuers'
keys).

prometheus-client runs in its multi-process mode under `serve`: every uvicorn worker writes its
samples to memory-mapped files in PROMETHEUS_MULTIPROC_DIR, and the metrics endpoint adds them
up (`todo_shared.server`). Without that directory (the tests, an app built in-process) the
same metrics live in the process's default registry.

Each service declares its own metrics in its own `metrics.py`; the names here start with
`todo_` and carry no service name (Prometheus's `job` label says which service). Labels are
bounded: a route's template, never its path (a user id is part of the path), an issuer from
the configuration, an HTTP method from a fixed list.

Every gauge is a `live...` one, so a worker's values leave the sum when it exits; a worker that
died without exiting cleanly is dropped at the next scrape (`server.LiveMultiProcessCollector`).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# -- requests (observability.RequestMetricsMiddleware) -------------------------------------------

HTTP_REQUESTS = Counter(
    "todo_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
# Milliseconds matter on the hot paths (a list answers in a few): finer buckets at the bottom.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HTTP_LATENCY = Histogram(
    "todo_http_request_duration_seconds",
    "Time from a request's arrival to its response's first byte, by route template and method "
    "(so an event stream counts the time to open it, not how long it stays open).",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)

# -- the database pool (db.Database) ------------------------------------------------------------

DB_POOL_IN_USE = Gauge(
    "todo_db_pool_connections_in_use",
    "Pooled database connections lent to a request now (sampled every second).",
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "todo_db_pool_waiting",
    "Requests waiting for a pooled database connection now (sampled every second).",
    multiprocess_mode="livesum",
)
DB_POOL_MAX = Gauge(
    "todo_db_pool_max_connections",
    "Most database connections the pools may hold (DB_POOL_SIZE per worker).",
    multiprocess_mode="livesum",
)
DB_UNAVAILABLE = Counter(
    "todo_db_unavailable_total",
    "Database calls answered 503: the database unreachable, restarting, or no pooled "
    "connection free within DB_CONNECT_TIMEOUT_SECONDS.",
)

# -- the issuers' keys (jwks.cache.JwksCache) ---------------------------------------------------

JWKS_FETCHES = Counter(
    "todo_jwks_fetches_total",
    "JWKS downloads from an issuer, by outcome (ok, error).",
    ["issuer", "outcome"],
)
JWKS_CACHE_HITS = Counter(
    "todo_jwks_cache_hits_total",
    "Key lookups answered without a download, by where the keys were (memory, redis).",
    ["issuer", "cache"],
)
JWKS_STALE_SERVED = Counter(
    "todo_jwks_stale_served_total",
    "Key lookups answered with keys past their TTL (a refresh due or failing), while within "
    "JWKS_MAX_STALENESS_SECONDS.",
    ["issuer"],
)
JWKS_KEYS_FETCHED = Gauge(
    "todo_jwks_keys_fetched_timestamp_seconds",
    "When the oldest key set in use by a worker was fetched (Unix time): the keys' age is "
    "time() minus this.",
    ["issuer"],
    multiprocess_mode="livemin",
)
