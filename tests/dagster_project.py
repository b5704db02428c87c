"""Loads tests/e2e/projects/dagster_style.py fresh for a test, with its EnvVar set."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

PROJECTS = Path(__file__).parent / "e2e" / "projects"
TOKEN_VARIABLE = "KASSET_E2E_TOKEN"


def load_dagster_style(monkeypatch: pytest.MonkeyPatch, token: str = "secret-token") -> ModuleType:
    """The project module, imported again (tests change its environment); the caller's
    monkeypatch undoes the path and the variable."""
    monkeypatch.setenv(TOKEN_VARIABLE, token)
    monkeypatch.syspath_prepend(str(PROJECTS))
    sys.modules.pop("dagster_style", None)
    return importlib.import_module("dagster_style")
