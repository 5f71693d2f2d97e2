"""SQL with named parameters for asyncpg, which only takes positional ones (`$1`, `$2`, ...).

A statement is written once with `:name` placeholders and compiled once, at import; binding by
name then puts the values in the order the compiled text numbers them, so adding a column never
shifts another parameter. `::type` casts are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@dataclass(frozen=True, slots=True)
class Statement:
    """A compiled statement: asyncpg's text and the parameter names in `$n` order."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def compile(cls, text: str) -> Statement:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match[1] not in names:
                names.append(match[1])
            return f"${names.index(match[1]) + 1}"

        return cls(_PLACEHOLDER.sub(number, text), tuple(names))

    def bind(self, **values: Any) -> tuple[Any, ...]:
        """`(sql, *args)` for asyncpg's `fetch`/`fetchrow`/`fetchval`; a missing or unknown
        name is a TypeError here rather than a wrong value in the database."""
        if len(values) != len(self.names):
            unknown = sorted(set(values) - set(self.names))
            missing = sorted(set(self.names) - set(values))
            raise TypeError(f"unknown parameters {unknown}, missing {missing}")
        try:
            return (self.sql, *[values[name] for name in self.names])
        except KeyError as exc:
            raise TypeError(f"missing parameter {exc.args[0]!r}") from None
