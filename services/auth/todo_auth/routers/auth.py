"""Signup, login and the public keys."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from todo_auth import repository
from todo_auth.dependencies import ClientIP, DatabaseDep, StateDep
from todo_auth.schemas import Jwks, LoginRequest, Token, UserCreate, UserPublic
from todo_shared.errors import Conflict, Unauthorized
from todo_shared.openapi import errors, header

router = APIRouter(tags=["auth"], responses=errors(503))

LOGIN_FAILED = "invalid email or password"


@router.post(
    "/api/auth/signup",
    status_code=201,
    responses=errors(400, 409, 413, 429, s409="The email is already registered (in any case)."),
)
async def signup(
    body: UserCreate,
    db: DatabaseDep,
    state: StateDep,
    client_ip: ClientIP,
) -> UserPublic:
    await state.limiter.check("signup", client_ip=client_ip, email=body.email)
    # Checked first to spare a bcrypt hash; the insert still catches a concurrent winner.
    if await repository.get_user_by_email(db, body.email) is not None:
        raise Conflict("email already registered")
    password_hash = await state.hasher.hash(body.password.get_secret_value())
    user = await repository.add_user(db, email=body.email, password_hash=password_hash)
    if user is None:
        raise Conflict("email already registered")
    return UserPublic.model_validate(user, from_attributes=True)


@router.post(
    "/api/auth/login",
    responses=errors(400, 401, 413, 429, s401="Unknown email or wrong password (one answer)."),
)
async def login(
    body: LoginRequest,
    db: DatabaseDep,
    state: StateDep,
    client_ip: ClientIP,
) -> Token:
    """One answer, after the same bcrypt work, for an unknown email and a wrong password."""
    await state.limiter.check("login", client_ip=client_ip, email=body.email)
    user = await repository.get_user_by_email(db, body.email)
    matches, upgraded_hash = await state.hasher.verify(
        body.password.get_secret_value(), user.password_hash if user else None
    )
    if user is None or not matches:
        await state.limiter.login_failed(client_ip=client_ip, email=body.email)
        raise Unauthorized(LOGIN_FAILED)
    if upgraded_hash is not None:  # made with an older cost: replace it while we have the password
        await repository.set_password_hash(db, user, upgraded_hash)
    settings = state.settings
    now = int(time.time())
    token = await state.keys.sign(
        {
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "sub": str(user.id),
            "iat": now,
            "exp": now + settings.access_token_ttl_seconds,
            "email": user.email,
        }
    )
    return Token(access_token=token, expires_in=settings.access_token_ttl_seconds)


JWKS_RESPONSE = {
    "model": Jwks,
    "description": "The public keys that verify this service's tokens.",
    "headers": {
        "Cache-Control": header("`public, max-age=JWKS_MAX_AGE_SECONDS`.", {"type": "string"})
    },
}


@router.get("/api/auth/jwks", responses={200: JWKS_RESPONSE})
@router.get(
    "/.well-known/jwks.json", operation_id="getWellKnownJwks", responses={200: JWKS_RESPONSE}
)
async def get_jwks(state: StateDep) -> JSONResponse:
    """Every key that signed a still-valid token, and the one signing now."""
    published = await state.keys.published()
    cache = f"public, max-age={state.settings.jwks_max_age_seconds}"
    return JSONResponse(dict(published.jwks), headers={"Cache-Control": cache})
