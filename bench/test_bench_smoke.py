"""The benchmark's smoke mode, so it never rots: every row measures something, without errors.

Speed is never asserted here; the full run and its targets live in `python -m bench`.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LOAD_ROWS = {
    "GET list ?limit=20",
    "  ceiling GET list",
    "GET list during signup storm",
    "  the signup storm beside it",
    "GET one",
    "POST create",
    "  ceiling POST create",
    "PATCH title+completed",
    "  ceiling PATCH",
    "PATCH complete",
    "POST signup (hashes/s = req/s)",
    "POST login (hashes/s = req/s)",
    "GET list through nginx",
    "  direct, alternating with it",
    "200-task user: first page",
    "200-task user: last page by offset",
    "200-task user: completed=true page",
    "200-task user: last page by cursor",
    "200-task user: first page, sort=updated",
    "200-task user: first page, sort=priority",
    "200-task user: first page, sort=position",
    "POST move (to the top of its list)",
    "search ?q=groc, 200-task user",
    "search ?q=groc, 5-task users",
    "change feed page after 1,000 changes",
    "  after 100 changes, alternating",
    "live fan-out to the other replica",
    "  to the replica that took the write",
}


def test_smoke_run_measures_every_row_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    rows = {row["name"]: row for row in json.loads(out.read_text())["rows"]}

    assert rows.keys() >= LOAD_ROWS
    for name in LOAD_ROWS:
        row = rows[name]
        assert row["requests"] > 0, name
        assert row["errors"] == 0, name
        for number in ("rps", "p50_ms", "p99_ms"):
            assert math.isfinite(row[number]), (name, number)
            assert row[number] > 0, (name, number)
    # Every write reached every stream of its user on both replicas (errors counts the
    # events that never came), and the memory the streams hold was read.
    assert math.isfinite(rows["live fan-out to the other replica"]["value"])
    # The tasks service fetched the JWKS at least once, and the count reached the table.
    assert rows["JWKS fetches, whole run"]["value"] >= 1
    assert "GET list ?limit=20" in completed.stdout
