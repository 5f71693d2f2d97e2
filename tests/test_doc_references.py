"""What the docs point at exists: test files and tests they cite, files and headings they link.

A renamed test or a moved section otherwise leaves prose that sends the reader nowhere.
"""

from __future__ import annotations

import io
import re
import subprocess
import tokenize
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".md", ".py", ".sh", ".toml", ".yml", ".yaml", ".ts", ".tsx", ".mjs", ".conf"}
# A test file as prose names it: `tests/e2e/test_browser.py`, or a bare `test_openapi.py`.
TEST_FILE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*test_\w+\.py)")
# A test as prose names it: `test_bad_input_is_400_and_changes_nothing` (not a `.py` file).
TEST_NAME = re.compile(r"(?<![\w.])(test_\w+)\b(?!\.py)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@cache
def tracked() -> tuple[Path, ...]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return tuple(ROOT / name for name in out.split("\0") if name and (ROOT / name).is_file())


def text_files(*suffixes: str) -> list[Path]:
    return [path for path in tracked() if path.suffix in (set(suffixes) or TEXT_SUFFIXES)]


@cache
def defined_tests() -> frozenset[str]:
    names: set[str] = set()
    for path in text_files(".py"):
        names.update(re.findall(r"def (test_\w+)", path.read_text()))
        names.add(path.stem)
    return frozenset(names)


def prose(path: Path) -> str:
    """The words of a file meant for readers: all of a markdown file, a program's comments
    and strings (identifiers that merely start with `test_` are code, not citations)."""
    text = path.read_text()
    if path.suffix != ".py":
        return text
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    kinds = {tokenize.COMMENT, tokenize.STRING}
    return "\n".join(token.string for token in tokens if token.type in kinds)


def test_every_cited_test_file_exists() -> None:
    basenames = {path.name for path in tracked()}
    missing = []
    for path in text_files():
        for cited in TEST_FILE.findall(path.read_text()):
            found = (ROOT / cited).is_file() if "/" in cited else cited in basenames
            if not found:
                missing.append(f"{path.relative_to(ROOT)}: {cited}")
    assert missing == []


def test_every_cited_test_exists() -> None:
    missing = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in text_files(".md", ".py")
        for name in TEST_NAME.findall(prose(path))
        if name not in defined_tests()
    ]
    assert missing == []


def heading_anchors(markdown: Path) -> set[str]:
    """GitHub's anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+\s+(.*)$", FENCE.sub("", markdown.read_text()), re.M)
    return {re.sub(r"[^\w\- ]", "", title).strip().lower().replace(" ", "-") for title in headings}


def test_relative_links_in_markdown_resolve() -> None:
    broken = []
    for page in text_files(".md"):
        text = INLINE_CODE.sub("", FENCE.sub("", page.read_text()))
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (page.parent / file_part).resolve() if file_part else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def test_the_checks_see_a_broken_reference() -> None:
    """The patterns match what the docs write, so a stale citation cannot slip past. (The
    made-up name is assembled, so that this file does not cite it.)"""
    gone = "test" + "_gone"
    assert TEST_FILE.findall(f"see tests/e2e/{gone}.py") == [f"tests/e2e/{gone}.py"]
    assert TEST_NAME.findall(f"`{gone}_away` and {gone}.py") == [f"{gone}_away"]
    assert f"{gone}_away" not in defined_tests()
    assert LINK.findall("[the table](docs/configuration.md#the-services)") == [
        "docs/configuration.md#the-services"
    ]
    assert "the-services" in heading_anchors(ROOT / "docs" / "configuration.md")
