"""The README's layout section names every tracked file's place, and only places that exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Package markers say nothing a reader of the layout needs.
UNLISTED = {"__init__.py", "py.typed"}


def listed_paths() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"^## Layout\n.*?^```\n(.*?)^```", readme, re.M | re.S)
    assert block is not None, "README.md has no ## Layout code block"
    return [line.split()[0] for line in block.group(1).splitlines() if line.strip()]


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [name for name in out.split("\0") if name and (ROOT / name).exists()]


def test_every_listed_path_exists() -> None:
    missing = [
        path
        for path in listed_paths()
        if not ((ROOT / path).is_dir() if path.endswith("/") else (ROOT / path).is_file())
    ]
    assert missing == []


def test_every_tracked_file_has_its_place() -> None:
    """A file's place is the listed file itself or the listed directory holding it."""
    listed = listed_paths()
    expanded = {
        path.rstrip("/").rsplit("/", 1)[0] + "/" for path in listed if "/" in path.rstrip("/")
    }
    unplaced = []
    for name in tracked_files():
        if any(name == path or (path.endswith("/") and name.startswith(path)) for path in listed):
            continue
        parent = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
        if name.rsplit("/", 1)[-1] in UNLISTED and parent in expanded:
            continue
        unplaced.append(name)
    assert unplaced == []
