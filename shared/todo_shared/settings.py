"""Settings every service has, and those of a service that accepts bearer tokens.

Each service subclasses `ServiceSettings` (or `VerifierSettings`) once.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AnyUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from todo_shared.jwks.cache import JwksPolicy
from todo_shared.jwks.keys import KEY_TYPES

# Secrets shipped in docker-compose.yml and .env.example for local use start with this marker;
# a production deployment refuses to start with any of them.
PLACEHOLDER_MARKERS = ("insecure-", "changethis")


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


DEFAULT_ALGORITHMS = ("EdDSA", "ES256", "RS256")


# A list given in the environment as `a,b,c` rather than as JSON.
CommaSeparated = Annotated[list[str], NoDecode, BeforeValidator(_split_commas)]


def is_placeholder(secret: str) -> bool:
    lowered = secret.lower()
    return any(marker in lowered for marker in PLACEHOLDER_MARKERS)


class ServiceSettings(BaseSettings):
    """Environment (or `.env`) configuration shared by both services."""

    # hide_input_in_errors: a refused setting must not print the secrets around it.
    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, extra="ignore", hide_input_in_errors=True
    )

    # Both services name the same two claims: auth signs them, tasks requires them.
    jwt_issuer: str = Field(
        default="http://localhost:8080",
        description="The tokens' `iss`, the public base URL: **auth** puts it in the tokens it "
        "issues; **tasks** requires it (one-issuer shorthand with `JWKS_URL`).",
    )
    jwt_audience: str = Field(
        default="http://localhost:8080",
        description="The tokens' `aud` (usually the same URL): **auth** puts it in its tokens; "
        "**tasks** requires it (one-issuer shorthand; a token's `aud` may be a list "
        "containing it).",
    )
    environment: Literal["development", "test", "production"] = Field(
        default="development",
        description="`production` refuses placeholder secrets (values containing `insecure-`).",
    )
    database_url: str = Field(
        default="postgresql://todo:insecure-local-password@localhost:5432/todo",
        description="This service's own PostgreSQL database (libpq URL; `sslmode` understood).",
    )
    host: str = Field(
        default="0.0.0.0",  # noqa: S104  # inside a container
        description="Address `serve` listens on.",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` listens on.")
    metrics_port: int = Field(
        default=9000,
        ge=0,
        le=65535,
        description="Port of the Prometheus metrics (every worker's, added up), served by "
        "`serve` beside the API on HOST and never through the proxy; 0 serves none.",
    )
    metrics_dir: str = Field(
        default="",
        description="Directory where each uvicorn worker keeps its metrics: `serve` empties "
        "it at every start and hands it to the workers as PROMETHEUS_MULTIPROC_DIR "
        "(prometheus-client's multi-process mode; do not set that one yourself). Empty: "
        "`<temp dir>/todo-<service>-metrics-<PORT>`.",
    )
    web_concurrency: int = Field(
        default=1, ge=1, description="uvicorn worker processes `serve` starts."
    )
    db_pool_size: int = Field(
        default=20,
        ge=1,
        description="Most database connections a worker holds; each opens when first needed "
        "and closes after five idle minutes. A request waiting longer than "
        "DB_CONNECT_TIMEOUT_SECONDS for one answers 503.",
    )
    db_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Connecting (or waiting for a pooled connection) gives up."
    )
    db_startup_timeout_seconds: float = Field(
        default=60.0,
        ge=0,
        description="At start-up (`serve`, `migrate`), how long an unreachable database is "
        "retried before giving up.",
    )
    db_statement_timeout_seconds: float = Field(
        default=10.0, gt=0, description="A statement running longer is cancelled."
    )
    redis_url: str = Field(
        default="redis://localhost:6379/0",
        description="Shared JWKS cache and rate-limit counters.",
    )
    redis_timeout_seconds: float = Field(
        default=0.5, gt=0, description="Redis is an accelerator: give up on it quickly."
    )
    cors_origins: CommaSeparated = Field(
        default_factory=lambda: ["http://localhost:3000"],
        description="Browser origins allowed to call the API (comma-separated).",
    )
    trusted_proxies: CommaSeparated = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="Networks whose `X-Forwarded-For` is believed (the reverse proxy's).",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1, description="Larger request bodies are refused with 413."
    )
    log_level: str = Field(default="INFO", description="Python log level of the JSON logs.")
    api_docs: bool = Field(
        default=True,
        description="Serve the OpenAPI document (and, tasks, the `/api/docs` page); "
        "`false` hides them.",
    )
    retry_after_seconds: int = Field(
        default=5, ge=1, description="`Retry-After` sent with 503 while the database is down."
    )
    otel_exporter_otlp_endpoint: str = Field(
        default="",
        description="OpenTelemetry collector (OTLP over HTTP, e.g. `http://collector:4318`) "
        "to which every request's span is sent, a child of its `traceparent`; empty: no "
        "spans (log lines still carry the `traceparent`'s `trace_id`).",
    )

    def secrets_to_check(self) -> dict[str, str]:
        """Secrets that must not be placeholders in production; services add their own."""
        password = AnyUrl(self.database_url).password or ""
        return {"DATABASE_URL password": password}

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> ServiceSettings:
        if self.environment != "production":
            return self
        secrets = self.secrets_to_check()
        bad = sorted(name for name, value in secrets.items() if is_placeholder(value))
        if bad:
            raise ValueError(f"placeholder secrets are not allowed in production: {', '.join(bad)}")
        return self


class TrustedIssuer(BaseModel):
    """One issuer whose tokens are accepted: its `iss`, where its keys are, and our `aud`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1)
    jwks_url: str = Field(min_length=1)
    audience: str = Field(min_length=1)


_SHORTHAND = ("jwks_url", "jwt_issuer", "jwt_audience")


class VerifierSettings(ServiceSettings):
    """Settings of a service that accepts bearer tokens (env names are the upper-cased fields).

    The trusted issuers are `JWT_ISSUERS`, or else the one issuer of the shorthand
    `JWKS_URL`, `JWT_ISSUER`, `JWT_AUDIENCE`; setting both is refused, so a forgotten
    shorthand variable can never silently add or hide an issuer.
    """

    jwt_issuers: list[TrustedIssuer] | None = Field(
        default=None,
        description="Trusted issuers, a JSON list of "
        '`{"issuer": ..., "jwks_url": ..., "audience": ...}`; a token\'s `iss` picks one. '
        "Unset: the one issuer of `JWKS_URL`, `JWT_ISSUER`, `JWT_AUDIENCE` (not both).",
    )
    jwks_url: str = Field(
        default="http://localhost:8080/api/auth/jwks",
        description="One-issuer shorthand: where the issuer publishes its public keys (JWKS).",
    )
    jwt_algorithms: CommaSeparated = Field(
        default_factory=lambda: list(DEFAULT_ALGORITHMS),
        description="Accepted signature algorithms, comma-separated; `none` and HS* are refused.",
    )
    jwt_leeway_seconds: float = Field(
        default=30, ge=0, le=300, description="Clock skew tolerated on `exp`, `nbf` and `iat`."
    )
    jwt_max_lifetime_seconds: float = Field(
        default=3600,
        gt=0,
        description="Tokens living longer (`exp - iat`, or `exp - now` without `iat`) are "
        "refused; keep it at least the issuers' lifetime (the auth service's "
        "`ACCESS_TOKEN_TTL_SECONDS`, Better Auth's 15 minutes).",
    )
    jwt_max_token_bytes: int = Field(
        default=8192, ge=256, description="Longer bearer tokens are refused unparsed."
    )
    jwks_allow_http_hosts: CommaSeparated = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "::1"],
        description="Hosts whose JWKS may be fetched over plain HTTP (e.g. the compose `auth`).",
    )
    jwks_fetch_timeout_seconds: float = Field(
        default=5, gt=0, le=60, description="Total time allowed for one JWKS fetch."
    )
    jwks_max_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest JWKS response accepted."
    )
    jwks_cache_ttl_seconds: float = Field(
        default=300,
        gt=0,
        description=(
            "Keys older than this are refreshed in the background; a smaller Cache-Control "
            "max-age from the issuer shortens it (never below the refetch cooldown)."
        ),
    )
    jwks_refetch_cooldown_seconds: float = Field(
        default=30,
        gt=0,
        description="An unknown `kid` causes at most one JWKS fetch per this long (all replicas).",
    )
    jwks_unknown_kid_ttl_seconds: float = Field(
        default=5, gt=0, description="How long a `kid` found unknown is refused without a lookup."
    )
    jwks_retry_seconds: float = Field(
        default=5, gt=0, description="Wait after a failed JWKS fetch before trying again."
    )
    jwks_max_staleness_seconds: float = Field(
        default=24 * 3600,
        gt=0,
        description=(
            "While the JWKS endpoint fails, cached keys keep working until this old; "
            "then tokens are refused and readiness fails."
        ),
    )
    jwks_redis_key: str = Field(
        default="todo:jwks", min_length=1, description="Prefix of the Redis keys of the JWKS cache."
    )

    @field_validator("jwt_algorithms")
    @classmethod
    def _only_asymmetric(cls, algorithms: list[str]) -> list[str]:
        refused = [alg for alg in algorithms if alg not in KEY_TYPES]
        if refused:
            raise ValueError(
                f"unsupported algorithms {refused}: choose from {', '.join(KEY_TYPES)}"
                " (`none` and HS* are never accepted)"
            )
        if not algorithms:
            raise ValueError("at least one algorithm is required")
        return algorithms

    @property
    def trusted_issuers(self) -> list[TrustedIssuer]:
        """`JWT_ISSUERS`, or the one issuer the shorthand describes."""
        if self.jwt_issuers is not None:
            return self.jwt_issuers
        return [
            TrustedIssuer(
                issuer=self.jwt_issuer, jwks_url=self.jwks_url, audience=self.jwt_audience
            )
        ]

    @property
    def jwks_policy(self) -> JwksPolicy:
        return JwksPolicy(
            algorithms=self.jwt_algorithms,
            max_bytes=self.jwks_max_bytes,
            fetch_timeout=self.jwks_fetch_timeout_seconds,
            cache_ttl=self.jwks_cache_ttl_seconds,
            refetch_cooldown=self.jwks_refetch_cooldown_seconds,
            max_staleness=self.jwks_max_staleness_seconds,
            retry=self.jwks_retry_seconds,
            unknown_kid_ttl=self.jwks_unknown_kid_ttl_seconds,
            redis_key=self.jwks_redis_key,
        )

    @model_validator(mode="after")
    def _one_way_to_name_issuers(self) -> VerifierSettings:
        if self.jwt_issuers is None:
            self._require_https(self.jwks_url, "JWKS_URL")
            return self
        shorthand = sorted(name.upper() for name in _SHORTHAND if name in self.model_fields_set)
        if shorthand:
            raise ValueError(
                f"JWT_ISSUERS and {', '.join(shorthand)} are both set: use JWT_ISSUERS alone "
                "(or unset it to use the one-issuer shorthand JWKS_URL, JWT_ISSUER, JWT_AUDIENCE)"
            )
        if not self.jwt_issuers:
            raise ValueError("JWT_ISSUERS is empty: at least one issuer is required")
        names = [trusted.issuer for trusted in self.jwt_issuers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"JWT_ISSUERS names an issuer more than once: {duplicates}")
        for index, trusted in enumerate(self.jwt_issuers):
            self._require_https(trusted.jwks_url, f"JWT_ISSUERS[{index}].jwks_url")
        return self

    def _require_https(self, url: str, name: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return
        if parts.scheme == "http" and parts.hostname in self.jwks_allow_http_hosts:
            return
        raise ValueError(
            f"{name} must be https:// (plain http only for a host in JWKS_ALLOW_HTTP_HOSTS)"
        )
