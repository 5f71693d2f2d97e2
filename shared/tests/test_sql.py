"""Named parameters compile to asyncpg's positional ones and bind in their order."""

from __future__ import annotations

import pytest

from todo_shared.sql import Statement


def test_names_are_numbered_in_order_of_first_use_and_casts_and_words_are_left_alone() -> None:
    statement = Statement.compile(
        "SELECT :b::text, :a, now() - :ttl::interval WHERE x = :b AND y = 'a:b'"
    )
    assert statement.sql == "SELECT $1::text, $2, now() - $3::interval WHERE x = $1 AND y = 'a:b'"
    assert statement.names == ("b", "a", "ttl")


def test_bind_orders_values_by_name() -> None:
    statement = Statement.compile("UPDATE t SET a = :a, b = :b WHERE id = :id AND a <> :a")
    assert statement.bind(id=7, b="B", a="A") == (
        "UPDATE t SET a = $1, b = $2 WHERE id = $3 AND a <> $1",
        "A",
        "B",
        7,
    )


@pytest.mark.parametrize(
    "values",
    [{"a": 1}, {"a": 1, "b": 2, "c": 3}, {"a": 1, "c": 3}],
    ids=["missing", "extra", "wrong"],
)
def test_a_missing_or_unknown_name_is_refused(values: dict[str, int]) -> None:
    with pytest.raises(TypeError):
        Statement.compile("SELECT :a, :b").bind(**values)
