"""`python -m todo_shared.server`: uvicorn serving a service's app, and beside it the
metrics endpoint adding up every worker's samples. `serve` (todo_shared.cli) execs it once
the migrations ran and PROMETHEUS_MULTIPROC_DIR names an emptied directory.

prometheus-client's multi-process mode: every uvicorn worker writes its samples to
memory-mapped files in that directory, and the endpoint (METRICS_PORT, never through the
proxy) adds up every worker's files on each scrape, so every worker counts, whichever one a
request reached. The endpoint runs in the process that outlives the workers (uvicorn's
supervisor, or the one worker), a fresh interpreter, so prometheus-client is imported only
after PROMETHEUS_MULTIPROC_DIR is set, which is when it decides where samples go. This module
defines no metric: the supervisor writes none.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import uvicorn
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

logger = logging.getLogger("todo.metrics")

LOG_CONFIG = Path(__file__).with_name("logging.json")
_LIVE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db")


def prepare_directory(directory: Path) -> None:
    """Make `directory` and empty it of samples: the counts of an earlier start (a restarted
    container keeps its files) must not add to this one's."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LiveMultiProcessCollector(MultiProcessCollector):
    """Every worker's samples, without the live gauges of workers that are gone.

    A worker that exits cleanly or is killed (uvicorn starts another) leaves its gauge files
    behind, which would keep, say, its open streams in the sum; before each scrape those of a
    process that no longer runs are removed. Its counters stay: they still count.
    """

    def __init__(self, directory: Path, registry: CollectorRegistry) -> None:
        self._directory = directory
        # prometheus_client.multiprocess has no annotations.
        super().__init__(registry, path=str(directory))  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        pids = {int(m[1]) for f in os.listdir(self._directory) if (m := _LIVE_FILE.fullmatch(f))}
        for pid in pids:
            if not _alive(pid):
                with contextlib.suppress(FileNotFoundError):
                    mark_process_dead(pid, str(self._directory))  # type: ignore[no-untyped-call]
        metrics: Iterable[Metric] = super().collect()  # type: ignore[no-untyped-call]
        return metrics


def serve_metrics(host: str, port: int, directory: Path) -> None:
    """Serve the sum of every worker's samples in `directory` on `host:port` (any path, e.g.
    `/metrics`), from a thread of this process. A port that cannot be bound is logged and
    skipped: the API matters more than its metrics, and Prometheus shows the target down."""
    registry = CollectorRegistry()
    LiveMultiProcessCollector(directory, registry)
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        # Before uvicorn configures logging: the message itself names what happened.
        logger.error(f"metrics endpoint not started on {host}:{port}: {exc}")


GRACEFUL_SHUTDOWN_SECONDS = 10


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m todo_shared.server")
    parser.add_argument("app_factory", help="module:function building the app in each worker")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--metrics-port", type=int, required=True, help="0: no endpoint")
    args = parser.parse_args(argv)
    if args.metrics_port:
        serve_metrics(args.host, args.metrics_port, Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
    uvicorn.run(
        args.app_factory,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,  # our own access line replaces uvicorn's, which logs query strings
        # JSON from the first line on; the app sets LOG_LEVEL when it starts.
        log_config=str(LOG_CONFIG),
        proxy_headers=False,  # X-Forwarded-For is judged by our own trusted-proxy list
        server_header=False,
        # Requests still running this long after SIGTERM are cancelled: a live event stream
        # would otherwise hold the replica until the orchestrator's SIGKILL (its client
        # resumes from Last-Event-ID elsewhere). Below compose's and swarm's 30 s grace.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


if __name__ == "__main__":
    main()
