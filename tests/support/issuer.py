"""A test JWT issuer: Ed25519 keys, a JWKS served over real HTTP, tokens minted on demand.

Tests verify tokens the way production does (fetching the JWKS over HTTP), so this issuer runs
a small HTTP server on 127.0.0.1 in a background thread instead of handing keys over in memory.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

JWKS_PATH = "/api/auth/jwks"


class _SigningKey:
    def __init__(self) -> None:
        self.kid = secrets.token_hex(8)
        self.private_key = Ed25519PrivateKey.generate()
        public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private_key.public_key()))
        self.public_jwk: dict[str, Any] = {**public, "kid": self.kid, "alg": "EdDSA", "use": "sig"}


class TestIssuer:
    """Serves `GET /api/auth/jwks` and mints EdDSA tokens signed by its current key.

    `failing = True` makes the endpoint answer 503; `redirect_to` makes it answer 302 there;
    `body` replaces the JWKS document with raw bytes; `fetch_count` counts JWKS requests;
    `rotate()` adds a new current key (keeping the old one published unless told otherwise).
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, *, audience: str = "todo-api", lifetime_seconds: int = 900) -> None:
        self.audience = audience
        self.lifetime_seconds = lifetime_seconds
        self.failing = False
        self.delay_seconds = 0.0  # how long each JWKS answer takes (a slow issuer)
        self.redirect_to: str | None = None
        self.body: bytes | None = None
        self.cache_max_age: int | None = 300
        self._keys = [_SigningKey()]
        self._lock = threading.Lock()
        self._fetch_count = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.issuer = self.base_url
        self.jwks_url = f"{self.base_url}{JWKS_PATH}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> TestIssuer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> TestIssuer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- keys ------------------------------------------------------------------------------

    @property
    def kid(self) -> str:
        """The kid of the key new tokens are signed with."""
        return self._keys[-1].kid

    @property
    def private_key(self) -> Ed25519PrivateKey:
        return self._keys[-1].private_key

    @property
    def public_jwk(self) -> dict[str, Any]:
        return dict(self._keys[-1].public_jwk)

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            return {"keys": [key.public_jwk for key in self._keys]}

    def rotate(self, *, keep_old: bool = True) -> str:
        """Sign with a fresh key from now on; returns its kid."""
        with self._lock:
            key = _SigningKey()
            self._keys = [*self._keys, key] if keep_old else [key]
        return key.kid

    @property
    def fetch_count(self) -> int:
        with self._lock:
            return self._fetch_count

    def reset_fetch_count(self) -> None:
        with self._lock:
            self._fetch_count = 0

    # -- tokens ----------------------------------------------------------------------------

    def claims(self, sub: str | None = "user-1", **overrides: Any) -> dict[str, Any]:
        """The claims `mint` would sign; an override of None removes that claim."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "iat": now,
            "exp": now + self.lifetime_seconds,
            "email": f"{sub}@example.com",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def mint(
        self,
        sub: str | None = "user-1",
        *,
        headers: dict[str, Any] | None = None,
        key: Ed25519PrivateKey | None = None,
        **overrides: Any,
    ) -> str:
        """An EdDSA token with a `kid` header; `headers` may replace or (with None) drop fields."""
        header: dict[str, Any] = {"kid": self.kid, **(headers or {})}
        header = {name: value for name, value in header.items() if value is not None}
        return jwt.encode(
            self.claims(sub, **overrides),
            key or self.private_key,
            algorithm="EdDSA",
            headers=header,
        )

    # -- HTTP ------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != JWKS_PATH:
                    self._send(404, b'{"detail": "not found"}')
                    return
                with issuer._lock:
                    issuer._fetch_count += 1
                time.sleep(issuer.delay_seconds)
                if issuer.failing:
                    self._send(503, b'{"detail": "unavailable"}')
                elif issuer.redirect_to is not None:
                    self._send(302, b"", headers={"Location": issuer.redirect_to})
                else:
                    body = issuer.body or json.dumps(issuer.jwks()).encode()
                    self._send(200, body, max_age=issuer.cache_max_age)

            def _send(
                self,
                status: int,
                body: bytes,
                *,
                max_age: int | None = None,
                headers: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if max_age is not None:
                    self.send_header("Cache-Control", f"public, max-age={max_age}")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Silence the default stderr access log."""

        return Handler
