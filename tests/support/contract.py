"""Every response a test provokes must be one the OpenAPI document promises.

`Contract(document).check(response)` fails a test when the status is not documented for the
operation, or the body, content type or a header does not match what is documented for that
status. The service suites hook it into their HTTP clients (`contract_hooks`), so every
existing test is also a contract test; the e2e suite does the same through the proxy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jsonschema_rs

Document = dict[str, Any]


def _template(path: str) -> re.Pattern[str]:
    """`/api/{user_id}/tasks` -> a regex matching one non-empty segment per parameter."""
    parts = re.split(r"\{[^}]+\}", path)
    return re.compile("[^/]+".join(map(re.escape, parts)) + "$")


class Contract:
    def __init__(self, document: Document) -> None:
        self.document = document
        self._operations = [
            (method.upper(), _template(path), path, operation)
            for path, item in document["paths"].items()
            for method, operation in item.items()
        ]
        self._validators: dict[str, jsonschema_rs.Validator] = {}

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """The documented operation a request reached (its path template and definition)."""
        candidates = [
            (template, operation)
            for op_method, regex, template, operation in self._operations
            if op_method == method.upper() and regex.match(path)
        ]
        # A literal path wins over a template (there are none overlapping today).
        candidates.sort(key=lambda found: found[0].count("{"))
        return candidates[0] if candidates else None

    def _validator(self, schema: dict[str, Any]) -> jsonschema_rs.Validator:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            # `$ref: #/components/...` resolves against the root, so the root carries them.
            root = {**schema, "components": self.document.get("components", {})}
            self._validators[key] = jsonschema_rs.validator_for(root)
        return self._validators[key]

    def check(self, response: httpx.Response) -> None:
        """Assert that `response` (already read) is what its operation documents."""
        request = response.request
        found = self.operation(request.method, request.url.raw_path.decode().partition("?")[0])
        if found is None:  # not part of the API (health probes, the docs page)
            return
        template, operation = found
        where = f"{request.method} {template} -> {response.status_code}"
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, (
            f"{where} is not documented (documented: {sorted(operation['responses'])})"
        )
        content = documented.get("content")
        if content is None:
            assert response.content == b"", f"{where}: documented without a body"
        else:
            media_type = response.headers.get("content-type", "").partition(";")[0].strip()
            assert media_type in content, f"{where}: content type {media_type!r} not documented"
            errors = [
                f"{error.instance_path}: {error.message}"
                for error in self._validator(content[media_type]["schema"]).iter_errors(
                    response.json()
                )
            ]
            assert not errors, f"{where}: body does not match its schema: {errors}"
        for name, spec in documented.get("headers", {}).items():
            value = response.headers.get(name)
            if value is None:
                assert not spec.get("required"), f"{where}: required header {name} missing"
                continue
            typed: Any = int(value) if spec["schema"].get("type") == "integer" else value
            assert self._validator(spec["schema"]).is_valid(typed), (
                f"{where}: header {name}={value!r} does not match {spec['schema']}"
            )


def contract_hooks(
    contract: Contract,
) -> dict[str, list[Callable[[httpx.Response], Awaitable[None]]]]:
    """`event_hooks` for an `httpx.AsyncClient` that checks every response it receives."""

    async def check(response: httpx.Response) -> None:
        await response.aread()
        contract.check(response)

    return {"response": [check]}
