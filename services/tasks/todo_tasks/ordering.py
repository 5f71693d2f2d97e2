"""Keys for an order set by hand: strings that sort byte by byte, with room between any two.

Placing an item between two others writes only the item: it takes a key between theirs
(`key_between`). Keys only grow when the same gap is split again and again; past `MAX_KEY`
characters the caller spreads the keys of a run of neighbours evenly instead (`spread`).
Digits are 0-9A-Za-z, in byte order; no key ends in "0", so there is always room before one.
"""

from __future__ import annotations

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Longer keys than this are spread anew; the longest a key can then be is this plus the few
# digits one split adds, well under the 64 bytes promised.
MAX_KEY = 48
KEY_PATTERN = "[0-9A-Za-z]{1,64}"


def key_between(low: str, high: str | None) -> str:
    """A key strictly after `low` ("" for the start) and before `high` (None for the end).

    `low < high` is required (equal keys have nothing between them: spread them first).
    """
    if high is not None:
        if low >= high:
            raise ValueError(f"no key between {low!r} and {high!r}")
        shared = 0
        while shared < len(high) and (low[shared] if shared < len(low) else "0") == high[shared]:
            shared += 1
        if shared:
            return high[:shared] + key_between(low[shared:], high[shared:])
    first = DIGITS.index(low[0]) if low else 0
    last = DIGITS.index(high[0]) if high is not None else len(DIGITS)
    if last - first > 1:
        return DIGITS[(first + last) // 2]
    if high is not None and len(high) > 1:
        return high[0]
    return DIGITS[first] + key_between(low[1:], None)


def spread(low: str, high: str | None, count: int) -> list[str]:
    """`count` increasing keys between `low` and `high`, as short as that gap allows: each
    halving of the gap costs a digit at most, so the keys are at most about log2(count)
    digits longer than the bounds' common prefix."""
    if count == 0:
        return []
    middle = count // 2
    key = key_between(low, high)
    return [*spread(low, key, middle), key, *spread(key, high, count - middle - 1)]
