"""Registers the ``soak`` marker, so ``pytest -m "not soak"`` can leave the long run out."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Declare ``soak`` (pytest warns about, or with ``--strict-markers`` refuses, unknown
    markers)."""
    config.addinivalue_line(
        "markers", "soak: a long end-to-end run (a million events); deselect with -m 'not soak'"
    )
