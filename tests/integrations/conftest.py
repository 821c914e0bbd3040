"""Fixtures shared by the integration tests."""

from pathlib import Path

import pytest


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path`` as HOME (and its ``.config`` as XDG_CONFIG_HOME) for an in-process ``routerctl
    install``, with no ROUTERD_CONFIG from the developer's shell."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.delenv("ROUTERD_CONFIG", raising=False)
    return tmp_path
