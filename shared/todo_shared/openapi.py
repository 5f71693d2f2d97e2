"""What the OpenAPI documents say beyond what FastAPI infers, and the page that shows them.

FastAPI documents a 422 nobody ever gets, no error bodies, no headers and no bounds that live
in settings. Routes declare their errors with `errors(...)` here; `install_openapi` then
finishes the generated document (no 422, query parameters that cannot be null, request
bodies whose defaults do not turn into required fields in generated clients) so that it
says exactly what the service answers. `install_docs` serves Swagger UI from assets in the
image (no CDN).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.staticfiles import StaticFiles

Document = dict[str, Any]
DocumentPatch = Callable[[Document], None]

# The version of the API contract (the documents' `info.version`), not of a package.
API_VERSION = "1.0.0"


class Error(BaseModel):
    """Every error except a validation failure: a short, stable message."""

    detail: str = Field(examples=["not found"])


class FieldError(BaseModel):
    """One refused field; the submitted value is never echoed (it may be a password)."""

    loc: list[str | int] = Field(examples=[["body", "title"]])
    msg: str = Field(examples=["String should have at least 1 character"])
    type: str = Field(examples=["string_too_short"])


class ValidationFailed(BaseModel):
    """400: the request does not fit the documented shape. From a service, `detail` lists every
    field error; the proxy refuses a malformed HTTP request itself, with a message."""

    detail: list[FieldError] | str


def header(description: str, schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    """A response header (required unless said otherwise), for a response's `headers`."""
    return {"description": description, "required": required, "schema": schema}


RETRY_AFTER = {"Retry-After": header("Seconds to wait before retrying.", {"type": "integer"})}
WWW_AUTHENTICATE = {"WWW-Authenticate": header("Always `Bearer`.", {"type": "string"})}
X_REQUEST_ID = {
    "X-Request-ID": header(
        "The request's id (the client's, when it looks like one), also in every log line.",
        {"type": "string"},
        required=False,
    )
}

_ERRORS: dict[int, tuple[type[BaseModel], str, dict[str, Any]]] = {
    400: (ValidationFailed, "The request does not fit the documented shape.", {}),
    401: (Error, "Missing, malformed, expired or wrongly signed token.", WWW_AUTHENTICATE),
    403: (Error, "The path's `user_id` is not the token's subject.", {}),
    404: (Error, "Not found.", {}),
    409: (Error, "Conflict with the current state.", {}),
    410: (Error, "No longer available.", {}),
    412: (Error, "A precondition (`If-Match`) does not hold: nothing changed.", {}),
    413: (Error, "The request body is over `MAX_BODY_BYTES` (1 MiB).", {}),
    429: (Error, "Too many attempts: wait `Retry-After` seconds.", RETRY_AFTER),
    503: (Error, "A dependency (the database) is unreachable: retry later.", RETRY_AFTER),
}


def errors(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route for these error statuses, with their bodies and headers.

    `descriptions` overrides a status's generic description: `errors(401, s401="...")`.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        model, description, headers = _ERRORS[code]
        responses[code] = {"model": model, "description": descriptions.get(f"s{code}", description)}
        if headers:
            responses[code]["headers"] = headers
    return responses


def operation_id(route: APIRoute) -> str:
    """`get_jwks` -> `getJwks`: short ids, stable while the function keeps its name."""
    head, *rest = route.name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def query_parameter(operation: str, name: str, schema: dict[str, Any]) -> DocumentPatch:
    """Replace a query parameter's schema, for bounds that come from settings."""

    def patch(document: Document) -> None:
        for op in _operations(document):
            if op.get("operationId") == operation:
                for parameter in op.get("parameters", ()):
                    if parameter["in"] == "query" and parameter["name"] == name:
                        parameter["schema"] = schema
                        return
        raise LookupError(f"no query parameter {name!r} in {operation!r}")

    return patch


def _operations(document: Document) -> Iterator[dict[str, Any]]:
    for item in document.get("paths", {}).values():
        yield from item.values()


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, null]` -> X (keeping the outer title/default)."""
    branches = [s for s in schema.get("anyOf", ()) if s.get("type") != "null"]
    if len(branches) != 1 or len(branches) == len(schema.get("anyOf", ())):
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**branches[0], **rest}


def _request_schemas(document: Document) -> set[str]:
    names = set()
    for op in _operations(document):
        for media in op.get("requestBody", {}).get("content", {}).values():
            ref = media.get("schema", {}).get("$ref", "")
            names.add(ref.rpartition("/")[2])
    return names


def finish(document: Document) -> None:
    """What is true of every operation of both services, applied to FastAPI's document."""
    schemas = document.get("components", {}).get("schemas", {})
    for op in _operations(document):
        # Validation failures are 400 (errors.py); FastAPI adds a 422 to any operation with input.
        op["responses"].pop("422", None)
        for resp in op["responses"].values():
            resp.setdefault("headers", {}).update(X_REQUEST_ID)
        # A query string cannot carry null: an optional parameter is simply absent.
        for parameter in op.get("parameters", ()):
            parameter["schema"] = _without_null(parameter["schema"])
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    # An optional request field with a `default` becomes a *required* property in
    # openapi-typescript's types (its default `defaultNonNullable`), so `{title}` would not
    # type-check; the default is said in the description instead.
    for name in _request_schemas(document):
        for prop in schemas.get(name, {}).get("properties", {}).values():
            if "default" in prop:
                default = json.dumps(prop.pop("default"))
                prop["description"] = f"{prop.get('description', '')} Omitted: `{default}`.".strip()


def install_openapi(app: FastAPI, patches: Sequence[DocumentPatch] = ()) -> None:
    """`app.openapi()` returns the finished document (built once, then cached)."""

    def openapi() -> Document:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=API_VERSION,
                description=app.description,
                routes=app.routes,
            )
            finish(document)
            for patch in patches:
                patch(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_ASSETS = files("fastapi_offline") / "static"
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Todo API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
<style>
.documents {{ font-family: sans-serif; display: flex; gap: 1rem; padding: 1rem 1.25rem 0; }}
.documents a[aria-current] {{ font-weight: bold; }}
</style>
</head>
<body>
<nav class="documents" aria-label="API documents">{links}</nav>
<main id="swagger-ui"></main>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>
const documents = {specs};
const chosen = new URLSearchParams(location.search).get("document");
const [id, url] = documents.find(([name]) => name === chosen) ?? documents[0];
const link = document.querySelector(`.documents a[data-document="${{id}}"]`);
link.setAttribute("aria-current", "page");
SwaggerUIBundle({{url: url, dom_id: "#swagger-ui", deepLinking: false}});
</script>
</body>
</html>
"""


def install_docs(app: FastAPI, path: str, documents: dict[str, str]) -> None:
    """Swagger UI at `path`, showing one document (`{name: url}`) at a time, chosen with
    `?document=<name's slug>` from links above it: two Swagger UI instances on one page share
    their schema selectors, so the second would list the first's schemas. Its assets are served
    under `path/assets` from the fastapi-offline package (Swagger UI 5, which reads OpenAPI 3.1)."""
    assets = f"{path}/assets"
    ids = {name: re.sub(r"\W+", "-", name.lower()) for name in documents}
    page = _PAGE.format(
        assets=assets,
        links="".join(
            f'<a href="{path}?document={ids[name]}" data-document="{ids[name]}">{name}</a>'
            for name in documents
        ),
        specs=json.dumps([[ids[name], url] for name, url in documents.items()]),
    )

    @app.get(path, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page)

    app.mount(assets, StaticFiles(directory=str(_ASSETS)), name="docs-assets")
