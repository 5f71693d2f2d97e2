"""The web app as a person uses it: Debian's Chromium, driven by Playwright, through the proxy.

Chromium comes from Debian (`apt-get install chromium`; scripts/test.sh installs it), never from
Playwright's own download. axe-core is the front end's dev dependency (`npm ci` in frontend/).
The signed-in page's screenshot is saved under ARTIFACTS_DIR (default: test-artifacts/) and its
path printed; UPDATE_README_SCREENSHOT=1 also writes docs/screenshot.png.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    Page,
    Request,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.e2e.stack import PASSWORD, ROOT, Stack, wait_until

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR") or ROOT / "test-artifacts")
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1024, "height": 800}
# The page's own alerts (Next.js keeps an empty one of its own for route announcements).
ALERTS = "[role=alert]:not(#__next-route-announcer__)"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def _origin(stack: Stack) -> str:
    return str(stack.client.base_url).rstrip("/")


def _open(browser: Browser, stack: Stack, viewport: ViewportSize = PHONE) -> Page:
    context = browser.new_context(base_url=_origin(stack), viewport=viewport)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/")
    return page


def _email() -> str:
    return f"web-{uuid.uuid4().hex[:12]}@example.com"


def _sign_up(page: Page, email: str) -> None:
    page.get_by_role("button", name="Create an account").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create an account").click()
    expect(page.get_by_role("heading", name="Add a task")).to_be_visible()


def _sign_in(page: Page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Add a task")).to_be_visible()


def _add(page: Page, title: str, description: str = "") -> None:
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Description (optional)").fill(description)
    page.get_by_role("button", name="Add task").click()
    expect(page.get_by_role("checkbox", name=title, exact=True)).to_be_visible()
    expect(page.get_by_label("Title", exact=True)).to_have_value("")  # ready for the next


def _expect_titles(page: Page, titles: list[str]) -> None:
    """The list shows exactly these tasks, in this order (waiting for it to load)."""
    expect(page.locator(".tasks .title")).to_have_text(titles)


def _counts(page: Page, all_: int, active: int, completed: int) -> None:
    for label, count in (("All", all_), ("Active", active), ("Completed", completed)):
        expect(page.get_by_role("button", name=f"{label} {count}", exact=True)).to_be_visible()


def _session_user_id(page: Page) -> str:
    user_id: str = page.evaluate(
        "fetch('/auth/get-session').then((r) => r.json()).then((s) => s.user.id)"
    )
    return user_id


EVENTS = re.compile(r"/api/[^/]+/events$")


def _api(page: Page) -> httpx.Client:
    """The service as another device of the page's user sees it (straight, not through it)."""
    origin = page.evaluate("window.location.origin")
    return httpx.Client(base_url=origin, headers={"Authorization": f"Bearer {_token(page)}"})


def _task_id(page: Page, title: str) -> int:
    return int(page.locator(".task", has_text=title).first.get_attribute("data-task-id") or 0)


def _token(page: Page) -> str:
    token: str = page.evaluate("fetch('/auth/token').then((r) => r.json()).then((t) => t.token)")
    return token


def test_journey_sign_up_manage_tasks_sign_out_and_back_in(browser: Browser, stack: Stack) -> None:
    page = _open(browser, stack)
    email = _email()
    _sign_up(page, email)
    expect(page.get_by_text("No tasks yet")).to_be_visible()
    _counts(page, 0, 0, 0)

    # A blank title is the API's 400: the field says why, once (no banner repeats it), in
    # words a person reads, and nothing is added.
    page.get_by_role("button", name="Add task").click()
    expect(page.locator("#new-title-error")).to_have_text("Title must not be empty")
    expect(page.locator(ALERTS)).to_have_count(1)
    expect(page.locator(".error.banner")).to_have_count(0)
    _counts(page, 0, 0, 0)

    _add(page, "Buy milk")
    _add(page, "Write report", "Quarterly numbers")
    # By keyboard alone: type the title, Enter submits.
    page.get_by_label("Title", exact=True).focus()
    page.keyboard.type("Call the plumber")
    page.keyboard.press("Enter")
    expect(page.get_by_role("checkbox", name="Call the plumber")).to_be_visible()
    _expect_titles(page, ["Call the plumber", "Write report", "Buy milk"])  # newest first
    expect(page.get_by_text("Quarterly numbers")).to_be_visible()
    _counts(page, 3, 3, 0)

    # Complete one with the space bar.
    page.get_by_role("checkbox", name="Buy milk").focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("checkbox", name="Buy milk")).to_be_checked()
    _counts(page, 3, 2, 1)

    page.get_by_role("button", name="Completed 1").click()
    expect(page.get_by_role("list", name="Completed tasks")).to_be_visible()
    _expect_titles(page, ["Buy milk"])
    page.get_by_role("button", name="Active 2").click()
    expect(page.get_by_role("list", name="Active tasks")).to_be_visible()
    _expect_titles(page, ["Call the plumber", "Write report"])
    page.get_by_role("button", name="All 3").click()
    expect(page.get_by_role("list", name="All tasks")).to_be_visible()

    # Edit in place; Escape cancels an edit, Save keeps it and focus returns to Edit.
    page.get_by_role("button", name="Edit “Write report”").click()
    expect(page.get_by_label("Title", exact=True).nth(1)).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Edit “Write report”")).to_be_focused()
    page.get_by_role("button", name="Edit “Write report”").click()
    page.get_by_label("Title", exact=True).nth(1).fill("Write the report")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("button", name="Edit “Write the report”")).to_be_focused()

    page.get_by_role("button", name="Delete “Call the plumber”").click()
    expect(page.get_by_role("checkbox", name="Call the plumber")).to_have_count(0)
    _counts(page, 2, 1, 1)

    # Readable on a phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("checkbox")).to_have_count(0)

    _sign_in(page, email)
    _expect_titles(page, ["Write the report", "Buy milk"])
    expect(page.get_by_role("checkbox", name="Buy milk")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Write the report")).not_to_be_checked()
    page.context.close()


def test_signing_out_ends_that_sessions_jwts_at_the_tasks_service(
    browser: Browser, stack: Stack
) -> None:
    """Better Auth's JWTs carry their session's `sid`; signing out in one browser ends that
    session's tokens (published through Redis), while the same user's other session goes on."""
    email = _email()
    page = _open(browser, stack)
    _sign_up(page, email)
    other = _open(browser, stack)
    _sign_in(other, email)
    path = f"/api/{_session_user_id(page)}/tasks"
    token, other_token = _token(page), _token(other)
    with httpx.Client(base_url=_origin(stack)) as api:

        def status(bearer: str) -> int:
            return api.get(path, headers={"Authorization": f"Bearer {bearer}"}).status_code

        assert (status(token), status(other_token)) == (200, 200)  # remembered by the verifier

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()

        # Within the verifier's second (the message usually arrives first); not timed here.
        wait_until(lambda: status(token) == 401, timeout=5, what="the signed-out JWT refused")
        assert status(other_token) == 200
    page.context.close()
    other.context.close()


def test_a_second_user_sees_none_of_the_first_users_tasks(browser: Browser, stack: Stack) -> None:
    first = _open(browser, stack)
    _sign_up(first, _email())
    _add(first, "First user's secret")
    first_id = _session_user_id(first)

    second = _open(browser, stack)
    _sign_up(second, _email())
    expect(second.get_by_text("No tasks yet")).to_be_visible()
    _counts(second, 0, 0, 0)

    # The second user's own token, sent to the first user's path, is refused.
    refused = stack.client.get(
        f"/api/{first_id}/tasks", headers={"Authorization": f"Bearer {_token(second)}"}
    )
    assert refused.status_code == 403
    allowed = stack.client.get(
        f"/api/{first_id}/tasks", headers={"Authorization": f"Bearer {_token(first)}"}
    )
    assert [task["title"] for task in allowed.json()] == ["First user's secret"]
    first.context.close()
    second.context.close()


def test_a_token_past_its_lifetime_is_renewed_without_the_user_noticing(
    browser: Browser, stack: Stack
) -> None:
    context = browser.new_context(base_url=_origin(stack), viewport=PHONE)
    page = context.new_page()
    page.clock.install()
    page.goto("/")
    _sign_up(page, _email())
    _add(page, "Before the token expired")
    token_requests: list[Request] = []
    page.on("request", lambda r: token_requests.append(r) if "/auth/token" in r.url else None)

    page.clock.fast_forward("16:00")  # past the 15-minute lifetime, by the page's clock
    _add(page, "After the token expired")
    assert len(token_requests) == 1  # renewed once, before the request went out
    expect(page.locator(ALERTS)).to_have_count(0)
    _counts(page, 2, 2, 0)
    context.close()


def test_a_token_the_tasks_service_refuses_is_renewed_and_the_request_retried(
    browser: Browser, stack: Stack
) -> None:
    page = _open(browser, stack)
    _sign_up(page, _email())
    _add(page, "Still here")
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if "/tasks" in r.url else None)
    token_requests: list[Request] = []
    page.on("request", lambda r: token_requests.append(r) if "/auth/token" in r.url else None)
    spoiled: list[str] = []

    def spoil_the_first_token(route: Route) -> None:
        """The held token stops working (as after expiry or a key the service no longer has)."""
        headers = dict(route.request.headers)
        if not spoiled:
            token = headers["authorization"].removeprefix("Bearer ")
            head, payload, signature = token.split(".")
            stale = f"{head}.{payload}.{'A' * len(signature)}"
            spoiled.append(stale)
            headers["authorization"] = f"Bearer {stale}"
        route.continue_(headers=headers)

    page.route(re.compile(r"/api/[^/]+/tasks"), spoil_the_first_token)
    page.get_by_role("button", name=re.compile(r"^Active")).click()
    expect(page.get_by_role("list", name="Active tasks")).to_be_visible()
    _expect_titles(page, ["Still here"])
    expect(page.locator(ALERTS)).to_have_count(0)
    assert 401 in statuses
    assert len(token_requests) == 1
    # The spoiled token really is refused: the retry is what saved the request.
    refused = httpx.get(
        f"{_origin(stack)}/api/{_session_user_id(page)}/tasks",
        headers={"Authorization": f"Bearer {spoiled[0]}"},
    )
    assert refused.status_code == 401
    page.context.close()


def _serious_violations(page: Page) -> list[tuple[object, object, object]]:
    """axe-core's serious and critical findings on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` in frontend/", pytrace=False)
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations: list[dict[str, object]] = page.evaluate(
        "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)"
    )
    return [
        (v["id"], v["impact"], v["help"])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def test_the_signed_in_page_has_no_serious_accessibility_violation(
    browser: Browser, stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    page = _open(browser, stack, DESKTOP)
    _sign_up(page, _email())
    _add(page, "Water the plants", "Balcony and kitchen")
    _add(page, "Book dentist appointment")
    _add(page, "Renew passport", "Photos first")
    page.get_by_role("checkbox", name="Water the plants").click()  # checked once the API agrees
    expect(page.get_by_role("checkbox", name="Water the plants")).to_be_checked()
    _counts(page, 3, 2, 1)

    assert _serious_violations(page) == []

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "signed-in.png"
    page.screenshot(path=str(shot), full_page=True)
    with capsys.disabled():  # shown in CI's log even though the test passes
        print(f"\nscreenshot of the signed-in page: {shot}")
    if os.environ.get("UPDATE_README_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "screenshot.png")
    page.context.close()


def test_overload_and_outage_answers_say_when_to_retry(browser: Browser, stack: Stack) -> None:
    """429 and 503 (as the services and the proxy send them, with Retry-After) become a
    message saying when to try again, and nothing else changes. A 503 may come from a replica
    that died mid-request, so the create is sent once more first, with the same key."""
    page = _open(browser, stack)
    _sign_up(page, _email())
    _add(page, "Kept")
    answers = iter([(429, "7", "too many requests")] + [(503, "5", "service unavailable")] * 2)
    keys: list[str] = []

    def refuse(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        keys.append(route.request.headers["idempotency-key"])
        status, retry_after, detail = next(answers)
        route.fulfill(
            status=status,
            headers={"Retry-After": retry_after, "Content-Type": "application/json"},
            body=f'{{"detail": "{detail}"}}',
        )

    page.route(re.compile(r"/api/[^/]+/tasks$"), refuse)
    page.get_by_label("Title", exact=True).fill("Refused")
    page.get_by_role("button", name="Add task").click()
    expect(page.locator(ALERTS)).to_contain_text("Too many requests. Try again in 7 seconds.")
    page.get_by_role("button", name="Add task").click()
    expect(page.locator(ALERTS)).to_contain_text("temporarily unavailable. Try again in 5 seconds.")
    expect(page.get_by_label("Title", exact=True)).to_have_value("Refused")  # nothing lost
    _expect_titles(page, ["Kept"])
    assert len(keys) == 3  # the 429 was not retried, the 503 once
    assert keys[1] == keys[2] != keys[0]
    page.context.close()


def test_a_create_whose_answer_was_lost_is_retried_and_makes_one_task(
    browser: Browser, stack: Stack
) -> None:
    """The service creates the task but its answer never arrives (a 502: the replica died);
    the page sends the create again with the same Idempotency-Key and shows the one task."""
    page = _open(browser, stack)
    _sign_up(page, _email())
    sent: list[tuple[str, int, str | None]] = []

    def lose_the_first_answer(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        answer = route.fetch()  # reaches the service, which creates the task
        replayed = answer.headers.get("idempotent-replayed")
        sent.append((route.request.headers["idempotency-key"], answer.status, replayed))
        if len(sent) == 1:
            route.fulfill(status=502, json={"detail": "bad gateway"})
        else:
            route.fulfill(response=answer)

    page.route(re.compile(r"/api/[^/]+/tasks$"), lose_the_first_answer)
    _add(page, "Buy milk")
    _add(page, "Buy bread")
    _expect_titles(page, ["Buy bread", "Buy milk"])
    expect(page.locator(ALERTS)).to_have_count(0)
    _counts(page, 2, 2, 0)
    # The retry created nothing: it answered the lost attempt's task.
    assert [answer[1:] for answer in sent] == [(201, None), (201, "true"), (201, None)]
    assert sent[0][0] == sent[1][0] != sent[2][0]  # a key per task the person added
    listed = httpx.get(
        f"{_origin(stack)}/api/{_session_user_id(page)}/tasks",
        headers={"Authorization": f"Bearer {_token(page)}"},
    )
    assert [task["title"] for task in listed.json()] == ["Buy bread", "Buy milk"]
    page.context.close()


def test_a_task_deleted_in_another_tab_leaves_this_one_when_it_is_touched(
    browser: Browser, stack: Stack
) -> None:
    """Without the live stream (blocked here), the other tab's delete is news only when this
    tab acts on the task: then the page says so and drops it, counts included."""
    page = _open(browser, stack, DESKTOP)
    page.route(EVENTS, lambda route: route.abort())
    email = _email()
    _sign_up(page, email)
    _add(page, "Stays")
    _add(page, "Gone elsewhere")
    other = _open(browser, stack)
    _sign_in(other, email)
    _expect_titles(other, ["Gone elsewhere", "Stays"])
    other.get_by_role("button", name="Delete “Gone elsewhere”").click()
    _expect_titles(other, ["Stays"])

    page.get_by_role("checkbox", name="Gone elsewhere", exact=True).click()
    expect(page.locator(".error.banner")).to_contain_text("That task no longer exists.")
    _expect_titles(page, ["Stays"])
    _counts(page, 1, 1, 0)
    other.context.close()
    page.context.close()


def test_keyboard_focus_stays_on_the_list_through_sign_in_a_toggle_and_a_delete(
    browser: Browser, stack: Stack
) -> None:
    """Focus never falls to the page body: after signing in it is at "Add a task", after a
    toggle on the toggled box, after a delete or a task leaving the filter on its neighbour."""
    page = _open(browser, stack)
    email = _email()
    _sign_up(page, email)
    expect(page.get_by_role("heading", name="Add a task")).to_be_focused()
    for title in ("First", "Second", "Third"):
        _add(page, title)

    third = page.get_by_role("checkbox", name="Third", exact=True)
    third.focus()
    page.keyboard.press("Space")
    expect(third).to_be_checked()
    expect(third).to_be_focused()
    # The stream may show the change before the toggle's own answer ends it: Delete waits.
    delete = page.get_by_role("button", name="Delete “Third”")
    expect(delete).not_to_have_attribute("aria-disabled", "true")

    delete.focus()
    page.keyboard.press("Enter")
    _expect_titles(page, ["Second", "First"])
    expect(page.get_by_role("checkbox", name="Second", exact=True)).to_be_focused()

    page.get_by_role("button", name="Active 2", exact=True).click()
    second = page.get_by_role("checkbox", name="Second", exact=True)
    second.focus()
    page.keyboard.press("Space")  # completed: it leaves the Active view
    _expect_titles(page, ["First"])
    expect(page.get_by_role("checkbox", name="First", exact=True)).to_be_focused()
    page.context.close()


def test_the_docs_page_shows_each_document_with_its_own_schemas(
    browser: Browser, stack: Stack
) -> None:
    """One document at a time, chosen by a link: the auth API's schemas are its own."""
    page = _open(browser, stack, DESKTOP)
    page.goto("/api/docs")
    schemas = page.locator("section.models .json-schema-2020-12__title")
    expect(page.get_by_role("link", name="Tasks API")).to_have_attribute("aria-current", "page")
    expect(schemas.filter(has_text=re.compile(r"^TaskPublic$"))).to_have_count(1)
    page.get_by_role("link", name="Auth API").click()
    expect(page.get_by_role("link", name="Auth API")).to_have_attribute("aria-current", "page")
    expect(schemas.filter(has_text=re.compile(r"^UserCreate$"))).to_have_count(1)
    expect(page.locator(".opblock-summary-path").first).to_have_text("/api/auth/signup")
    expect(schemas.filter(has_text="Task")).to_have_count(0)
    page.context.close()


def test_reloading_during_an_outage_says_so_and_carries_on_by_itself(
    browser: Browser, stack: Stack
) -> None:
    """Better Auth answers 500 while its database is down: the page says the service is
    unavailable (not a sign-in form), and once it answers again the tasks are back unasked."""
    page = _open(browser, stack)
    _sign_up(page, _email())
    _add(page, "Survives the outage")
    outage = re.compile(r"/auth/get-session")
    page.route(outage, lambda route: route.fulfill(status=500, json={"message": "db down"}))
    page.reload()
    expect(page.get_by_role("heading", name=re.compile(r"reach Todo right now"))).to_be_visible()
    expect(page.locator(ALERTS)).to_contain_text("temporarily unavailable")
    expect(page.get_by_role("heading", name="Sign in")).to_have_count(0)
    page.unroute(outage)
    _expect_titles(page, ["Survives the outage"])
    expect(page.locator(ALERTS)).to_have_count(0)
    page.context.close()


def _refuse_listing(route: Route) -> None:
    """The tasks service is down for reads (as a replica answers with its database gone)."""
    if route.request.method != "GET":
        route.continue_()
        return
    route.fulfill(
        status=503,
        headers={"Retry-After": "1", "Content-Type": "application/json"},
        body='{"detail": "service unavailable"}',
    )


def test_a_list_that_failed_to_load_comes_back_by_itself(browser: Browser, stack: Stack) -> None:
    page = _open(browser, stack)
    _sign_up(page, _email())
    _add(page, "Still mine")
    listing = re.compile(r"/api/[^/]+/tasks(\?|$)")
    page.route(listing, _refuse_listing)
    page.reload()
    expect(page.locator(ALERTS)).to_contain_text("Couldn't load your tasks.")
    page.unroute(listing)
    _expect_titles(page, ["Still mine"])
    expect(page.locator(ALERTS)).to_have_count(0)
    _counts(page, 1, 1, 0)
    page.context.close()


def test_an_outage_banner_goes_by_itself_once_the_service_answers(
    browser: Browser, stack: Stack
) -> None:
    page = _open(browser, stack)
    _sign_up(page, _email())
    _add(page, "Before")
    creating = re.compile(r"/api/[^/]+/tasks$")
    page.route(
        creating,
        lambda route: (
            route.fulfill(status=503, json={"detail": "service unavailable"})
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    page.get_by_label("Title", exact=True).fill("After")
    page.get_by_role("button", name="Add task").click()
    expect(page.locator(".error.banner")).to_contain_text("temporarily unavailable")
    page.unroute(creating)
    expect(page.locator(".error.banner")).to_have_count(0)  # the page's own check ended it
    expect(page.get_by_label("Title", exact=True)).to_have_value("After")  # nothing lost
    page.get_by_role("button", name="Add task").click()
    _expect_titles(page, ["After", "Before"])
    page.context.close()


def test_a_filter_switch_that_fails_keeps_the_list_and_the_filter_it_shows(
    browser: Browser, stack: Stack
) -> None:
    page = _open(browser, stack)
    _sign_up(page, _email())
    _add(page, "Open")
    _add(page, "Done")
    page.get_by_role("checkbox", name="Done", exact=True).click()
    expect(page.get_by_role("checkbox", name="Done", exact=True)).to_be_checked()
    _counts(page, 2, 1, 1)
    completed = re.compile(r"/api/[^/]+/tasks\?.*completed=true")

    def refuse_the_completed_list(route: Route) -> None:
        if "limit=1&" in route.request.url or route.request.url.endswith("limit=1"):
            route.continue_()  # the counts still load
        else:
            _refuse_listing(route)

    page.route(completed, refuse_the_completed_list)
    page.get_by_role("button", name="Completed 1", exact=True).click()
    expect(page.locator(ALERTS)).to_contain_text("Couldn't show the completed tasks.")
    expect(page.get_by_role("button", name="All 2", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.get_by_role("button", name="Completed 1", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(page.get_by_role("list", name="All tasks")).to_be_visible()
    _expect_titles(page, ["Done", "Open"])
    page.unroute(completed)
    page.get_by_role("button", name="Completed 1", exact=True).click()
    expect(page.get_by_role("list", name="Completed tasks")).to_be_visible()
    _expect_titles(page, ["Done"])
    page.context.close()


def test_a_filter_shown_before_comes_back_at_once_with_the_pages_it_had(
    browser: Browser, stack: Stack
) -> None:
    page = _open(browser, stack, DESKTOP)
    _sign_up(page, _email())
    user_id = _session_user_id(page)
    headers = {"Authorization": f"Bearer {_token(page)}"}
    titles = [f"Task {n:02}" for n in range(25)]
    for title in titles:
        made = httpx.post(
            f"{_origin(stack)}/api/{user_id}/tasks", json={"title": title}, headers=headers
        )
        assert made.status_code == 201
    page.reload()
    expect(page.locator(".tasks .title")).to_have_count(20)
    page.get_by_role("button", name="Load more (5 left)").click()
    _expect_titles(page, titles[::-1])

    loading: list[str] = []
    page.on("request", lambda r: loading.append(r.url) if "/tasks?" in r.url else None)
    page.get_by_role("button", name="Active 25", exact=True).click()
    expect(page.get_by_role("list", name="Active tasks")).to_be_visible()
    page.get_by_role("button", name="All 25", exact=True).click()
    expect(page.get_by_role("list", name="All tasks")).to_be_visible()
    _expect_titles(page, titles[::-1])  # both pages, without "Load more" again
    expect(page.get_by_text("Loading tasks…")).to_have_count(0)
    assert any("completed=false" in url for url in loading)  # Active was loaded, not made up
    page.context.close()


def test_a_change_in_one_tab_shows_in_the_other_without_a_reload(
    browser: Browser, stack: Stack
) -> None:
    """Two tabs of one person: whatever one adds, edits, completes or deletes, the other
    shows by itself (its event stream), counts included, and never reloads."""
    laptop = _open(browser, stack, DESKTOP)
    email = _email()
    _sign_up(laptop, email)
    _add(laptop, "Already there")
    phone = _open(browser, stack)
    _sign_in(phone, email)
    _expect_titles(phone, ["Already there"])
    expect(phone.locator("[data-live=live]")).to_have_count(1)
    phone.evaluate("window.notReloaded = true")

    _add(laptop, "Made on the laptop")
    _expect_titles(phone, ["Made on the laptop", "Already there"])
    laptop.get_by_role("checkbox", name="Already there", exact=True).click()
    expect(phone.get_by_role("checkbox", name="Already there", exact=True)).to_be_checked()
    _counts(phone, 2, 1, 1)
    laptop.get_by_role("button", name="Edit “Made on the laptop”").click()
    laptop.get_by_label("Title", exact=True).last.fill("Renamed on the laptop")
    laptop.get_by_role("button", name="Save").click()
    _expect_titles(phone, ["Renamed on the laptop", "Already there"])
    laptop.get_by_role("button", name="Delete “Already there”").click()
    _expect_titles(phone, ["Renamed on the laptop"])
    _counts(phone, 1, 1, 0)

    _add(phone, "Made on the phone")  # and the other way round
    _expect_titles(laptop, ["Made on the phone", "Renamed on the laptop"])
    assert phone.evaluate("window.notReloaded") is True
    expect(phone.locator(ALERTS)).to_have_count(0)
    laptop.context.close()
    phone.context.close()


def test_an_edit_of_a_task_changed_elsewhere_asks_whose_version_to_keep(
    browser: Browser, stack: Stack
) -> None:
    """Every write carries If-Match: one made from a version another device has replaced is
    refused, and the page shows the stored version with the choice, instead of overwriting.
    The stream is blocked here, so this page cannot have heard of the other change."""
    page = _open(browser, stack, DESKTOP)
    page.route(EVENTS, lambda route: route.abort())
    _sign_up(page, _email())
    _add(page, "Plan the trip")
    task_id = _task_id(page, "Plan the trip")
    user_id = _session_user_id(page)
    other = _api(page)
    path = f"/api/{user_id}/tasks/{task_id}"

    # Keep mine: my edit, written over the stored version I was shown.
    page.get_by_role("button", name="Edit “Plan the trip”").click()
    page.get_by_label("Title", exact=True).last.fill("Plan the trip (mine)")
    assert other.patch(path, json={"title": "Plan the trip (theirs)"}).status_code == 200
    page.get_by_role("button", name="Save").click()
    notice = page.locator(".conflict")
    expect(notice).to_contain_text("changed on another device while you were editing")
    expect(notice).to_contain_text("Title: Plan the trip (theirs)")
    assert _serious_violations(page) == []
    assert other.get(path).json()["title"] == "Plan the trip (theirs)"  # nothing overwritten
    expect(page.get_by_role("button", name="Keep mine")).to_be_focused()
    page.keyboard.press("Enter")
    _expect_titles(page, ["Plan the trip (mine)"])
    stored = other.get(path).json()
    assert (stored["title"], stored["version"]) == ("Plan the trip (mine)", 3)

    # Take the stored one: my edit is dropped, the other device's stays.
    page.get_by_role("button", name="Edit “Plan the trip (mine)”").click()
    page.get_by_label("Title", exact=True).last.fill("Never saved")
    assert other.patch(path, json={"title": "Plan it later"}).status_code == 200
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Take the stored one").click()
    _expect_titles(page, ["Plan it later"])
    assert other.get(path).json()["title"] == "Plan it later"

    # A toggle and a delete from a stale version ask too.
    assert other.patch(path, json={"description": "by train"}).status_code == 200
    page.get_by_role("checkbox", name="Plan it later", exact=True).click()
    expect(page.locator(".conflict")).to_contain_text("so it was not marked complete")
    assert _serious_violations(page) == []
    expect(page.locator(".task .description")).to_have_text(["by train"])
    assert other.get(path).json()["completed"] is False
    page.get_by_role("button", name="Mark it complete").click()
    expect(page.get_by_role("checkbox", name="Plan it later", exact=True)).to_be_checked()
    assert other.get(path).json()["completed"] is True
    assert other.patch(path, json={"title": "Keep this one"}).status_code == 200
    page.get_by_role("button", name="Delete “Plan it later”").click()
    expect(page.locator(".conflict")).to_contain_text("so it was not deleted")
    page.get_by_role("button", name="Keep the stored one").click()
    _expect_titles(page, ["Keep this one"])
    assert other.get(path).status_code == 200
    expect(page.locator(".conflict")).to_have_count(0)
    other.close()
    page.context.close()


def test_a_stream_that_dropped_resumes_after_its_last_event_and_misses_nothing(
    browser: Browser, stack: Stack
) -> None:
    """The network drops, other devices change tasks meanwhile, the network returns: the
    page resumes its stream after the last event it had (Last-Event-ID) and shows every
    change. List reloads are refused once the network is back, so only the stream's replay
    can bring them."""
    page = _open(browser, stack, DESKTOP)
    _sign_up(page, _email())
    for title in ("Delete me", "Edit me", "Complete me"):
        _add(page, title)
    expect(page.locator("[data-live=live]")).to_have_count(1)
    user_id = _session_user_id(page)
    ids = {title: _task_id(page, title) for title in ("Delete me", "Edit me", "Complete me")}
    other = _api(page)
    streams: list[Request] = []
    page.on("request", lambda r: streams.append(r) if EVENTS.search(r.url) else None)

    page.context.set_offline(True)
    expect(page.locator(".sync-status")).to_contain_text("Offline")
    assert _serious_violations(page) == []
    base = f"/api/{user_id}/tasks"
    assert other.post(base, json={"title": "Made while away"}).status_code == 201
    assert other.patch(f"{base}/{ids['Edit me']}", json={"title": "Edited"}).status_code == 200
    assert other.patch(f"{base}/{ids['Complete me']}/complete").status_code == 200
    assert other.delete(f"{base}/{ids['Delete me']}").status_code == 204
    listing = re.compile(r"/api/[^/]+/tasks(\?|$)")
    page.route(listing, _refuse_listing)
    page.context.set_offline(False)

    _expect_titles(page, ["Made while away", "Complete me", "Edited"])
    expect(page.get_by_role("checkbox", name="Complete me", exact=True)).to_be_checked()
    expect(page.locator("[data-live=live]")).to_have_count(1)
    resumed = [r for r in streams if r.headers.get("last-event-id")]
    assert resumed, "the stream reopened without Last-Event-ID"
    page.unroute(listing)
    _counts(page, 3, 2, 1)
    other.close()
    page.context.close()


def test_priority_and_labels_are_set_shown_and_narrow_the_list(
    browser: Browser, stack: Stack
) -> None:
    """On a phone: a priority and labels set when adding and editing, shown on the row; a
    label clicked narrows the list (ignoring case, with the completion filter), and a label
    refused is explained beside its field."""
    page = _open(browser, stack)
    _sign_up(page, _email())
    page.get_by_label("Priority").first.select_option("High")
    page.get_by_label("Labels (optional)").fill("home, bills")
    _add(page, "Pay rent")
    expect(page.get_by_label("Labels (optional)")).to_have_value("")
    page.get_by_label("Labels (optional)").fill("Home")
    _add(page, "Buy milk")
    _add(page, "Call mum")
    rent = page.locator(".task", has_text="Pay rent")
    expect(rent.locator(".priority")).to_have_text("High priority")
    expect(rent.locator(".label")).to_have_text(["home", "bills"])

    rent.get_by_role("button", name="Show tasks labelled bills", exact=True).click()
    _expect_titles(page, ["Pay rent"])
    expect(page.locator(".label-filter")).to_contain_text("Labelled bills · 1 task")
    page.get_by_role("button", name="Show every label").click()
    _expect_titles(page, ["Call mum", "Buy milk", "Pay rent"])
    page.get_by_role("button", name="Show tasks labelled Home", exact=True).click()
    _expect_titles(page, ["Buy milk", "Pay rent"])  # "home" and "Home" are one label
    page.get_by_role("button", name=re.compile(r"^Active")).click()
    page.get_by_role("checkbox", name="Buy milk", exact=True).click()
    _expect_titles(page, ["Pay rent"])  # completed: it leaves the active, labelled view
    assert _serious_violations(page) == []

    page.get_by_role("button", name="Show every label").click()
    expect(page.locator(".label-filter")).to_have_count(0)  # shown, not still loading
    all_tasks = page.get_by_role("button", name=re.compile(r"^All \d"))
    all_tasks.click()
    expect(all_tasks).to_have_attribute("aria-pressed", "true")  # shown, not still loading
    page.get_by_label("Sort").select_option("Highest priority")
    _expect_titles(page, ["Pay rent", "Call mum", "Buy milk"])
    page.get_by_label("Sort").select_option("Oldest first")
    _expect_titles(page, ["Pay rent", "Buy milk", "Call mum"])
    page.get_by_label("Sort").select_option("Newest first")
    page.get_by_role("button", name="Edit “Call mum”").click()
    labels = page.get_by_label("Labels", exact=True)
    labels.fill("family, Family")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-error")).to_have_text(
        "Labels must not contain the same label twice (ignoring case)"
    )
    expect(labels).to_have_attribute("aria-invalid", "true")
    labels.fill("family")
    page.get_by_label("Priority").last.select_option("Low")
    page.get_by_role("button", name="Save").click()
    mum = page.locator(".task", has_text="Call mum")
    expect(mum.locator(".priority")).to_have_text("Low priority")
    expect(mum.locator(".label")).to_have_text(["family"])
    stored = httpx.get(
        f"{_origin(stack)}/api/{_session_user_id(page)}/tasks",
        headers={"Authorization": f"Bearer {_token(page)}"},
        params={"label": "FAMILY"},
    ).json()
    assert [(t["title"], t["priority"], t["labels"]) for t in stored] == [
        ("Call mum", 1, ["family"])
    ]
    page.context.close()


def test_a_delete_can_be_undone_and_the_trash_restores_and_empties(
    browser: Browser, stack: Stack
) -> None:
    """On a phone: Undo right after a delete brings the task back in its place; the Trash
    lists what was deleted, latest first, restores one, and empties after a confirmation."""
    page = _open(browser, stack)
    _sign_up(page, _email())
    for title in ("Alpha", "Bravo", "Charlie"):
        _add(page, title)
    page.get_by_role("button", name="Delete “Bravo”").click()
    _expect_titles(page, ["Charlie", "Alpha"])
    expect(page.locator(".undo")).to_contain_text("Deleted “Bravo”.")
    page.locator(".undo").get_by_role("button", name="Undo").click()
    _expect_titles(page, ["Charlie", "Bravo", "Alpha"])
    _counts(page, 3, 3, 0)

    for title in ("Alpha", "Charlie"):
        delete = page.get_by_role("button", name=f"Delete “{title}”")
        delete.click()
        expect(delete).to_have_count(0)
    page.get_by_role("button", name="Trash", exact=True).click()
    expect(page.get_by_role("heading", name="Trash")).to_be_visible()
    trashed = page.get_by_role("list", name="Deleted tasks").locator(".title")
    expect(trashed).to_have_text(["Charlie", "Alpha"])
    assert _serious_violations(page) == []
    page.get_by_role("button", name="Restore “Alpha”").click()
    expect(trashed).to_have_text(["Charlie"])
    page.get_by_role("button", name="Empty trash…").click()
    expect(page.locator(".confirm")).to_contain_text("Delete 1 task for good?")
    page.get_by_role("button", name="Empty the trash").click()
    expect(page.locator(".empty")).to_have_text("The trash is empty.")

    all_tasks = page.get_by_role("button", name=re.compile(r"^All \d"))
    all_tasks.click()
    expect(all_tasks).to_have_attribute("aria-pressed", "true")  # shown, not still loading
    _expect_titles(page, ["Bravo", "Alpha"])
    _counts(page, 2, 2, 0)
    headers = {"Authorization": f"Bearer {_token(page)}"}
    base = f"{_origin(stack)}/api/{_session_user_id(page)}"
    assert httpx.get(f"{base}/trash", headers=headers).json() == []
    page.context.close()


def test_lists_are_made_renamed_reordered_and_deleted_and_tasks_keep_my_order(
    browser: Browser, stack: Stack
) -> None:
    """On a phone: the Lists menu makes a list and shows it; tasks added there join it and
    count; My order moves them by keyboard (focus staying on the control) and by drag and
    drop, as the service stores it; lists are renamed, reordered and deleted after a
    confirmation, their tasks going to the trash."""
    page = _open(browser, stack)
    _sign_up(page, _email())
    menu = page.get_by_role("button", name="Lists", exact=True)
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    page.get_by_label("New list").fill("Groceries")
    page.get_by_role("button", name="Add list").click()
    expect(page.get_by_role("heading", name="Groceries")).to_be_visible()
    for title in ("Milk", "Eggs", "Bread"):
        _add(page, title)
    page.get_by_label("Sort").select_option("My order")
    _expect_titles(page, ["Bread", "Eggs", "Milk"])
    up = page.get_by_role("button", name="Move “Milk” up")
    up.focus()
    page.keyboard.press("Enter")
    _expect_titles(page, ["Bread", "Milk", "Eggs"])
    expect(up).to_be_focused()
    page.locator(".task", has_text="Eggs").drag_to(page.locator(".task", has_text="Bread"))
    _expect_titles(page, ["Eggs", "Bread", "Milk"])
    user = _session_user_id(page)
    with _api(page) as api:
        lists = api.get(f"/api/{user}/lists").json()
        assert [found["name"] for found in lists] == ["Groceries"]
        stored = api.get(
            f"/api/{user}/tasks", params={"list_id": lists[0]["id"], "sort": "position"}
        ).json()
    assert [task["title"] for task in stored] == ["Eggs", "Bread", "Milk"]
    assert _serious_violations(page) == []

    page.get_by_role("button", name="Rename list").click()
    page.get_by_label("Name of the list").fill("Shopping")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("heading", name="Shopping")).to_be_visible()
    menu.click()
    page.get_by_label("New list").fill("shopping")
    page.get_by_role("button", name="Add list").click()
    expect(page.locator("#new-list-error")).to_have_text(
        "You already have a list of that name (names ignore case)."
    )
    page.get_by_label("New list").fill("Work")
    page.get_by_role("button", name="Add list").click()
    expect(page.get_by_role("heading", name="Work")).to_be_visible()
    page.get_by_role("button", name="Move list up").click()
    menu.click()
    entries = page.locator(".list-entry .name")
    expect(entries).to_have_text(["All tasks", "Inbox", "Work", "Shopping"])
    expect(page.locator(".list-entry", has_text="Shopping")).to_contain_text("3")
    page.locator(".list-entry", has_text="Inbox").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.locator(".tasks .title")).to_have_count(0)

    menu.click()
    page.locator(".list-entry", has_text="Shopping").click()
    page.get_by_role("button", name="Edit “Milk”").click()
    page.get_by_label("List", exact=True).select_option("Work")
    page.get_by_role("button", name="Save").click()
    _expect_titles(page, ["Eggs", "Bread"])  # Milk is in Work now
    page.get_by_role("button", name="Delete list").click()
    expect(page.get_by_text("Its tasks go to the trash")).to_be_visible()
    assert _serious_violations(page) == []
    page.get_by_role("button", name="Delete list").click()
    expect(page.get_by_role("heading", name="All tasks")).to_be_visible()
    _expect_titles(page, ["Milk"])  # the only task left: in Work
    menu.click()
    expect(entries).to_have_text(["All tasks", "Inbox", "Work"])
    with _api(page) as api:
        trash = api.get(f"/api/{user}/trash").json()
        lists_now = api.get(f"/api/{user}/lists").json()
        work = api.get(f"/api/{user}/tasks", params={"list_id": lists_now[0]["id"]}).json()
    assert sorted(task["title"] for task in trash) == ["Bread", "Eggs"]
    assert [task["title"] for task in work] == ["Milk"]
    page.context.close()


def test_search_shows_results_as_you_type_and_clears(browser: Browser, stack: Stack) -> None:
    """On a phone, by keyboard: typing searches once typing pauses (not once a key), by the
    start of words, ignoring case and accents, in titles and descriptions, best match first;
    Escape and "Clear search" bring the whole list back."""
    page = _open(browser, stack)
    _sign_up(page, _email())
    _add(page, "Call mum")
    _add(page, "Café with Ana", "Bring the résumé")
    _add(page, "Buy groceries", "For the café too")
    searched: list[str] = []
    page.on(
        "request",
        lambda request: searched.extend(
            re.findall(r"[?&]q=([^&]*)", request.url) if "/tasks?" in request.url else []
        ),
    )

    box = page.get_by_label("Search", exact=True)
    box.focus()
    page.keyboard.type("GROCERIES")
    _expect_titles(page, ["Buy groceries"])
    expect(page.locator(".search-matches")).to_have_text("1 task matches “GROCERIES”")
    assert searched[-1] == "GROCERIES"
    assert len(searched) < len("GROCERIES")  # one request when typing pauses, not one a key
    expect(page.get_by_label("Sort")).to_have_value("best")

    box.fill("cafe")
    _expect_titles(page, ["Café with Ana", "Buy groceries"])  # the title's match first
    box.fill("resum")
    _expect_titles(page, ["Café with Ana"])
    assert _serious_violations(page) == []
    box.fill("zzz")
    expect(page.locator(".empty")).to_have_text("Nothing here matches “zzz”.")

    page.keyboard.press("Escape")
    expect(box).to_have_value("")
    _expect_titles(page, ["Buy groceries", "Café with Ana", "Call mum"])
    expect(page.get_by_label("Sort")).to_have_value("newest")
    box.fill("mum")
    _expect_titles(page, ["Call mum"])
    page.get_by_role("button", name="Clear search").click()
    _expect_titles(page, ["Buy groceries", "Café with Ana", "Call mum"])
    expect(box).to_be_focused()
    page.context.close()
