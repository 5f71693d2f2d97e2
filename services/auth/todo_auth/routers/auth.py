"""Signup, login, refresh, sessions, password change and the public keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from todo_auth import repository, sessions
from todo_auth.dependencies import (
    BEARER,
    CallerDep,
    ClientIP,
    DatabaseDep,
    StateDep,
    UserAgent,
)
from todo_auth.schemas import (
    Jwks,
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    SessionPublic,
    Token,
    UserCreate,
    UserPublic,
)
from todo_auth.state import AuthState
from todo_shared.errors import Conflict, NotFound, Unauthorized
from todo_shared.openapi import errors, header

router = APIRouter(tags=["auth"], responses=errors(503))

LOGIN_FAILED = "invalid email or password"
REFRESH_FAILED = "invalid refresh token"
WRONG_PASSWORD = "wrong current password"  # noqa: S105  # a message, not a secret
S401_CALLER = "No token, a bad one, or its session has ended."


def _token(state: AuthState, tokens: sessions.Tokens) -> Token:
    return Token(
        access_token=tokens.access_token,
        expires_in=state.settings.access_token_ttl_seconds,
        refresh_token=tokens.refresh_token,
        refresh_expires_in=state.settings.refresh_token_ttl_seconds,
    )


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
    user_agent: UserAgent,
) -> Token:
    """One answer, after the same bcrypt work, for an unknown email and a wrong password.
    A success starts a session: the access token's `sid`, and its first refresh token."""
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
    tokens = await sessions.start(state, user_id=user.id, email=user.email, user_agent=user_agent)
    return _token(state, tokens)


@router.post(
    "/api/auth/refresh",
    responses=errors(
        400,
        401,
        413,
        429,
        s401="Unknown, expired or spent refresh token, or its session ended. A spent one "
        "presented again ends its session (reuse detection).",
    ),
)
async def refresh(body: RefreshRequest, state: StateDep, client_ip: ClientIP) -> Token:
    """The next access and refresh tokens of the session; the one sent is spent."""
    await state.limiter.check_refresh(client_ip=client_ip)
    tokens = await sessions.refresh(state, body.refresh_token.get_secret_value())
    if tokens is None:
        raise Unauthorized(REFRESH_FAILED)
    return _token(state, tokens)


@router.get("/api/auth/sessions", dependencies=[BEARER], responses=errors(401, s401=S401_CALLER))
async def list_sessions(caller: CallerDep, state: StateDep) -> list[SessionPublic]:
    """The caller's live sessions, the most recently used first."""
    live = await repository.live_sessions(
        state.database, caller.user_id, idle_seconds=state.settings.refresh_token_ttl_seconds
    )
    return [
        SessionPublic(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            user_agent=session.user_agent,
            current=session.id == caller.sid,
        )
        for session in live
    ]


@router.delete(
    "/api/auth/sessions/{sid}",
    status_code=204,
    dependencies=[BEARER],
    responses=errors(
        400, 401, 404, s401=S401_CALLER, s404="No live session of the caller's has it."
    ),
)
async def end_session(
    sid: Annotated[str, Path(min_length=1, max_length=64)], caller: CallerDep, state: StateDep
) -> Response:
    """End one of the caller's sessions (the current one too): its tokens stop working."""
    ended = await repository.end_session(state.database, sid, user_id=caller.user_id)
    if not ended:
        raise NotFound("session not found")
    await sessions.end(state, ended)
    return Response(status_code=204)


@router.post(
    "/api/auth/logout",
    status_code=204,
    dependencies=[BEARER],
    responses=errors(401, s401=S401_CALLER),
)
async def logout(caller: CallerDep, state: StateDep) -> Response:
    """End the session of this token."""
    await sessions.end(state, await repository.end_session(state.database, caller.sid))
    return Response(status_code=204)


@router.post(
    "/api/auth/logout-all",
    status_code=204,
    dependencies=[BEARER],
    responses=errors(401, s401=S401_CALLER),
)
async def logout_all(caller: CallerDep, state: StateDep) -> Response:
    """End every session of the caller, this one included."""
    await sessions.end(state, await repository.end_user_sessions(state.database, caller.user_id))
    return Response(status_code=204)


@router.post(
    "/api/auth/password",
    status_code=204,
    dependencies=[BEARER],
    responses=errors(
        400,
        401,
        413,
        429,
        s401="Wrong current password (counted as a failed login), or "
        + S401_CALLER[0].lower()
        + S401_CALLER[1:],
    ),
)
async def change_password(
    body: PasswordChange, caller: CallerDep, state: StateDep, client_ip: ClientIP
) -> Response:
    """Set a new password and end every other session (this one goes on)."""
    user = await repository.get_user(state.database, caller.user_id)
    if user is None:
        raise Unauthorized
    await state.limiter.check("login", client_ip=client_ip, email=user.email)
    matches, _ = await state.hasher.verify(
        body.current_password.get_secret_value(), user.password_hash
    )
    if not matches:
        await state.limiter.login_failed(client_ip=client_ip, email=user.email)
        raise Unauthorized(WRONG_PASSWORD)
    password_hash = await state.hasher.hash(body.new_password.get_secret_value())
    await repository.set_password_hash(state.database, user, password_hash)
    ended = await repository.end_user_sessions(state.database, user.id, keep=caller.sid)
    await sessions.end(state, ended)
    return Response(status_code=204)


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
