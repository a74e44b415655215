"""Helpers shared by the tests."""

from __future__ import annotations

import pytest

from rpbus.local import repo_root

BOARD = "sim"


def service_exists(name: str) -> bool:
    """Whether this checkout has the service's code. Tests of a service
    that exists must pass; only those of a service not written yet skip."""
    root = repo_root()
    return root is None or (root / "services" / name).is_dir()


def needs(name: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not service_exists(name), reason=f"services/{name} is not in this checkout yet")
