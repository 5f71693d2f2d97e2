"""How keys are found: memory, Redis shared by replicas, then the JWKS endpoint, within limits."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Iterator

import pytest
from testcontainers.community.redis import RedisContainer

from tests.support.issuer import TestIssuer
from todo_shared.settings import VerifierSettings
from todo_shared.tokens import InvalidToken, TokenVerifier, verifier_lifespan

MakeSettings = Callable[..., VerifierSettings]
MakeVerifier = Callable[..., TokenVerifier]
Eventually = Callable[[Callable[[], bool]], Awaitable[None]]


def _random_kid_token(issuer: TestIssuer) -> str:
    return issuer.mint(headers={"kid": secrets.token_hex(8)})


async def test_known_kid_is_served_from_memory(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier(make_settings(issuer))

    for _ in range(20):
        await verifier.verify(issuer.mint())

    assert issuer.fetch_count == 1


async def test_rotation_to_a_new_kid_is_picked_up_at_first_sight(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier(make_settings(issuer))
    old_token = issuer.mint("user-1")
    await verifier.verify(old_token)

    issuer.rotate()
    new_token = issuer.mint("user-1")

    assert (await verifier.verify(new_token)).subject == "user-1"
    assert (await verifier.verify(old_token)).subject == "user-1"  # old key still published
    assert issuer.fetch_count == 2


async def test_retired_key_stops_working_after_the_ttl_refresh(
    issuer: TestIssuer,
    make_settings: MakeSettings,
    make_verifier: MakeVerifier,
    eventually: Eventually,
) -> None:
    verifier = make_verifier(
        make_settings(issuer, jwks_cache_ttl_seconds=0.3, jwks_refetch_cooldown_seconds=0.1)
    )
    old_token = issuer.mint()
    await verifier.verify(old_token)
    issuer.rotate(keep_old=False)
    await asyncio.sleep(0.35)

    await verifier.verify(old_token)  # stale keys serve while the refresh runs alongside
    await eventually(lambda: issuer.fetch_count == 2)
    await asyncio.sleep(0.05)  # let the refresh install what it fetched

    with pytest.raises(InvalidToken, match="unknown kid"):
        await verifier.verify(old_token)
    await verifier.verify(issuer.mint())


async def test_cache_control_max_age_shortens_the_ttl(
    issuer: TestIssuer,
    make_settings: MakeSettings,
    make_verifier: MakeVerifier,
    eventually: Eventually,
) -> None:
    issuer.cache_max_age = 0  # floored at the refetch cooldown
    verifier = make_verifier(make_settings(issuer, jwks_refetch_cooldown_seconds=0.3))
    token = issuer.mint()
    await verifier.verify(token)
    await verifier.verify(token)
    assert issuer.fetch_count == 1

    await asyncio.sleep(0.35)
    await verifier.verify(token)

    await eventually(lambda: issuer.fetch_count == 2)


async def test_concurrent_requests_for_a_new_kid_cause_one_fetch(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier(make_settings(issuer))
    await verifier.verify(issuer.mint())
    issuer.rotate()
    token = issuer.mint("user-7")

    results = await asyncio.gather(*(verifier.verify(token) for _ in range(50)))

    assert {result.subject for result in results} == {"user-7"}
    assert issuer.fetch_count == 2


async def test_flood_of_random_kids_causes_one_fetch(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier(make_settings(issuer))
    await verifier.verify(issuer.mint())

    results = await asyncio.gather(
        *(verifier.verify(_random_kid_token(issuer)) for _ in range(50)), return_exceptions=True
    )

    assert all(isinstance(result, InvalidToken) for result in results)
    assert issuer.fetch_count == 2
    await verifier.verify(issuer.mint())  # known kids unaffected
    assert issuer.fetch_count == 2


async def test_unknown_kid_refetch_respects_the_cooldown(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier(
        make_settings(issuer, jwks_refetch_cooldown_seconds=0.5, jwks_unknown_kid_ttl_seconds=0.05)
    )
    await verifier.verify(issuer.mint())
    assert issuer.fetch_count == 1

    with pytest.raises(InvalidToken, match="unknown kid"):
        await verifier.verify(_random_kid_token(issuer))
    assert issuer.fetch_count == 2

    issuer.rotate()  # even a genuine new kid waits for the cooldown
    new_token = issuer.mint()
    with pytest.raises(InvalidToken, match="unknown kid"):
        await verifier.verify(new_token)
    assert issuer.fetch_count == 2

    await asyncio.sleep(0.55)
    await verifier.verify(new_token)
    assert issuer.fetch_count == 3


async def test_replicas_share_keys_and_the_refetch_cooldown_through_redis(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    settings = make_settings(
        issuer, jwks_refetch_cooldown_seconds=0.5, jwks_unknown_kid_ttl_seconds=0.05
    )
    first, second = make_verifier(settings), make_verifier(settings)
    token = issuer.mint()

    await first.verify(token)
    assert issuer.fetch_count == 1
    await second.verify(token)  # keys from Redis, no HTTP
    assert issuer.fetch_count == 1

    with pytest.raises(InvalidToken, match="unknown kid"):
        await first.verify(_random_kid_token(issuer))
    assert issuer.fetch_count == 2
    with pytest.raises(InvalidToken, match="unknown kid"):
        await second.verify(_random_kid_token(issuer))  # the other replica refetched just now
    assert issuer.fetch_count == 2

    await asyncio.sleep(0.55)
    issuer.rotate()
    rotated = issuer.mint()
    await first.verify(rotated)
    assert issuer.fetch_count == 3
    await second.verify(rotated)  # the new key set reached the other replica through Redis
    assert issuer.fetch_count == 3


async def test_a_replica_takes_a_refetch_still_in_flight_on_another_from_redis(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    """Just after a rotation, two replicas meet the new kid at once: one fetches (slowly),
    the other waits for that result in Redis instead of refusing the new key."""
    settings = make_settings(issuer)  # the default 30 s cooldown
    first, second = make_verifier(settings), make_verifier(settings)
    await first.verify(issuer.mint())
    await second.verify(issuer.mint())
    assert issuer.fetch_count == 1

    issuer.rotate()
    issuer.delay_seconds = 0.3
    rotated = issuer.mint("user-7")
    verified = await asyncio.gather(first.verify(rotated), second.verify(rotated))

    assert [token.subject for token in verified] == ["user-7", "user-7"]
    assert issuer.fetch_count == 2


async def test_stale_keys_serve_while_the_endpoint_fails_until_max_staleness(
    issuer: TestIssuer,
    make_settings: MakeSettings,
    make_verifier: MakeVerifier,
    eventually: Eventually,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="todo")
    verifier = make_verifier(
        make_settings(
            issuer,
            jwks_cache_ttl_seconds=0.2,
            jwks_refetch_cooldown_seconds=0.1,
            jwks_retry_seconds=0.1,
            jwks_max_staleness_seconds=1.0,
        )
    )
    token = issuer.mint()
    await verifier.verify(token)
    assert await verifier.ready()
    issuer.failing = True
    await asyncio.sleep(0.25)

    assert (await verifier.verify(token)).subject == "user-1"
    await eventually(lambda: issuer.fetch_count >= 2)
    await eventually(lambda: "serving the last good keys" in caplog.text)
    assert (await verifier.verify(token)).subject == "user-1"
    assert await verifier.ready()

    await asyncio.sleep(0.8)  # now past max staleness
    with pytest.raises(InvalidToken, match="signing keys unavailable"):
        await verifier.verify(token)
    assert not await verifier.ready()

    issuer.failing = False
    await asyncio.sleep(0.15)  # the retry interval
    assert (await verifier.verify(token)).subject == "user-1"
    assert await verifier.ready()


async def test_keys_are_unavailable_when_never_fetched(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    issuer.failing = True
    verifier = make_verifier(make_settings(issuer))

    with pytest.raises(InvalidToken, match="signing keys unavailable"):
        await verifier.verify(issuer.mint())
    with pytest.raises(InvalidToken, match="signing keys unavailable"):
        await verifier.verify(issuer.mint())
    assert issuer.fetch_count == 1  # the retry interval holds back a second attempt
    assert not await verifier.ready()


async def test_oversize_jwks_is_refused(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    issuer.body = b'{"keys": [], "pad": "' + b"x" * 4096 + b'"}'
    verifier = make_verifier(make_settings(issuer, jwks_max_bytes=1024))

    with pytest.raises(InvalidToken, match="signing keys unavailable"):
        await verifier.verify(issuer.mint())
    assert issuer.fetch_count == 1


async def test_redirects_are_not_followed(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    with TestIssuer() as elsewhere:
        issuer.redirect_to = elsewhere.jwks_url
        verifier = make_verifier(make_settings(issuer))

        with pytest.raises(InvalidToken, match="signing keys unavailable"):
            await verifier.verify(issuer.mint())
        assert elsewhere.fetch_count == 0


async def test_works_without_redis(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier(make_settings(issuer), redis=False)

    await verifier.verify(issuer.mint())
    issuer.rotate()
    await verifier.verify(issuer.mint())
    assert issuer.fetch_count == 2


@pytest.fixture
def private_redis() -> Iterator[RedisContainer]:
    """A Redis of this test's own, since the test freezes it."""
    with RedisContainer(os.environ.get("REDIS_IMAGE", "redis:7")) as container:
        yield container


async def test_verification_continues_when_redis_stops(
    issuer: TestIssuer,
    make_settings: MakeSettings,
    make_verifier: MakeVerifier,
    private_redis: RedisContainer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="todo")
    host, port = private_redis.get_container_host_ip(), private_redis.get_exposed_port(6379)
    settings = make_settings(
        issuer, redis_url=f"redis://{host}:{port}/0", jwks_refetch_cooldown_seconds=60
    )
    first = make_verifier(settings)
    token = issuer.mint()
    await first.verify(token)
    await make_verifier(settings).verify(token)
    assert issuer.fetch_count == 1  # Redis shared the keys while it was up

    container = private_redis.get_wrapped_container()
    container.pause()  # a hung Redis: commands time out rather than fail fast
    try:
        for _ in range(20):
            assert (await first.verify(token)).subject == "user-1"  # from memory
        issuer.rotate()
        rotated = issuer.mint()
        await first.verify(rotated)  # unknown kid: direct fetch
        assert issuer.fetch_count == 2
        with pytest.raises(InvalidToken, match="unknown kid"):
            await first.verify(_random_kid_token(issuer))  # per-process cooldown holds
        assert issuer.fetch_count == 2
        late_replica = make_verifier(settings)
        await late_replica.verify(rotated)  # a replica starting now fetches for itself
        assert issuer.fetch_count == 3
    finally:
        container.unpause()

    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 2  # once per replica that met the outage, not per request
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_replica_that_starts_before_its_issuer_accepts_tokens_once_it_is_up(
    issuer: TestIssuer, make_settings: MakeSettings
) -> None:
    """Right after a deploy a replica may start while the issuer is not reachable yet: its
    start-up fetch fails, and the first request after the issuer comes up fetches again
    instead of waiting out the retry interval (which is for requests that failed)."""
    issuer.failing = True

    async with verifier_lifespan(make_settings(issuer, jwks_retry_seconds=60), None) as verifier:
        assert issuer.fetch_count == 1  # the start-up fetch, which failed
        issuer.failing = False

        assert (await verifier.verify(issuer.mint())).subject == "user-1"
        assert issuer.fetch_count == 2


async def test_keys_another_replica_fetched_end_a_replica_s_retry_interval(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    """A replica whose fetch failed does not fetch again before the retry interval, but
    it takes the keys a sibling replica fetched since from Redis, rather than refusing."""
    settings = make_settings(issuer, jwks_retry_seconds=60)
    first = make_verifier(settings)
    token = issuer.mint()
    issuer.failing = True
    with pytest.raises(InvalidToken, match="signing keys unavailable"):
        await first.verify(token)
    issuer.failing = False
    with pytest.raises(InvalidToken, match="signing keys unavailable"):
        await first.verify(token)  # the retry interval holds: nothing in Redis yet
    assert issuer.fetch_count == 1

    await make_verifier(settings).verify(token)  # a sibling fetches and shares the keys
    assert issuer.fetch_count == 2

    assert (await first.verify(token)).subject == "user-1"
    assert issuer.fetch_count == 2  # from Redis, not a fetch of its own


async def test_a_failed_refetch_holds_back_the_next_one_for_the_retry_interval_only(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    """A rotation met while the issuer fails: the refetch learns nothing, so neither this
    replica nor another (the claim in Redis) waits a whole cooldown to try again; a flood
    still costs no fetch within the retry interval."""
    settings = make_settings(
        issuer,
        jwks_refetch_cooldown_seconds=60,
        jwks_retry_seconds=0.3,
        jwks_unknown_kid_ttl_seconds=0.05,
    )
    first, second = make_verifier(settings), make_verifier(settings)
    await first.verify(issuer.mint())
    await second.verify(issuer.mint())
    issuer.rotate()
    rotated = issuer.mint("user-7")
    issuer.failing = True
    with pytest.raises(InvalidToken, match="unknown kid"):
        await first.verify(rotated)
    assert issuer.fetch_count == 2
    results = await asyncio.gather(
        *(first.verify(_random_kid_token(issuer)) for _ in range(50)), return_exceptions=True
    )
    assert all(isinstance(result, InvalidToken) for result in results)
    assert issuer.fetch_count == 2  # within the retry interval: no new attempt

    issuer.failing = False
    await asyncio.sleep(0.35)
    assert (await second.verify(rotated)).subject == "user-7"
    assert (await first.verify(rotated)).subject == "user-7"
    assert issuer.fetch_count == 3


async def test_replicas_past_their_ttl_at_once_refresh_with_one_fetch(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    """Replicas and workers that took one key set from Redis reach its TTL at the same
    instant: one of them fetches, the others take its result from Redis."""
    settings = make_settings(issuer, jwks_cache_ttl_seconds=0.5)
    replicas = [make_verifier(settings) for _ in range(4)]
    token = issuer.mint()
    for replica in replicas:
        await replica.verify(token)
    assert issuer.fetch_count == 1
    issuer.rotate(keep_old=False)
    issuer.delay_seconds = 0.1  # the others meet the refresh while it is in flight
    await asyncio.sleep(0.55)

    await asyncio.gather(*(replica.verify(token) for replica in replicas))  # stale keys serve
    rotated = issuer.mint("user-7")
    verified = await asyncio.gather(*(replica.verify(rotated) for replica in replicas))

    assert [result.subject for result in verified] == ["user-7"] * len(replicas)
    assert issuer.fetch_count == 2


async def test_a_failed_refresh_holds_back_the_other_replicas_for_the_retry_interval_only(
    issuer: TestIssuer,
    make_settings: MakeSettings,
    make_verifier: MakeVerifier,
    eventually: Eventually,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The replica that claimed a refresh and failed does not keep the others from
    refreshing once the issuer is back: its claim (here as long as the 1 s TTL) ends one
    retry interval after the failure."""
    caplog.set_level(logging.INFO, logger="todo")
    settings = make_settings(issuer, jwks_cache_ttl_seconds=1.0, jwks_retry_seconds=0.2)
    first, second = make_verifier(settings), make_verifier(settings)
    token = issuer.mint()
    await first.verify(token)
    await second.verify(token)
    issuer.rotate(keep_old=False)
    issuer.failing = True
    await asyncio.sleep(1.05)

    await first.verify(token)  # stale keys serve; its refresh claims, fetches and fails
    await eventually(lambda: "serving the last good keys" in caplog.text)
    assert issuer.fetch_count == 2
    issuer.failing = False
    await asyncio.sleep(0.25)  # the retry interval

    await second.verify(token)  # its refresh claims and fetches
    await eventually(lambda: issuer.fetch_count == 3)
    rotated = issuer.mint("user-7")
    assert (await second.verify(rotated)).subject == "user-7"
    assert (await first.verify(rotated)).subject == "user-7"  # from Redis
    assert issuer.fetch_count == 3
