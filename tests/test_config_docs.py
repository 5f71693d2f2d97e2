"""Every variable the services or compose read is documented, so `.env.example` never rots."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts.config_docs import variables

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_VARIABLES = sorted(variables())
COMPOSE_VARIABLES = sorted(
    set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))
)


@pytest.mark.parametrize("name", SETTINGS_VARIABLES + COMPOSE_VARIABLES)
def test_env_example_lists_variable(name: str) -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    assert any(re.match(rf"#?\s*{name}=", line) for line in lines), name


@pytest.mark.parametrize("name", SETTINGS_VARIABLES + COMPOSE_VARIABLES)
def test_readme_documents_variable(name: str) -> None:
    assert f"`{name}`" in (ROOT / "README.md").read_text(), name


def test_env_example_holds_no_real_secret() -> None:
    """Secrets in the example are placeholders the services refuse in production."""
    text = (ROOT / ".env.example").read_text()
    for name in ("KEY_ENCRYPTION_SECRET", "POSTGRES_PASSWORD"):
        value = re.search(rf"^#?\s*{name}=(.*)$", text, re.M)
        assert value is not None, name
        assert "insecure-" in value.group(1), name
