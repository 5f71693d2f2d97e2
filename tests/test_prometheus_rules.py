"""The Prometheus configuration and its rules, checked by promtool: the scrape configuration
and the rules load, and every alert fires on the series that mean it and not on their healthy
neighbours (monitoring/prometheus/rules.test.yml)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

PROMETHEUS_DIR = Path(__file__).resolve().parents[1] / "monitoring" / "prometheus"


def promtool(*args: str) -> str:
    found = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not found:
        pytest.fail(
            'no promtool: run scripts/test.sh, or export PROMTOOL="$(scripts/ensure-promtool.sh)"'
        )
    result = subprocess.run(
        [found, *args],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_configuration_and_its_rules_load() -> None:
    out = promtool("check", "config", "prometheus.yml")
    assert "SUCCESS: 1 rule files found" in out


def test_every_alert_fires_when_it_should_and_only_then() -> None:
    assert "SUCCESS" in promtool("test", "rules", "rules.test.yml")


def test_every_alert_is_tested() -> None:
    rules = (PROMETHEUS_DIR / "rules.yml").read_text()
    tests = (PROMETHEUS_DIR / "rules.test.yml").read_text()
    alerts = [line.split(":", 1)[1].strip() for line in rules.splitlines() if "- alert:" in line]
    assert alerts
    assert [alert for alert in alerts if f"alertname: {alert}" not in tests] == []
