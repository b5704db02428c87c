"""The examples in the history modules' docstrings hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "api",
    "engine",
    "events",
    "logs",
    "retention",
]  # store and writer need a database: no doctest


@pytest.mark.parametrize("name", MODULES)
def test_the_docstring_examples_of_the_module_hold(name: str) -> None:
    module = importlib.import_module(f"kasset.history.{name}")
    result = doctest.testmod(module)
    assert result.failed == 0
    assert result.attempted > 0
