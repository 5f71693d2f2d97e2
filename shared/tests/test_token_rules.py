"""Which tokens pass: every forged or out-of-policy form is refused, for the right reason."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from tests.support.issuer import TestIssuer
from todo_shared.jwks.cache import JwksCache, KeysUnavailable
from todo_shared.jwks.keys import JwksError, VerificationKey, parse_jwks
from todo_shared.settings import VerifierSettings
from todo_shared.tokens import InvalidToken, TokenVerifier


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(issuer: TestIssuer) -> str:
    """The classic key-confusion forgery: HMAC keyed with the issuer's public key bytes."""
    public = issuer.private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    header = _b64(json.dumps({"alg": "HS256", "kid": issuer.kid, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(issuer.claims()).encode())
    signature = hmac.new(public, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _alg_none(issuer: TestIssuer) -> str:
    return jwt.encode(issuer.claims(), "", algorithm="none", headers={"kid": issuer.kid})


def _es256_with_real_kid(issuer: TestIssuer) -> str:
    """An allowed algorithm, but not one the Ed25519 key named by the kid can verify."""
    key = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(issuer.claims(), key, algorithm="ES256", headers={"kid": issuer.kid})


def _rs256_with_real_kid(issuer: TestIssuer) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(issuer.claims(), key, algorithm="RS256", headers={"kid": issuer.kid})


def _tampered_payload(issuer: TestIssuer) -> str:
    header, _, signature = issuer.mint("user-1").split(".")
    payload = _b64(json.dumps(issuer.claims("user-2")).encode())
    return f"{header}.{payload}.{signature}"


def _signed_raw(issuer: TestIssuer, header: dict[str, Any]) -> str:
    """Signed by the issuer's key with a header PyJWT would refuse to encode."""
    payload = json.dumps(issuer.claims()).encode()
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(payload)}"
    return f"{signing_input}.{_b64(issuer.private_key.sign(signing_input.encode()))}"


def _signed_claims(issuer: TestIssuer, claims: dict[str, Any]) -> str:
    """Signed by the issuer's key with claims PyJWT would refuse (or fix up) when encoding."""
    header = _b64(json.dumps({"alg": "EdDSA", "kid": issuer.kid, "typ": "JWT"}).encode())
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(issuer.private_key.sign(signing_input.encode()))}"


def _padded(token: str, index: int) -> str:
    """The same token with `=` padding on one segment: another spelling of the same bytes."""
    segments = token.split(".")
    segments[index] += "=" * (-len(segments[index]) % 4)
    return ".".join(segments)


def _unpadded_length_not_a_multiple_of_4(issuer: TestIssuer, index: int) -> str:
    """A valid token whose segment `index` needs padding (so `_padded` changes it)."""
    for filler in range(4):
        token = issuer.mint(filler="x" * filler)
        if len(token.split(".")[index]) % 4:
            return token
    raise AssertionError("unreachable: four consecutive lengths cover every remainder")


def _low_bits_set(token: str) -> str:
    """The signature's last character with a padding bit set: decodes to the same bytes."""
    signing_input, _, signature = token.rpartition(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    assert len(signature) % 4 == 2  # the last character carries 4 padding bits
    last = alphabet[alphabet.index(signature[-1]) | 1]
    return f"{signing_input}.{signature[:-1]}{last}"


def _now() -> int:
    """Read at mint time: a module-level constant would age while other suites run first."""
    return int(time.time())


# (name, forge(issuer) -> token, expected part of the logged reason)
FORGERIES: list[tuple[str, Callable[[TestIssuer], str], str]] = [
    ("alg none", _alg_none, "algorithm not allowed"),
    ("HS256 keyed with the public key", _hs256_with_public_key, "algorithm not allowed"),
    (
        "foreign key with a real kid",
        lambda i: i.mint(key=Ed25519PrivateKey.generate()),
        "bad signature",
    ),
    ("ES256 with the kid of an Ed25519 key", _es256_with_real_kid, "does not match the key"),
    ("RS256 with the kid of an Ed25519 key", _rs256_with_real_kid, "does not match the key"),
    ("payload swapped under a valid signature", _tampered_payload, "bad signature"),
    ("expired", lambda i: i.mint(exp=_now() - 120), "expired"),
    ("not yet valid (nbf)", lambda i: i.mint(nbf=_now() + 3600), "not yet valid"),
    ("issued in the future (iat)", lambda i: i.mint(iat=_now() + 3600), "issued in the future"),
    ("wrong issuer", lambda i: i.mint(iss="https://evil.example"), "issuer not trusted"),
    ("wrong audience", lambda i: i.mint(aud="other-api"), "wrong audience"),
    ("wrong audience list", lambda i: i.mint(aud=["a", "b"]), "wrong audience"),
    ("missing sub", lambda i: i.mint(None), "sub"),
    ("numeric sub", lambda i: i.mint(42), "sub"),  # type: ignore[arg-type]
    ("missing exp", lambda i: i.mint(exp=None), "missing exp"),
    ("missing iss", lambda i: i.mint(iss=None), "missing or invalid iss"),
    ("missing aud", lambda i: i.mint(aud=None), "missing or invalid aud"),
    ("oversize", lambda i: i.mint(padding="x" * 9000), "larger than JWT_MAX_TOKEN_BYTES"),
    ("garbage", lambda _: "not-a-token", "malformed"),
    ("three garbage segments", lambda _: "a.b.c", "malformed"),
    ("empty", lambda _: "", "malformed"),
    ("deeply nested header", lambda _: f"{_b64(b'[' * 5000)}.e30.sig", "malformed"),
    ("header not an object", lambda _: f"{_b64(b'[1]')}.e30.sig", "malformed"),
    ("kid missing", lambda i: i.mint(headers={"kid": None}), "missing or invalid kid"),
    ("kid not a string", lambda i: _signed_raw(i, {"alg": "EdDSA", "kid": 7}), "malformed|kid"),
    ("kid too long", lambda i: i.mint(headers={"kid": "k" * 300}), "missing or invalid kid"),
    ("unknown kid", lambda i: i.mint(headers={"kid": "no-such-kid"}), "unknown kid"),
    # One token, one spelling: padding and non-canonical trailing bits are refused.
    (
        "padded header",
        lambda i: _padded(_unpadded_length_not_a_multiple_of_4(i, 0), 0),
        "base64url",
    ),
    (
        "padded payload",
        lambda i: _padded(_unpadded_length_not_a_multiple_of_4(i, 1), 1),
        "base64url",
    ),
    ("padded signature", lambda i: _padded(i.mint(), 2), "base64url"),
    ("signature with padding bits set", lambda i: _low_bits_set(i.mint()), "base64url"),
    # Numeric dates are JSON numbers: not strings, not booleans, not null.
    ("exp a numeric string", lambda i: _signed_claims(i, i.claims(exp=str(_now() + 60))), "exp"),
    ("exp true", lambda i: _signed_claims(i, i.claims(exp=True)), "exp"),
    ("iat a numeric string", lambda i: _signed_claims(i, i.claims(iat=str(_now()))), "iat"),
    ("iat null", lambda i: _signed_claims(i, {**i.claims(), "iat": None}), "iat"),
    ("nbf a numeric string", lambda i: _signed_claims(i, i.claims(nbf=str(_now()))), "nbf"),
    ("nbf false", lambda i: _signed_claims(i, i.claims(nbf=False)), "nbf"),
    # A bounded lifetime (JWT_MAX_LIFETIME_SECONDS, default one hour).
    ("exp NaN", lambda i: _signed_claims(i, i.claims(exp=float("nan"))), "malformed"),
    ("exp past a float", lambda i: _signed_claims(i, i.claims(exp=10**400)), "exp"),
    ("exp 1e20", lambda i: _signed_claims(i, i.claims(exp=1e20)), "lifetime"),
    ("exp - iat over an hour", lambda i: i.mint(exp=_now() + 3700), "lifetime"),
    ("exp - now over an hour", lambda i: i.mint(iat=None, exp=_now() + 3700), "lifetime"),
    ("empty sub", lambda i: i.mint(""), "sub"),
]


@pytest.fixture
async def verifier(
    issuer: TestIssuer,
    make_settings: Callable[..., VerifierSettings],
    make_verifier: Callable[..., TokenVerifier],
) -> TokenVerifier:
    return make_verifier(make_settings(issuer))


async def test_valid_token_gives_subject_and_claims(
    issuer: TestIssuer, verifier: TokenVerifier
) -> None:
    verified = await verifier.verify(issuer.mint("user-42"))

    assert verified.subject == "user-42"
    assert verified.claims["email"] == "user-42@example.com"
    assert verified.claims["aud"] == issuer.audience


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param(lambda: {"aud": ["other-api", "todo-api"]}, id="aud list containing ours"),
        pytest.param(lambda: {"exp": _now() - 10}, id="expired within leeway"),
        pytest.param(
            lambda: {"nbf": _now() + 10, "iat": _now() + 10}, id="future nbf/iat within leeway"
        ),
        pytest.param(lambda: {"iat": None}, id="no iat"),
    ],
)
async def test_tolerated_forms_are_accepted(
    issuer: TestIssuer, verifier: TokenVerifier, overrides: Callable[[], dict[str, Any]]
) -> None:
    verified = await verifier.verify(issuer.mint("user-1", **overrides()))

    assert verified.subject == "user-1"


@pytest.mark.parametrize(
    ("forge", "reason"),
    [pytest.param(forge, reason, id=name) for name, forge, reason in FORGERIES],
)
async def test_forged_and_invalid_tokens_are_refused(
    issuer: TestIssuer,
    verifier: TokenVerifier,
    forge: Callable[[TestIssuer], str],
    reason: str,
) -> None:
    await verifier.verify(issuer.mint())  # keys loaded: a refusal below is about the token
    token = forge(issuer)

    with pytest.raises(InvalidToken, match=reason):
        await verifier.verify(token)


@pytest.mark.parametrize("algorithms", ["none", "HS256", "EdDSA,HS512", "EdDSA,none", ""])
def test_symmetric_and_none_algorithms_cannot_be_configured(
    issuer: TestIssuer, make_settings: Callable[..., VerifierSettings], algorithms: str
) -> None:
    with pytest.raises(ValidationError, match="jwt_algorithms"):
        make_settings(issuer, jwt_algorithms=algorithms)


def test_algorithms_are_a_comma_list(
    issuer: TestIssuer, make_settings: Callable[..., VerifierSettings]
) -> None:
    settings = make_settings(issuer, jwt_algorithms=" EdDSA , ES256 ")

    assert settings.jwt_algorithms == ["EdDSA", "ES256"]


async def test_algorithm_outside_the_configured_allowlist_is_refused(
    issuer: TestIssuer,
    make_settings: Callable[..., VerifierSettings],
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    verifier = make_verifier(make_settings(issuer, jwt_algorithms="ES256,RS256"))

    with pytest.raises(InvalidToken, match="algorithm not allowed"):
        await verifier.verify(issuer.mint())
    assert issuer.fetch_count == 0  # refused before any key lookup


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://auth.example/api/auth/jwks", ""),
        ("http://auth:8000/api/auth/jwks", "localhost"),
        ("ftp://auth.example/jwks", "auth.example"),
        ("not a url", ""),
    ],
)
def test_plain_http_jwks_needs_an_allowed_host(url: str, allowed: str) -> None:
    with pytest.raises(ValidationError, match="JWKS_URL must be https"):
        VerifierSettings(_env_file=None, jwks_url=url, jwks_allow_http_hosts=allowed)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [("https://auth.example/api/auth/jwks", ""), ("http://auth:8000/api/auth/jwks", "auth,x")],
)
def test_https_or_allowed_http_jwks_is_accepted(url: str, allowed: str) -> None:
    settings = VerifierSettings(_env_file=None, jwks_url=url, jwks_allow_http_hosts=allowed)
    assert settings.jwks_url == url


def _jwk(**fields: Any) -> dict[str, Any]:
    return fields


def test_parse_jwks_keeps_only_public_signing_keys_of_allowed_types(issuer: TestIssuer) -> None:
    ed = issuer.public_jwk
    ec_key = json.loads(
        jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
    )
    private_ed = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate()))
    weak_rsa = json.loads(
        jwt.algorithms.RSAAlgorithm.to_jwk(
            rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()  # noqa: S505 (the weak key under test)
        )
    )
    document = {
        "keys": [
            ed,
            {**ec_key, "kid": "ec-no-alg"},
            {**ec_key, "kid": "ec-claims-rs256", "alg": "RS256"},
            {**ed, "kid": "encryption", "use": "enc"},
            {**private_ed, "kid": "private"},
            {**weak_rsa, "kid": "rsa-1024", "alg": "RS256"},
            _jwk(kty="oct", k="c2VjcmV0", kid="hmac"),
            _jwk(kty="OKP", crv="X25519", x=ed["x"], kid="x25519"),
            {**ed, "kid": None},
            "not an object",
        ]
    }

    keys = parse_jwks(document, ["EdDSA", "ES256", "RS256"])

    assert sorted(keys) == sorted([issuer.kid, "ec-no-alg"])
    assert set(keys[issuer.kid].by_algorithm) == {"EdDSA"}
    assert set(keys["ec-no-alg"].by_algorithm) == {"ES256"}


@pytest.mark.parametrize("document", [[], {"keys": "x"}, {"keys": []}, {"nokeys": 1}])
def test_parse_jwks_refuses_documents_without_usable_keys(document: Any) -> None:
    with pytest.raises(JwksError):
        parse_jwks(document, ["EdDSA"])


# A verified token is remembered (TokenVerifier): what can change between two requests of the
# same token is still checked on every one of them.


async def test_a_remembered_token_is_refused_once_it_expires(
    issuer: TestIssuer, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = issuer.mint("user-1", exp=_now() + 60)
    assert (await verifier.verify(token)).subject == "user-1"
    assert (await verifier.verify(token)).subject == "user-1"  # remembered

    later = time.time() + 200
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(InvalidToken, match="expired"):
        await verifier.verify(token)


async def test_a_remembered_token_is_refused_when_its_keys_are_unavailable(
    issuer: TestIssuer, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = issuer.mint("user-1")
    await verifier.verify(token)

    async def unavailable(self: JwksCache, kid: str) -> VerificationKey:
        raise KeysUnavailable("past JWKS_MAX_STALENESS_SECONDS")

    monkeypatch.setattr(JwksCache, "get", unavailable)
    with pytest.raises(InvalidToken, match="signing keys unavailable"):
        await verifier.verify(token)


async def test_a_remembered_token_is_verified_again_when_its_kid_names_another_key(
    issuer: TestIssuer, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issuer published a different key under the same kid: the token's signature is
    checked against it, and fails."""
    token = issuer.mint("user-1")
    await verifier.verify(token)
    public = jwt.algorithms.OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate().public_key())
    jwk = {**json.loads(public), "kid": issuer.kid, "alg": "EdDSA", "use": "sig"}
    replacement = parse_jwks({"keys": [jwk]}, ["EdDSA"])[issuer.kid]

    async def replaced(self: JwksCache, kid: str) -> VerificationKey:
        await asyncio.sleep(0)  # as a key lookup may: the two requests below interleave
        return replacement

    monkeypatch.setattr(JwksCache, "get", replaced)
    # Two requests with the same token at once both find it remembered, then changed.
    results = await asyncio.gather(
        verifier.verify(token), verifier.verify(token), return_exceptions=True
    )
    assert [type(result) for result in results] == [InvalidToken, InvalidToken]
    assert all("bad signature" in str(result) for result in results)


async def test_remembered_tokens_are_bounded(
    issuer: TestIssuer, make_settings: Callable[..., VerifierSettings]
) -> None:
    settings = make_settings(issuer)
    verifier = TokenVerifier(
        settings,
        {
            issuer.issuer: JwksCache(
                settings.jwks_policy, issuer=issuer.issuer, jwks_url=issuer.jwks_url, redis=None
            )
        },
        remembered=3,
    )
    try:
        tokens = [issuer.mint(f"user-{i}") for i in range(5)]
        for token in tokens:
            await verifier.verify(token)
        assert list(verifier._verified) == tokens[2:]  # the oldest forgotten first
        for i, token in enumerate(tokens):  # and a forgotten one is verified from scratch
            assert (await verifier.verify(token)).subject == f"user-{i}"
    finally:
        await verifier.aclose()
