"""Traces through the proxy: a client's `traceparent` reaches the service and names the trace
in its log line; without one, nginx starts a trace of its own."""

from __future__ import annotations

import json
import re
import uuid

from tests.e2e.stack import Stack, wait_until

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def _logged(stack: Stack, request_id: str) -> dict[str, object] | None:
    """The tasks service's access line of `request_id`, once it is written."""
    for line in stack.run("logs", "--no-log-prefix", "tasks").splitlines():
        if request_id in line and line.startswith("{"):
            entry: dict[str, object] = json.loads(line)
            if entry.get("msg") == "request" and entry.get("request_id") == request_id:
                return entry
    return None


def test_the_client_s_traceparent_names_the_trace_in_the_service_s_log(stack: Stack) -> None:
    user = stack.new_user()
    given, started = f"e2e-trace-{uuid.uuid4().hex[:8]}", f"e2e-trace-{uuid.uuid4().hex[:8]}"
    traceparent = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
    stack.client.get(
        user.tasks_path, headers={**user.headers, "X-Request-ID": given, "traceparent": traceparent}
    )
    stack.client.get(user.tasks_path, headers={**user.headers, "X-Request-ID": started})

    with_header = wait_until(lambda: _logged(stack, given), 30, f"the log line of {given}")
    without = wait_until(lambda: _logged(stack, started), 30, f"the log line of {started}")
    assert with_header["trace_id"] == TRACE_ID
    # nginx's own: a fresh 32-hex trace id (its $request_id), not the client's request id.
    assert re.fullmatch(r"[0-9a-f]{32}", str(without["trace_id"]))
    assert without["trace_id"] != TRACE_ID
