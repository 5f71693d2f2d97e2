"""What nginx answers by itself: every status it makes is JSON `{"detail": ...}` with a request
id, an unreachable service is a 503 with Retry-After, and query strings stay out of its log.

Most of these requests are malformed on purpose, so they go over a raw socket: httpx refuses
to send them.
"""

from __future__ import annotations

import json
import socket
import uuid
from dataclasses import dataclass

import pytest

from tests.e2e.stack import PASSWORD, Stack

TOKEN_CAP = 8192  # the services' JWT_MAX_TOKEN_BYTES


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # names lowercased
    body: bytes


def send_raw(stack: Stack, request: bytes) -> RawResponse:
    """One request on its own connection (nginx closes it after these errors anyway)."""
    url = stack.client.base_url
    with socket.create_connection((url.host, url.port or 80), timeout=15) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(int(status_line.split()[1]), headers, body)


def request(head: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [head, "Host: 127.0.0.1", *headers, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


NGINX_ERRORS = {
    "duplicate Authorization": (
        request("GET /api/u/tasks HTTP/1.1", "Authorization: Bearer a", "Authorization: Bearer b"),
        400,
    ),
    "Transfer-Encoding and Content-Length": (
        request(
            "POST /api/u/tasks HTTP/1.1",
            "Content-Length: 5",
            "Transfer-Encoding: chunked",
            body=b"0\r\n\r\n",
        ),
        400,
    ),
    "%00 in the path": (request("GET /api/%00/tasks HTTP/1.1"), 400),
    "lowercase method": (request("get /api/u/tasks HTTP/1.1"), 400),
    "no request line": (b"\x16\x03\x01\x00\x05hello\r\n\r\n", 400),
    "missing Host": (b"GET /api/u/tasks HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
    "TRACE": (request("TRACE /api/u/tasks HTTP/1.1"), 405),
    "body over 1 MiB": (
        request("POST /api/u/tasks HTTP/1.1", f"Content-Length: {1024 * 1024 + 1}"),
        413,
    ),
    "URI over 16 KiB": (request(f"GET /api/{'u' * 20_000}/tasks HTTP/1.1"), 414),
    "header over 16 KiB": (request("GET /api/u/tasks HTTP/1.1", f"X-Big: {'b' * 17_000}"), 431),
    "headers over 64 KiB": (
        request("GET /api/u/tasks HTTP/1.1", *(f"X-Big-{i}: {'b' * 15_000}" for i in range(5))),
        431,
    ),
    "unknown Transfer-Encoding": (
        request("POST /api/u/tasks HTTP/1.1", "Transfer-Encoding: gzip"),
        501,
    ),
    "HTTP/7.1": (request("GET /api/u/tasks HTTP/7.1"), 505),
    "the error page itself": (request("GET /.proxy-error HTTP/1.1"), 404),
}


@pytest.mark.parametrize(("raw", "status"), NGINX_ERRORS.values(), ids=NGINX_ERRORS.keys())
def test_every_status_nginx_makes_is_json_with_a_request_id(
    stack: Stack, raw: bytes, status: int
) -> None:
    response = send_raw(stack, raw)

    assert response.status == status, response
    assert response.headers["content-type"] == "application/json"
    assert response.headers.get("x-request-id")
    detail = json.loads(response.body)["detail"]
    assert isinstance(detail, str)
    assert detail


def test_a_token_at_the_services_cap_reaches_the_service(stack: Stack) -> None:
    """The proxy's header buffers hold a bearer token as large as the services accept, plus
    the usual headers: the answer is the service's own 401, not the proxy's refusal."""
    oversized_token = "a" * TOKEN_CAP
    response = stack.client.get(
        "/api/u/tasks",
        headers={"Authorization": f"Bearer {oversized_token}", "Cookie": "c=" + "x" * 2000},
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "invalid token"}


def test_the_access_log_never_holds_a_query_string(stack: Stack) -> None:
    secret = f"query-secret-{uuid.uuid4().hex}"
    request_id = f"e2e-query-{uuid.uuid4().hex[:8]}"
    stack.client.get(f"/api/u/tasks?access_token={secret}", headers={"X-Request-ID": request_id})

    log = stack.proxy_log(until=f"request_id={request_id}")
    (line,) = [line for line in log.splitlines() if f"request_id={request_id}" in line]
    assert '"GET /api/u/tasks HTTP/1.1"' in line
    assert secret not in line


def test_a_stopped_service_is_a_json_503_with_retry_after(stack: Stack) -> None:
    user = stack.new_user()
    credentials = {"email": user.email, "password": PASSWORD}
    stack.run("stop", "auth", timeout=120)
    try:
        responses = [stack.client.post("/api/auth/login", json=credentials) for _ in range(3)]
    finally:
        stack.run("start", "auth", timeout=120)
        stack.wait_healthy("auth", count=stack.scale.get("auth", 1))
        stack.wait_ready("auth")

    for response in responses:
        assert response.status_code == 503
        assert response.headers["Content-Type"] == "application/json"
        assert int(response.headers["Retry-After"]) > 0
        assert response.headers["X-Request-ID"]
        assert response.json() == {"detail": "service temporarily unavailable"}
    assert stack.login(user.email)  # and it is back


def test_head_answers_as_get_without_a_body(stack: Stack) -> None:
    user = stack.new_user()
    for path, headers in (("/api/auth/jwks", {}), (user.tasks_path, user.headers)):
        get = stack.client.get(path, headers=headers)
        head = stack.client.head(path, headers=headers)

        assert (head.status_code, head.content) == (200, b""), path
        assert head.headers["Content-Type"] == get.headers["Content-Type"]
        assert head.headers["Content-Length"] == get.headers["Content-Length"]
