"""Every variable the services or compose read is documented, so the docs never rot."""

from __future__ import annotations

import re
from pathlib import Path

from scripts.config_docs import markdown, variables

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATION_DOCS = ROOT / "docs" / "configuration.md"
COMPOSE_VARIABLES = set(
    re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text())
)
ALL_VARIABLES = set(variables()) | COMPOSE_VARIABLES


def test_env_example_lists_every_variable() -> None:
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert ALL_VARIABLES - listed == set()


def test_configuration_docs_name_every_variable() -> None:
    documented = CONFIGURATION_DOCS.read_text()
    assert {name for name in ALL_VARIABLES if f"`{name}`" not in documented} == set()


def test_configuration_table_matches_settings() -> None:
    """Regenerate with `uv run python -m scripts.config_docs` after changing a setting."""
    assert markdown() in CONFIGURATION_DOCS.read_text()


def test_env_example_holds_no_real_secret() -> None:
    """Secrets in the example are placeholders the services refuse in production."""
    text = (ROOT / ".env.example").read_text()
    for name in ("KEY_ENCRYPTION_SECRET", "POSTGRES_PASSWORD"):
        value = re.search(rf"^#?\s*{name}=(.*)$", text, re.M)
        assert value is not None, name
        assert "insecure-" in value.group(1), name
