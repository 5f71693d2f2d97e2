"""The FastAPI dependency that turns `Authorization: Bearer <token>` into a verified caller."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer

from todo_shared.app import service_state
from todo_shared.errors import Unauthorized
from todo_shared.tokens import InvalidToken, VerifiedToken, VerifierState

logger = logging.getLogger("todo.security")

# Declares the scheme in OpenAPI (`bearerAuth`) on every AuthenticatedRoute; the checking is
# get_current_user's, so this one never refuses anything itself.
bearer_scheme = HTTPBearer(
    bearerFormat="JWT",
    scheme_name="bearerAuth",
    description="An access token from `POST /api/auth/login` (or Better Auth's `jwt` plugin).",
    auto_error=False,
)


def bearer_token(request: Request) -> str:
    """The token of `Authorization: Bearer`; `InvalidToken` when there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("missing bearer token")
    return token.strip()


async def get_current_user(request: Request) -> VerifiedToken:
    """The verified token of the caller; any failure is one generic 401, the reason only logged.

    On an `AuthenticatedRoute` the token was verified already, before the body was read; the
    verifier remembers it, so verifying it again here is a lookup, and nothing is handed over
    on the request for a handler to trust unchecked.
    """
    verifier = service_state(request.app, VerifierState).verifier
    try:
        return await verifier.verify(bearer_token(request))
    except InvalidToken as exc:
        logger.info("token refused", extra={"reason": str(exc), "path": request.url.path})
        raise Unauthorized from None


class AuthenticatedRoute(APIRoute):
    """A route that settles who is calling before FastAPI reads the request body.

    FastAPI parses a JSON body before it runs any dependency, so without this a caller with
    no token but a malformed body would learn "400" instead of "401". Subclasses may refuse
    the verified caller too (`authorize`), with the same precedence over the body.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        dependencies = [*(kwargs.pop("dependencies", None) or ()), Security(bearer_scheme)]
        super().__init__(path, endpoint, dependencies=dependencies, **kwargs)

    def authorize(self, request: Request, caller: VerifiedToken) -> None:
        """Raise an `AppError` to refuse a caller whose token is valid."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticated_handler(request: Request) -> Response:
            self.authorize(request, await get_current_user(request))
            return await handler(request)

        return authenticated_handler


CurrentUser = Annotated[VerifiedToken, Depends(get_current_user)]
