"""Driving `wrk` (the Debian package) with the Lua scripts beside this file; reading its result."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
RESULT_MARKER = "WRK_RESULT "


@dataclass(frozen=True)
class LoadResult:
    """What one wrk run measured. Errors are socket errors plus HTTP statuses >= 400."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @classmethod
    def combined(cls, results: list[LoadResult]) -> LoadResult:
        """Several runs of one load as one: requests, time and errors summed, and the runs'
        median p50 and p99 (percentiles of separate runs do not add up)."""
        return cls(
            requests=sum(r.requests for r in results),
            seconds=sum(r.seconds for r in results),
            errors=sum(r.errors for r in results),
            p50_ms=statistics.median(r.p50_ms for r in results),
            p99_ms=statistics.median(r.p99_ms for r in results),
        )


def ensure_wrk() -> str:
    """The wrk binary, installed with apt-get when missing (needs root, like CI here)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("bench: wrk is not installed; install the Debian package `wrk` (needs root)")
    print("bench: installing wrk with apt-get", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, stdout=sys.stderr, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=sys.stderr, check=True)
        subprocess.run(install, env=env, stdout=sys.stderr, check=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("bench: apt-get installed wrk but it is not on PATH")
    return found


def parse_result(output: str) -> LoadResult:
    for line in output.splitlines():
        if line.startswith(RESULT_MARKER):
            raw = json.loads(line.removeprefix(RESULT_MARKER))
            errors = sum(raw[kind] for kind in ("connect", "read", "write", "status", "timeout"))
            return LoadResult(
                requests=raw["requests"],
                seconds=raw["duration_us"] / 1e6,
                errors=errors,
                p50_ms=raw["p50_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
            )
    raise RuntimeError(f"wrk printed no result line:\n{output}")


async def run_wrk(
    wrk: str,
    url: str,
    script: str,
    args: list[str],
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    timeout_seconds: int = 30,
) -> LoadResult:
    """One closed-loop wrk run: `connections` keep-alive connections for `seconds`."""
    command = [
        wrk,
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={timeout_seconds}s",
        f"--script={LUA_DIR / script}",
        url,
        "--",
        *args,
    ]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    stdout, _ = await process.communicate()
    output = stdout.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited {process.returncode}:\n{output}")
    return parse_result(output)
