"""Ended sessions: a token with a revoked `sid` is refused, remembered or not, on every replica."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from tests.support.issuer import TestIssuer
from tests.support.ports import free_port
from todo_shared.revocation import publish_revocation
from todo_shared.settings import VerifierSettings
from todo_shared.tokens import InvalidToken, TokenVerifier

MakeSettings = Callable[..., VerifierSettings]
MakeVerifier = Callable[..., TokenVerifier]


async def test_a_remembered_token_is_refused_on_every_replica_once_its_session_ends(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier, redis_url: str
) -> None:
    settings = make_settings(issuer)
    replicas = [make_verifier(settings), make_verifier(settings)]
    for replica in replicas:
        await replica.warm_up()
        assert replica.revocations is not None
        await replica.revocations.subscribed()
    sid = uuid.uuid4().hex
    token, other = issuer.mint(sid=sid), issuer.mint(sid=uuid.uuid4().hex)
    for replica in replicas:
        assert (await replica.verify(token)).claims["sid"] == sid  # now remembered
    heard = [asyncio.Event() for _ in replicas]
    claims = issuer.claims(sid=sid)
    async with contextlib.AsyncExitStack() as watching:
        for replica, event in zip(replicas, heard, strict=True):
            await watching.enter_async_context(replica.watch_session(claims, event))
        redis = Redis.from_url(redis_url)
        await publish_revocation(redis, issuer.issuer, sid, 60)
        await redis.aclose()
        await asyncio.gather(*(event.wait() for event in heard))  # the message reached both

    for replica in replicas:
        with pytest.raises(InvalidToken, match="session ended"):
            await replica.verify(token)
        assert await replica.session_ended(claims)
        await replica.verify(other)  # another session of the same issuer goes on


async def test_a_replica_that_was_not_listening_finds_the_revocation_in_redis(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier, redis_url: str
) -> None:
    sid = uuid.uuid4().hex
    redis = Redis.from_url(redis_url)
    await publish_revocation(redis, issuer.issuer, sid, 60)
    await redis.aclose()

    late = make_verifier(make_settings(issuer))  # never subscribed
    with pytest.raises(InvalidToken, match="session ended"):
        await late.verify(issuer.mint(sid=sid))


async def test_same_sid_of_another_issuer_is_not_revoked(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier, redis_url: str
) -> None:
    sid = uuid.uuid4().hex
    redis = Redis.from_url(redis_url)
    await publish_revocation(redis, "https://other-issuer.example", sid, 60)
    await redis.aclose()

    verifier = make_verifier(make_settings(issuer))
    assert (await verifier.verify(issuer.mint(sid=sid))).subject == "user-1"


async def test_tokens_without_sid_or_without_redis_are_not_checked(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier
) -> None:
    """A token without `sid` (older tokens) has no session to end. Redis down: lookups fail
    open (the API keeps serving); only revocations already heard apply."""
    verifier = make_verifier(make_settings(issuer, redis_url=f"redis://127.0.0.1:{free_port()}"))
    await verifier.verify(issuer.mint())
    await verifier.verify(issuer.mint(sid=uuid.uuid4().hex))


@pytest.mark.parametrize("sid", ["", 7, ["a"]])
async def test_a_malformed_sid_is_refused(
    issuer: TestIssuer, make_settings: MakeSettings, make_verifier: MakeVerifier, sid: object
) -> None:
    verifier = make_verifier(make_settings(issuer))
    with pytest.raises(InvalidToken, match="invalid sid"):
        await verifier.verify(issuer.mint(sid=sid))
