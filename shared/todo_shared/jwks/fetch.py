"""One bounded download of an issuer's JWKS: total timeout, no redirects, size cap."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Collection

import httpx

from todo_shared.jwks.keys import FetchedKeys, JwksError, parse_jwks

logger = logging.getLogger("todo.jwks")

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)


class JwksFetcher:
    """GETs one JWKS URL. Its TTL is the configured one, shortened by a smaller
    `Cache-Control: max-age`, but never below the refetch cooldown (a `max-age=0` must not
    mean a fetch per request)."""

    def __init__(
        self,
        url: str,
        *,
        algorithms: Collection[str],
        max_bytes: int,
        timeout: float,
        ttl: float,
        min_ttl: float,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self._algorithms = frozenset(algorithms)
        self._max_bytes = max_bytes
        self._ttl = ttl
        self._min_ttl = min_ttl
        self._http = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, headers={"Accept": "application/json"}
        )

    async def fetch(self) -> FetchedKeys:
        """The issuer's usable keys now, or JwksError."""
        try:
            async with asyncio.timeout(self.timeout):
                body, cache_control = await self._download()
        except (httpx.HTTPError, TimeoutError) as exc:
            raise JwksError(f"JWKS fetch failed: {type(exc).__name__}") from None
        try:
            document = json.loads(body)
        except ValueError:
            raise JwksError("JWKS response is not JSON") from None
        keys = parse_jwks(document, self._algorithms)
        logger.info("fetched JWKS", extra={"jwks_url": self.url, "keys": len(keys)})
        return FetchedKeys(keys, document, time.time(), self._ttl_for(cache_control))

    async def _download(self) -> tuple[bytes, str | None]:
        async with self._http.stream("GET", self.url) as response:
            if response.status_code != 200:
                raise JwksError(f"JWKS endpoint answered {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise JwksError("JWKS response exceeds JWKS_MAX_BYTES")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_bytes:
                    raise JwksError("JWKS response exceeds JWKS_MAX_BYTES")
            return bytes(body), response.headers.get("cache-control")

    def _ttl_for(self, cache_control: str | None) -> float:
        match = _MAX_AGE.search(cache_control or "")
        if match is None:
            return self._ttl
        return min(self._ttl, max(float(match.group(1)), self._min_ttl))

    async def aclose(self) -> None:
        await self._http.aclose()
