"""The one table the benchmark prints, with a PASS/MISS verdict per target."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from bench.load import LoadResult


@dataclass(frozen=True)
class Row:
    """One line of the table: a load result and/or a comparison with its target."""

    name: str
    result: LoadResult | None = None
    workers: int | None = None
    connections: int | None = None
    compared: str = ""
    target: str = ""
    passed: bool | None = None
    value: float | None = None  # a number that is not a load (e.g. the JWKS fetch count)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["result"] = None
        if self.result is not None:
            data |= {
                "requests": self.result.requests,
                "rps": self.result.rps,
                "p50_ms": self.result.p50_ms,
                "p99_ms": self.result.p99_ms,
                "errors": self.result.errors,
            }
        return data


HEADERS = ("row", "workers", "conns", "req/s", "p50 ms", "p99 ms", "errors", "compared", "target")


def _number(value: float, digits: int) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def _cells(row: Row) -> tuple[str, ...]:
    result = row.result
    load = (
        (
            _number(result.rps, 0 if result.rps >= 100 else 1),  # bcrypt rows are a few per s
            _number(result.p50_ms, 1),
            _number(result.p99_ms, 1),
        )
        if result
        else ("", "", "")
    )
    verdict = "" if row.passed is None else ("PASS" if row.passed else "MISS")
    return (
        row.name,
        "" if row.workers is None else str(row.workers),
        "" if row.connections is None else str(row.connections),
        *load,
        "" if result is None else str(result.errors),
        row.compared,
        f"{row.target} {verdict}".strip(),
    )


def render(rows: list[Row]) -> str:
    cells = [HEADERS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]
    numeric = {1, 2, 3, 4, 5, 6}

    def line(values: tuple[str, ...]) -> str:
        parts = [
            value.rjust(width) if i in numeric else value.ljust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        ]
        return " | ".join(parts).rstrip()

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(values) for values in cells[1:])])
