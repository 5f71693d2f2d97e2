"""Full-text search (`?q=`): words by prefix, ignoring case and accents, in any language; best
matches first; combined with every filter and sort; keyset paged; no input a 500."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

Snapshot = Callable[[], Awaitable[list[Any]]]


async def _create(client: httpx.AsyncClient, user: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/api/{user}/tasks", json=fields)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def _search(client: httpx.AsyncClient, user: str, **params: Any) -> tuple[list[str], int]:
    response = await client.get(f"/api/{user}/tasks", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()], int(response.headers["x-total-count"])


async def _walk(client: httpx.AsyncClient, user: str, **params: Any) -> list[str]:
    """Every title of a list, 2 a page, by cursor."""
    titles: list[str] = []
    query: dict[str, Any] = {"limit": 2, **params}
    while True:
        response = await client.get(f"/api/{user}/tasks", params=query)
        assert response.status_code == 200, response.text
        titles += [task["title"] for task in response.json()]
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            return titles
        query["cursor"] = cursor


WORDS = {
    "groc": ["Groceries for the week"],
    "GROCERIES": ["Groceries for the week"],
    "cafe": ["Café au lait"],
    "CAFÉ": ["Café au lait"],
    "resume": ["Send the letter"],  # "Résumé" is in its description
    "strasse": ["Straße fegen"],
    "straße": ["Straße fegen"],
    "ελληνικα": ["Ελληνικά μαθήματα"],
    "ΜΑΘ": ["Ελληνικά μαθήματα"],
    "куп": ["Купить молоко"],
    "МОЛОКО": ["Купить молоко"],
    "東京": ["東京に行く"],
    "e-mail": ["Answer the e-mail"],
    "mail": ["Answer the e-mail"],
    "week groc": ["Groceries for the week"],  # every word, in any order
    "week milk": [],
    "roceries": [],  # a word's start, not any part of it
}


@pytest.mark.parametrize("q", WORDS)
async def test_words_match_by_prefix_ignoring_case_and_accents_in_any_language(
    as_alice: httpx.AsyncClient, as_bob: httpx.AsyncClient, alice: str, bob: str, q: str
) -> None:
    await _create(as_alice, alice, title="Groceries for the week")
    await _create(as_alice, alice, title="Café au lait")
    await _create(as_alice, alice, title="Send the letter", description="Résumé attached")
    await _create(as_alice, alice, title="Straße fegen")
    await _create(as_alice, alice, title="Ελληνικά μαθήματα")
    await _create(as_alice, alice, title="Купить молоко")
    await _create(as_alice, alice, title="東京に行く")
    await _create(as_alice, alice, title="Answer the e-mail")
    await _create(as_bob, bob, title="Groceries of Bob's, Café, Straße")  # never Alice's
    assert await _search(as_alice, alice, q=q) == (WORDS[q], len(WORDS[q]))


async def test_best_matches_come_first_unless_a_sort_is_asked_for(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    await _create(as_alice, alice, title="Report in the title")
    await _create(as_alice, alice, title="Twice", description="report and report again")
    await _create(as_alice, alice, title="Once", description="the report")
    await _create(as_alice, alice, title="Unrelated")
    ranked = ["Report in the title", "Twice", "Once"]
    assert await _search(as_alice, alice, q="report") == (ranked, 3)
    assert await _search(as_alice, alice, q="report", order="asc") == (ranked[::-1], 3)
    newest = ["Once", "Twice", "Report in the title"]
    assert await _search(as_alice, alice, q="report", sort="created") == (newest, 3)
    assert await _search(as_alice, alice, q="report", sort="created", order="asc") == (
        newest[::-1],
        3,
    )


async def test_q_combines_with_every_filter_and_sort(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    await _create(as_alice, alice, title="milk a", priority=1, labels=["Shop"])
    await _create(as_alice, alice, title="milk b", priority=3, labels=["shop"], completed=True)
    await _create(as_alice, alice, title="milk c", priority=3)
    await _create(as_alice, alice, title="bread", priority=3, labels=["shop"])
    assert await _search(as_alice, alice, q="milk", completed="true") == (["milk b"], 1)
    assert await _search(as_alice, alice, q="milk", completed="false", sort="created") == (
        ["milk c", "milk a"],
        2,
    )
    assert await _search(as_alice, alice, q="milk", priority=3, sort="created") == (
        ["milk c", "milk b"],
        2,
    )
    assert await _search(as_alice, alice, q="milk", label="SHOP", sort="priority") == (
        ["milk b", "milk a"],
        2,
    )
    assert await _search(as_alice, alice, q="mil", sort="updated", order="asc") == (
        ["milk a", "milk b", "milk c"],
        3,
    )
    assert await _search(as_alice, alice, q="nothing", priority=3) == ([], 0)


async def test_ranked_pages_by_cursor_without_duplicates_or_gaps_while_tasks_arrive(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    for n in range(9):
        # Three ranks (title, description, both), three tasks each: ties by newest first.
        body = [
            {"title": f"plan {n}"},
            {"title": f"t{n}", "description": "plan"},
            {"title": f"plan {n}", "description": "plan"},
        ][n % 3]
        await _create(as_alice, alice, **body)
    expected, total = await _search(as_alice, alice, q="plan")
    assert total == 9
    walked: list[str] = []
    query: dict[str, Any] = {"q": "plan", "limit": 2}
    arrived = 0
    while True:
        response = await as_alice.get(f"/api/{alice}/tasks", params=query)
        assert response.status_code == 200, response.text
        assert int(response.headers["x-total-count"]) == 9 + arrived
        walked += [task["title"] for task in response.json()]
        # New matches of every rank land between pages: behind the cursor or before it.
        await _create(as_alice, alice, title=f"new plan {arrived}", description="plan")
        await _create(as_alice, alice, title=f"new t{arrived}", description="plan")
        arrived += 2
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            break
        query["cursor"] = cursor
    originals = [title for title in walked if not title.startswith("new")]
    assert originals == expected
    assert len(walked) == len(set(walked))


async def test_a_cursor_of_the_ranked_order_is_only_for_the_ranked_order(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    for n in range(3):
        await _create(as_alice, alice, title=f"plan {n}")
    ranked = await as_alice.get(f"/api/{alice}/tasks", params={"q": "plan", "limit": 1})
    created = await as_alice.get(f"/api/{alice}/tasks", params={"limit": 1})
    for cursor, params in (
        (ranked.headers["x-next-cursor"], {}),
        (ranked.headers["x-next-cursor"], {"q": "plan", "sort": "created"}),
        (ranked.headers["x-next-cursor"], {"q": "plan", "order": "asc"}),
        (created.headers["x-next-cursor"], {"q": "plan"}),
    ):
        refused = await as_alice.get(f"/api/{alice}/tasks", params={"cursor": cursor, **params})
        assert refused.status_code == 400, params
        assert refused.json()["detail"][0]["loc"] == ["query", "cursor"]
    resumed = await as_alice.get(
        f"/api/{alice}/tasks", params={"q": "plan", "cursor": ranked.headers["x-next-cursor"]}
    )
    assert resumed.status_code == 200
    assert len(resumed.json()) == 2


async def test_a_blank_q_is_no_filter_and_one_without_words_matches_nothing(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    await _create(as_alice, alice, title="older")
    await _create(as_alice, alice, title="newer")
    for blank in ("", " ", "\t\n"):
        assert await _search(as_alice, alice, q=blank) == (["newer", "older"], 2)
    for wordless in ("!!!", "?", "-", "😀", "'&|!:*()\\"):
        assert await _search(as_alice, alice, q=wordless) == ([], 0)


async def test_q_of_200_characters_is_searched_and_201_is_a_400_naming_q(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    await _create(as_alice, alice, title="x" * 200)
    assert await _search(as_alice, alice, q="x" * 200) == (["x" * 200], 1)
    assert await _search(as_alice, alice, q="é" * 200) == ([], 0)
    refused = await as_alice.get(f"/api/{alice}/tasks", params={"q": "x" * 201})
    assert refused.status_code == 400
    assert refused.json()["detail"][0]["loc"] == ["query", "q"]


NASTY = [
    "'",
    "''",
    "it's",
    "&",
    "a & b",
    "|",
    "a | b",
    "!a",
    "a:*",
    ":*",
    "(a",
    "a)",
    "\\",
    "a\\",
    "\\'",
    "<->",
    "a <-> b",
    "a:A",
    "'a':*",
    '"quoted"',
    "%",
    "_",
    "$1",
    ":q",
    "OR AND NOT",
    "-a",
    "😀 groc",
    "🇩🇪",
    "\u200b",
    "\ufeffgroc",
    "\u0301",
    "ﬁ",
    "x" * 199 + "'",
    "a " * 100,
    "groc" * 50,
]


@pytest.mark.parametrize("q", NASTY)
async def test_no_text_is_query_syntax_and_nothing_changes(
    as_alice: httpx.AsyncClient, alice: str, snapshot: Snapshot, q: str
) -> None:
    await _create(as_alice, alice, title="Groceries, it's a & b")
    before = await snapshot()
    for params in ({"q": q}, {"q": q, "sort": "priority"}, {"q": q, "label": "x"}):
        response = await as_alice.get(f"/api/{alice}/tasks", params=params)
        assert response.status_code == 200, (q, response.text)
    assert await snapshot() == before


async def test_nul_in_q_is_a_400(as_alice: httpx.AsyncClient, alice: str) -> None:
    response = await as_alice.get(f"/api/{alice}/tasks", params={"q": "a\u0000b"})
    assert response.status_code == 400


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(q=st.text(st.characters(exclude_categories=["Cs"]), max_size=200))
async def test_any_text_up_to_200_characters_is_a_200_or_a_400(
    as_alice: httpx.AsyncClient, alice: str, q: str
) -> None:
    response = await as_alice.get(f"/api/{alice}/tasks", params={"q": q, "limit": 5})
    assert response.status_code in (200, 400), (q, response.text)
    if response.status_code == 400:
        assert "\u0000" in q, q
