"""Finds and imports a code location named on the command line: `pkg.module[:attr]` or
`path/to/file.py[:attr]`, and hands back its `Definitions`.

The same location string is what step subprocesses receive in `KASSET_CODE`, so the
parent and its children always import the same module the same way.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from kasset.definitions.definitions import Definitions, call_definitions_functions
from kasset.errors import CodeLocationError, DefinitionError

__all__ = ["CodeLocation", "find_definitions", "load_definitions", "parse_code_location"]

DEFAULT_ATTRIBUTE = "defs"


@dataclass(frozen=True)
class CodeLocation:
    """A module to import, the attribute holding its Definitions (None: find it), and the
    directory that must be on `sys.path` for the import to work."""

    module: str
    attribute: str | None
    path_entry: str

    def to_string(self, attribute: str | None = None) -> str:
        """`module:attribute`, the form of `KASSET_CODE`."""
        attr = attribute or self.attribute or DEFAULT_ATTRIBUTE
        return f"{self.module}:{attr}"


def parse_code_location(text: str, cwd: str | Path | None = None) -> CodeLocation:
    """Parses `pkg.mod`, `pkg.mod:defs`, `dir/file.py` or `dir/file.py:defs`.

    A file inside packages (directories with `__init__.py`) is imported by its dotted
    name from the top package's parent directory, as pytest does, so relative imports
    work. Anything else is imported relative to `cwd`.
    """
    base = Path(cwd or os.getcwd()).resolve()
    target, attribute = _split_attribute(text)
    if not target:
        raise CodeLocationError(f"invalid code location {text!r}: expected MODULE[:ATTR]")
    if target.endswith(".py") or os.sep in target or "/" in target:
        return _file_location(base / target, attribute, text)
    if not all(part.isidentifier() for part in target.split(".")):
        raise CodeLocationError(f"invalid module name {target!r} in {text!r}")
    return CodeLocation(target, attribute, str(base))


def _split_attribute(text: str) -> tuple[str, str | None]:
    # Split on the last ':' unless it belongs to a Windows drive letter (`C:\...`).
    head, sep, tail = text.rpartition(":")
    if not sep or (len(head) == 1 and head.isalpha()):
        return text, None
    if not tail.isidentifier():
        raise CodeLocationError(f"invalid attribute {tail!r} in code location {text!r}")
    return head, tail


def _file_location(path: Path, attribute: str | None, text: str) -> CodeLocation:
    if path.is_dir() and (path / "__init__.py").is_file():
        path = path / "__init__.py"
    if not path.is_file():
        raise CodeLocationError(f"no such file: {text!r}")
    if path.suffix != ".py":
        raise CodeLocationError(f"{text!r} is not a Python file")
    parts = [] if path.stem == "__init__" else [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    if not parts or not all(part.isidentifier() for part in parts):
        raise CodeLocationError(f"cannot import {text!r}: {'.'.join(parts)!r} is not a module name")
    return CodeLocation(".".join(parts), attribute, str(directory))


def import_module(location: CodeLocation) -> ModuleType:
    """Imports the module with its directory on `sys.path`. Definition mistakes raised
    while importing pass through unchanged; other exceptions become a CodeLocationError
    naming where they happened."""
    if location.path_entry not in sys.path:
        sys.path.insert(0, location.path_entry)
    importlib.invalidate_caches()
    try:
        return importlib.import_module(location.module)
    except DefinitionError:
        raise
    except ModuleNotFoundError as error:
        if error.name and location.module.startswith(error.name):
            raise CodeLocationError(
                f"cannot import {location.module!r}: no such module "
                f"(looked in {location.path_entry})"
            ) from error
        raise CodeLocationError(_describe_import_error(location, error)) from error
    except Exception as error:
        raise CodeLocationError(_describe_import_error(location, error)) from error


def _describe_import_error(location: CodeLocation, error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    user_frames = [f for f in frames if "importlib" not in f.filename]
    where = f" ({user_frames[-1].filename}:{user_frames[-1].lineno})" if user_frames else ""
    return f"cannot import {location.module!r}: {type(error).__name__}: {error}{where}"


def find_definitions(module: ModuleType, attribute: str | None) -> tuple[str, Definitions]:
    """The module's Definitions: the named attribute, else `defs`, else the only one."""
    if attribute is not None:
        if not hasattr(module, attribute):
            raise CodeLocationError(f"module {module.__name__!r} has no attribute {attribute!r}")
        value = getattr(module, attribute)
        if not isinstance(value, Definitions):
            raise CodeLocationError(
                f"{module.__name__}:{attribute} is a {type(value).__name__}, not a Definitions"
            )
        return attribute, value
    found = {name: value for name, value in vars(module).items() if isinstance(value, Definitions)}
    if DEFAULT_ATTRIBUTE in found:
        return DEFAULT_ATTRIBUTE, found[DEFAULT_ATTRIBUTE]
    if len(found) == 1:
        return next(iter(found.items()))
    if found:
        names = ", ".join(sorted(found))
        raise CodeLocationError(
            f"module {module.__name__!r} has several Definitions ({names}): name one, "
            f"e.g. {module.__name__}:{sorted(found)[0]}"
        )
    raise CodeLocationError(
        f"module {module.__name__!r} has no Definitions: add `defs = Definitions(assets=[...])`"
    )


def load_definitions(text: str, cwd: str | Path | None = None) -> tuple[CodeLocation, Definitions]:
    """Parses, imports and finds: the location (with its attribute filled in) and the
    Definitions it names."""
    location = parse_code_location(text, cwd)
    module = import_module(location)
    call_definitions_functions(module)
    attribute, defs = find_definitions(module, location.attribute)
    return CodeLocation(location.module, attribute, location.path_entry), defs
