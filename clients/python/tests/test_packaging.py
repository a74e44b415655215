"""The installed package's metadata."""

from __future__ import annotations

import importlib.metadata


def test_license_is_apache_2() -> None:
    md = importlib.metadata.metadata("rpbus")
    assert md["License"] == "Apache-2.0"
    assert "License :: OSI Approved :: Apache Software License" in (md.get_all("Classifier") or [])
