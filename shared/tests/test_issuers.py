"""Several trusted issuers: a token's `iss` picks one, and only that issuer's JWKS is consulted."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from tests.support.issuer import TestIssuer
from todo_shared.settings import VerifierSettings
from todo_shared.tokens import InvalidToken, TokenVerifier

MakeVerifier = Callable[..., TokenVerifier]


@pytest.fixture
def other_issuer() -> Iterator[TestIssuer]:
    """A second issuer with keys of its own (and its own `iss`: another port)."""
    with TestIssuer() as test_issuer:
        yield test_issuer


def _trusted(issuer: TestIssuer) -> dict[str, str]:
    return {"issuer": issuer.issuer, "jwks_url": issuer.jwks_url, "audience": issuer.audience}


@pytest.fixture
def redis_prefix() -> str:
    return f"test:jwks:{uuid.uuid4().hex}"


@pytest.fixture
def settings(
    issuer: TestIssuer, other_issuer: TestIssuer, redis_url: str, redis_prefix: str
) -> VerifierSettings:
    """Both issuers trusted, as `JWT_ISSUERS` would list them."""
    return VerifierSettings(
        _env_file=None,
        environment="test",
        jwt_issuers=[_trusted(issuer), _trusted(other_issuer)],
        redis_url=redis_url,
        jwks_redis_key=redis_prefix,
    )


@pytest.fixture
def verifier(settings: VerifierSettings, make_verifier: MakeVerifier) -> TokenVerifier:
    return make_verifier(settings)


def _random_kid_token(issuer: TestIssuer) -> str:
    return issuer.mint(headers={"kid": secrets.token_hex(8)})


async def test_each_issuer_verifies_its_own_tokens(
    issuer: TestIssuer, other_issuer: TestIssuer, verifier: TokenVerifier
) -> None:

    assert (await verifier.verify(issuer.mint("api-user"))).subject == "api-user"
    assert (await verifier.verify(other_issuer.mint("browser-user"))).subject == "browser-user"
    assert (issuer.fetch_count, other_issuer.fetch_count) == (1, 1)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        pytest.param({"iss": "https://evil.example"}, "issuer not trusted", id="unknown iss"),
        pytest.param({"iss": None}, "missing or invalid iss", id="missing iss"),
    ],
)
async def test_untrusted_issuer_is_refused_without_any_fetch(
    issuer: TestIssuer,
    other_issuer: TestIssuer,
    verifier: TokenVerifier,  # no keys loaded yet
    claims: dict[str, Any],
    reason: str,
) -> None:

    for _ in range(20):  # the issuer's real kid, and random ones
        with pytest.raises(InvalidToken, match=reason):
            await verifier.verify(issuer.mint(**claims))
        with pytest.raises(InvalidToken, match=reason):
            await verifier.verify(issuer.mint(headers={"kid": secrets.token_hex(8)}, **claims))

    assert (issuer.fetch_count, other_issuer.fetch_count) == (0, 0)


async def test_a_key_of_one_issuer_never_verifies_a_token_claiming_another(
    issuer: TestIssuer, other_issuer: TestIssuer, verifier: TokenVerifier
) -> None:
    await verifier.verify(issuer.mint())  # the first issuer's keys are in memory
    await verifier.verify(other_issuer.mint())

    # Signed by the first issuer's key, with its kid, but claiming the second issuer.
    confused = issuer.mint("intruder", iss=other_issuer.issuer, aud=other_issuer.audience)

    with pytest.raises(InvalidToken, match="unknown kid"):
        await verifier.verify(confused)
    assert issuer.fetch_count == 1  # looked up only in the second issuer's JWKS...
    assert other_issuer.fetch_count == 2  # ...which refetched once for the unknown kid


async def test_each_issuer_has_its_own_redis_entry(
    issuer: TestIssuer,
    other_issuer: TestIssuer,
    settings: VerifierSettings,
    make_verifier: MakeVerifier,
    redis_url: str,
    redis_prefix: str,
) -> None:
    await make_verifier(settings).verify(issuer.mint())
    await make_verifier(settings).verify(other_issuer.mint())

    redis = Redis.from_url(redis_url)
    try:
        names = [name async for name in redis.scan_iter(f"{redis_prefix}:*:keys")]
        kids = set()
        for name in names:
            raw = await redis.get(name)
            assert raw is not None
            stored = json.loads(raw)
            kids.add(tuple(key["kid"] for key in stored["jwks"]["keys"]))
    finally:
        await redis.aclose()
    assert len(names) == 2
    assert kids == {(issuer.kid,), (other_issuer.kid,)}

    replica = make_verifier(settings)  # a replica starting now takes both from Redis
    await replica.verify(issuer.mint())
    await replica.verify(other_issuer.mint())
    assert (issuer.fetch_count, other_issuer.fetch_count) == (1, 1)


async def test_a_flood_on_one_issuer_leaves_the_other_issuers_cooldown_alone(
    issuer: TestIssuer, other_issuer: TestIssuer, verifier: TokenVerifier
) -> None:
    await verifier.verify(issuer.mint())
    await verifier.verify(other_issuer.mint())
    for _ in range(10):
        with pytest.raises(InvalidToken, match="unknown kid"):
            await verifier.verify(_random_kid_token(issuer))
    assert issuer.fetch_count == 2  # its cooldown now holds

    other_issuer.rotate()
    assert (await verifier.verify(other_issuer.mint("u-2"))).subject == "u-2"
    assert other_issuer.fetch_count == 2


async def test_one_issuer_down_keeps_the_others_working_and_the_verifier_ready(
    issuer: TestIssuer,
    other_issuer: TestIssuer,
    settings: VerifierSettings,
    make_verifier: MakeVerifier,
) -> None:
    other_issuer.failing = True
    verifier = make_verifier(settings)

    assert await verifier.issuers_ready() == {issuer.issuer: True, other_issuer.issuer: False}
    assert await verifier.ready()
    assert (await verifier.verify(issuer.mint())).subject == "user-1"
    with pytest.raises(InvalidToken, match="signing keys unavailable"):
        await verifier.verify(other_issuer.mint())

    issuer.failing = True
    without_redis = make_verifier(settings, redis=False)
    assert not await without_redis.ready()


# -- configuration --------------------------------------------------------------------------


def test_jwt_issuers_is_read_from_the_environment_as_json(
    issuer: TestIssuer, other_issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWT_ISSUERS", json.dumps([_trusted(issuer), _trusted(other_issuer)]))

    settings = VerifierSettings(_env_file=None)

    assert [(t.issuer, t.jwks_url, t.audience) for t in settings.trusted_issuers] == [
        (issuer.issuer, issuer.jwks_url, issuer.audience),
        (other_issuer.issuer, other_issuer.jwks_url, other_issuer.audience),
    ]


def test_the_shorthand_names_one_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWKS_URL", "https://id.example/jwks")
    monkeypatch.setenv("JWT_ISSUER", "https://id.example")
    monkeypatch.setenv("JWT_AUDIENCE", "todo")

    [trusted] = VerifierSettings(_env_file=None).trusted_issuers

    assert (trusted.issuer, trusted.jwks_url, trusted.audience) == (
        "https://id.example",
        "https://id.example/jwks",
        "todo",
    )


@pytest.mark.parametrize("shorthand", ["JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE"])
def test_jwt_issuers_and_the_shorthand_together_are_refused(
    issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch, shorthand: str
) -> None:
    monkeypatch.setenv("JWT_ISSUERS", json.dumps([_trusted(issuer)]))
    monkeypatch.setenv(shorthand, "https://id.example")

    with pytest.raises(ValidationError, match=f"JWT_ISSUERS and {shorthand} are both set"):
        VerifierSettings(_env_file=None)


@pytest.mark.parametrize(
    ("issuers", "message"),
    [
        pytest.param([], "JWT_ISSUERS is empty", id="empty"),
        pytest.param(
            [
                {"issuer": "https://a", "jwks_url": "https://a/jwks", "audience": "x"},
                {"issuer": "https://a", "jwks_url": "https://b/jwks", "audience": "x"},
            ],
            "more than once",
            id="duplicate iss",
        ),
        pytest.param(
            [{"issuer": "https://a", "jwks_url": "http://a.example/jwks", "audience": "x"}],
            r"JWT_ISSUERS\[0\].jwks_url must be https",
            id="plain http",
        ),
        pytest.param(
            [{"issuer": "https://a", "jwks_url": "https://a/jwks"}], "audience", id="no audience"
        ),
        pytest.param(
            [{"issuer": "", "jwks_url": "https://a/jwks", "audience": "x"}], "issuer", id="empty"
        ),
    ],
)
def test_bad_issuer_lists_are_refused(issuers: list[dict[str, str]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        VerifierSettings(_env_file=None, jwt_issuers=issuers)


def test_plain_http_is_allowed_per_issuer_for_listed_hosts() -> None:
    settings = VerifierSettings(
        _env_file=None,
        jwt_issuers=[
            {"issuer": "http://p/", "jwks_url": "http://auth:8000/jwks", "audience": "x"},
            {"issuer": "http://p/auth", "jwks_url": "http://frontend:3000/jwks", "audience": "x"},
        ],
        jwks_allow_http_hosts="auth,frontend",
    )

    assert len(settings.trusted_issuers) == 2
