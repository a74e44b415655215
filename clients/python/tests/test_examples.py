"""The examples/ scripts run against rpbus up and exit 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    "script,services,expect",
    [
        ("quickstart.py", ["scope"], "16384 samples per channel"),
        ("scope_and_na_together.py", ["scope", "na"], "g returned"),
        ("specan_average.py", ["scope", "specan"], "10 traces averaged"),
        ("events.py", ["scope", "na"], "continuous trace seq"),
    ],
)
def test_example(rpbus_url: str, script: str, services: list[str], expect: str) -> None:
    r = subprocess.run(
        [sys.executable, str(EXAMPLES / script), rpbus_url], capture_output=True, text=True, timeout=90
    )
    assert r.returncode == 0, r.stderr
    assert expect in r.stdout, r.stdout


def test_every_example_is_tested() -> None:
    tested = {"quickstart.py", "scope_and_na_together.py", "specan_average.py", "events.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested
