"""The committed contract (openapi/*.json, the TypeScript client) never drifts from the code.

After changing a route, a schema or a status: `scripts/openapi.sh`, then commit the result.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from scripts.openapi import OUT, documents, render
from tests.support.contract import Contract
from todo_auth.schemas import UserCreate

CLIENT = Path(__file__).resolve().parents[1] / "clients" / "typescript"
DOCUMENTS = documents()


def _npm_bin(name: str) -> str:
    """A tool of the client package; `scripts/test.sh` runs `npm ci` there first."""
    tool = CLIENT / "node_modules" / ".bin" / name
    assert tool.exists(), f"{tool} missing: run `npm ci` in clients/typescript"
    return str(tool)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_committed_document_is_what_the_app_generates(name: str) -> None:
    committed = (OUT / f"{name}.json").read_text()
    assert committed == render(DOCUMENTS[name]), "run scripts/openapi.sh and commit the result"


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_committed_client_types_are_what_openapi_typescript_generates(name: str) -> None:
    generated = subprocess.run(
        [_npm_bin("openapi-typescript"), str(OUT / f"{name}.json")],
        capture_output=True,
        text=True,
        check=True,
        cwd=CLIENT,
    ).stdout
    committed = (CLIENT / "src" / "generated" / f"{name}.ts").read_text()
    assert committed == generated, "run scripts/openapi.sh and commit the result"


def _frontend_limits() -> dict[str, int]:
    source = (CLIENT.parent.parent / "frontend" / "lib" / "limits.ts").read_text()
    return {
        name: int(value.replace("_", ""))
        for name, value in re.findall(r"export const (\w+) = ([\d_]+);", source)
    }


def test_the_web_apps_limits_are_the_documented_ones() -> None:
    """frontend/lib/limits.ts, the forms' one source of bounds, says what the documents say."""
    task = DOCUMENTS["tasks"]["components"]["schemas"]["TaskCreate"]["properties"]
    password = DOCUMENTS["auth"]["components"]["schemas"]["UserCreate"]["properties"]["password"]
    assert _frontend_limits() == {
        "TITLE_MAX_LENGTH": task["title"]["maxLength"],
        "DESCRIPTION_MAX_LENGTH": task["description"]["anyOf"][0]["maxLength"],
        "LABEL_MAX_LENGTH": task["labels"]["items"]["maxLength"],
        "LABELS_MAX": task["labels"]["maxItems"],
        "PASSWORD_MIN_LENGTH": password["minLength"],
        "PASSWORD_MAX_BYTES": password["maxLength"],
    }


def test_client_type_checks_strictly() -> None:
    """Also compiles test/usage.ts: the calls a front end makes, against the real types."""
    assert shutil.which("node"), "Node.js is needed to check the TypeScript client"
    result = subprocess.run(
        [_npm_bin("tsc"), "--noEmit", "-p", "."], capture_output=True, text=True, cwd=CLIENT
    )
    assert result.returncode == 0, result.stdout + result.stderr


# The auth service's operations on the caller's own sessions and password.
SESSION_PATHS = {
    "/api/auth/sessions",
    "/api/auth/sessions/{sid}",
    "/api/auth/logout",
    "/api/auth/logout-all",
    "/api/auth/password",
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_operation_documents_its_errors_and_auth(name: str) -> None:
    document = DOCUMENTS[name]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            assert "422" not in responses, where
            assert "503" in responses, where  # every operation reaches the database
            protected = "security" in operation
            owned = path.startswith("/api/{user_id}/")
            assert protected == (owned or path in SESSION_PATHS), where
            if protected:
                assert ({"401", "403"} if owned else {"401"}) <= set(responses), where
                assert operation["security"] == [{"bearerAuth": []}], where
            if "requestBody" in operation:
                assert {"400", "413"} <= set(responses), where
    assert "HTTPValidationError" not in document["components"]["schemas"]


def _response(status: int, body: Any, method: str = "GET", **headers: str) -> httpx.Response:
    request = httpx.Request(method, "http://tasks.test/api/alice/tasks/1")
    return httpx.Response(status, json=body, headers=headers, request=request)


def test_the_contract_check_refuses_what_the_document_does_not_say() -> None:
    """The hook that makes every service test a contract test can fail."""
    contract = Contract(DOCUMENTS["tasks"])
    contract.check(_response(404, {"detail": "not found"}))
    with pytest.raises(AssertionError, match="422 is not documented"):
        contract.check(_response(422, {"detail": []}))
    with pytest.raises(AssertionError, match="body does not match"):
        contract.check(_response(404, {"error": "not found"}))
    with pytest.raises(AssertionError, match="required header WWW-Authenticate"):
        contract.check(_response(401, {"detail": "invalid token"}))
    with pytest.raises(AssertionError, match="body does not match"):
        contract.check(_response(200, {"id": 1, "title": None}))


@pytest.mark.parametrize(
    ("email", "valid"),
    [
        ("ada@example.com", True),
        ("a.b+c@mail.example.org", True),
        ("ada@kzrmyj42.test", False),  # found by schemathesis: documented valid, refused
        ("ada@printer.LOCAL", False),
        ("ada@x.onion", False),
        ("ada@10.in-addr.arpa", False),
        (f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 63}.com", False),  # 258 bytes
    ],
)
def test_the_documented_email_rules_are_the_validators(email: str, valid: bool) -> None:
    schema = DOCUMENTS["auth"]["components"]["schemas"]["UserCreate"]["properties"]["email"]
    documented = len(email) <= schema["maxLength"] and re.search(schema["pattern"], email)
    try:
        UserCreate(email=email, password="correct horse battery")
        accepted = True
    except ValidationError:
        accepted = False
    assert (accepted, bool(documented)) == (valid, valid)
