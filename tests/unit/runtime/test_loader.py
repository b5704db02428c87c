from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kasset.definitions.definitions import Definitions
from kasset.errors import CodeLocationError, DefinitionError
from kasset.runtime.loader import load_code_location, parse_code_location

TWO_ASSETS = """
from kasset import Definitions, asset

@asset
def a() -> int:
    return 1

{assignments}
"""


@pytest.fixture(autouse=True)
def restore_sys_path() -> Iterator[None]:
    saved = list(sys.path)
    yield
    sys.path[:] = saved


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_the_attribute_defaults_to_defs(write_module: Any) -> None:
    name = unique("defs_mod")
    where = write_module(name, TWO_ASSETS.format(assignments="defs = Definitions(assets=[a])"))
    assert isinstance(load_code_location(name, cwd=str(where)), Definitions)


def test_a_named_attribute_is_used(write_module: Any) -> None:
    name = unique("named")
    source = TWO_ASSETS.format(assignments="prod = Definitions(assets=[a])\nother = 1")
    where = write_module(name, source)
    assert len(load_code_location(f"{name}:prod", cwd=str(where)).assets) == 1
    with pytest.raises(CodeLocationError, match="is a int, not a kasset Definitions"):
        load_code_location(f"{name}:other", cwd=str(where))


def test_the_only_definitions_is_found_without_defs(write_module: Any) -> None:
    name = unique("only")
    where = write_module(name, TWO_ASSETS.format(assignments="mine = Definitions(assets=[a])"))
    assert isinstance(load_code_location(name, cwd=str(where)), Definitions)
    assert isinstance(load_code_location(f"{name}:defs", cwd=str(where)), Definitions)
    with pytest.raises(CodeLocationError, match=r"no attribute 'prod'.*it has mine"):
        load_code_location(f"{name}:prod", cwd=str(where))


def test_several_definitions_without_defs_must_be_named(write_module: Any) -> None:
    name = unique("several")
    source = TWO_ASSETS.format(
        assignments="x = Definitions(assets=[a])\ny = Definitions(assets=[a])"
    )
    where = write_module(name, source)
    with pytest.raises(CodeLocationError, match=f"it has x, y: name one, e.g. {name}:x"):
        load_code_location(name, cwd=str(where))


def test_a_module_without_definitions_says_what_to_add(write_module: Any) -> None:
    name = unique("empty")
    where = write_module(name, "x = 1\n")
    with pytest.raises(CodeLocationError, match="add `defs = Definitions"):
        load_code_location(name, cwd=str(where))


def test_a_missing_module_is_a_code_location_error(tmp_path: Path) -> None:
    with pytest.raises(CodeLocationError, match="no module named 'no_such_module_kasset'"):
        load_code_location("no_such_module_kasset:defs", cwd=str(tmp_path))


def test_a_module_that_raises_on_import_names_the_place(write_module: Any) -> None:
    name = unique("raises")
    where = write_module(name, "import json\n\nraise RuntimeError('config missing')\n")
    with pytest.raises(CodeLocationError) as raised:
        load_code_location(name, cwd=str(where))
    message = str(raised.value)
    assert "raised RuntimeError: config missing" in message
    assert f"{name}.py:3" in message


def test_a_missing_import_inside_the_module_is_not_blamed_on_the_module(
    write_module: Any,
) -> None:
    name = unique("imports")
    where = write_module(name, "import not_installed_kasset_dep\n")
    with pytest.raises(CodeLocationError, match=r"ModuleNotFoundError.*not_installed_kasset_dep"):
        load_code_location(name, cwd=str(where))


def test_definition_mistakes_pass_through_unchanged(write_module: Any) -> None:
    name = unique("bad_defs")
    source = """
        from kasset import Definitions, asset

        @asset
        def a(missing_upstream): ...

        defs = Definitions(assets=[a])
    """
    where = write_module(name, source)
    with pytest.raises(DefinitionError, match="depends on 'missing_upstream'"):
        load_code_location(name, cwd=str(where))


def test_kasset_pythonpath_entries_are_searched_first(write_module: Any, tmp_path: Path) -> None:
    name = unique("on_path")
    where = write_module(name, TWO_ASSETS.format(assignments="defs = Definitions(assets=[a])"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert load_code_location(name, cwd=str(elsewhere), python_path=[str(where)])
    assert sys.path[:2] == [str(where), str(elsewhere)]


@pytest.mark.parametrize("text", ["", ":defs", "a-b:defs", "pkg.mod:1x"])
def test_malformed_code_locations_are_refused(text: str) -> None:
    with pytest.raises(CodeLocationError):
        parse_code_location(text)


def test_code_locations_parse_into_module_and_attribute() -> None:
    assert parse_code_location("pkg.mod:defs") == ("pkg.mod", "defs")
    assert parse_code_location("pkg.mod") == ("pkg.mod", None)
