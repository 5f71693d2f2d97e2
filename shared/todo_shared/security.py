"""The FastAPI dependency that turns `Authorization: Bearer <token>` into a verified caller."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Request

from todo_shared.errors import Unauthorized
from todo_shared.tokens import InvalidToken, TokenVerifier, VerifiedToken

logger = logging.getLogger("todo.auth")


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("missing bearer token")
    return token.strip()


async def get_current_user(request: Request) -> VerifiedToken:
    """The verified token of the caller; any failure is one generic 401, the reason only logged."""
    verifier: TokenVerifier = request.app.state.verifier
    try:
        return await verifier.verify(_bearer_token(request))
    except InvalidToken as exc:
        logger.info("token refused", extra={"reason": str(exc), "path": request.url.path})
        raise Unauthorized from None


CurrentUser = Annotated[VerifiedToken, Depends(get_current_user)]
