"""Code locations: module and file forms, finding the Definitions, clear errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kasset.errors import CodeLocationError, CycleError
from kasset.local.loading import load_definitions, parse_code_location

DEFS = """
from kasset import Definitions, asset

@asset
def numbers():
    return [1, 2, 3]

{defs}
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A throwaway project dir; its modules are forgotten afterwards."""
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]
    while str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_module_name_is_imported_from_the_working_directory(project: Path) -> None:
    write(project / "kl_flat.py", DEFS.format(defs="defs = Definitions(assets=[numbers])"))
    location, defs = load_definitions("kl_flat", cwd=project)
    assert (location.module, location.attribute, location.path_entry) == (
        "kl_flat",
        "defs",
        str(project),
    )
    assert location.to_string() == "kl_flat:defs"
    assert list(map(str, defs.assets)) == ["numbers"]


def test_a_file_inside_packages_is_imported_by_its_dotted_name(project: Path) -> None:
    write(project / "klpkg" / "__init__.py", "")
    write(project / "klpkg" / "sub" / "__init__.py", "")
    write(project / "klpkg" / "sub" / "assets.py", DEFS.format(defs=""))
    write(
        project / "klpkg" / "sub" / "code.py",
        "from kasset import Definitions\nfrom .assets import numbers\n"
        "my_defs = Definitions(assets=[numbers])\n",
    )
    location = parse_code_location("klpkg/sub/code.py", cwd=project)
    assert (location.module, location.path_entry) == ("klpkg.sub.code", str(project))
    location, _ = load_definitions("klpkg/sub/code.py", cwd=project)
    assert location.to_string() == "klpkg.sub.code:my_defs"  # the only Definitions


def test_a_loose_file_is_imported_from_its_own_directory(project: Path) -> None:
    source = DEFS.format(defs="defs = Definitions(assets=[numbers])")
    write(project / "scripts" / "kl_loose.py", source)
    location, _ = load_definitions(str(project / "scripts" / "kl_loose.py:defs"))
    assert (location.module, location.path_entry) == ("kl_loose", str(project / "scripts"))


def test_several_definitions_need_an_attribute(project: Path) -> None:
    write(
        project / "kl_two.py",
        DEFS.format(defs="a = Definitions(assets=[numbers])\nb = Definitions(assets=[numbers])"),
    )
    with pytest.raises(CodeLocationError, match=r"several Definitions \(a, b\)"):
        load_definitions("kl_two", cwd=project)
    location, _ = load_definitions("kl_two:b", cwd=project)
    assert location.attribute == "b"


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("", "kl_none", "has no Definitions"),
        ("x = 1", "kl_attr:x", "kl_attr:x is a int, not a Definitions"),
        ("", "kl_missing:nope", "has no attribute 'nope'"),
        ("import not_installed_anywhere", "kl_broken", "ModuleNotFoundError"),
        ("1/0", "kl_raises", "ZeroDivisionError: division by zero"),
    ],
)
def test_bad_locations_raise_code_location_errors(
    project: Path, source: str, target: str, message: str
) -> None:
    write(project / f"{target.split(':', maxsplit=1)[0]}.py", source)
    with pytest.raises(CodeLocationError, match=message):
        load_definitions(target, cwd=project)


def test_an_error_while_importing_names_the_file_and_line(project: Path) -> None:
    path = write(project / "kl_line.py", "x = 1\nraise RuntimeError('nope')\n")
    with pytest.raises(CodeLocationError) as raised:
        load_definitions("kl_line", cwd=project)
    assert f"({path}:2)" in str(raised.value)


def test_a_definition_mistake_while_importing_passes_through(project: Path) -> None:
    write(
        project / "kl_cycle.py",
        "from kasset import Definitions, asset\n"
        "@asset\ndef a(b): ...\n@asset\ndef b(a): ...\ndefs = Definitions(assets=[a, b])\n",
    )
    with pytest.raises(CycleError, match="a -> b -> a"):
        load_definitions("kl_cycle", cwd=project)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no_such_module_kl", "no such module"),
        ("missing/file.py", "no such file"),
        ("pkg.mod:not-an-attr", "invalid attribute"),
        ("bad-name", "invalid module name"),
        (":defs", "invalid code location"),
    ],
)
def test_malformed_or_missing_locations_are_explained(
    project: Path, text: str, message: str
) -> None:
    with pytest.raises(CodeLocationError, match=message):
        load_definitions(text, cwd=project)
