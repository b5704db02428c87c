"""Imports the code location a step pod is told to run (`KASSET_CODE=module:attr`) and
finds its `Definitions`, with errors that say what to fix rather than a traceback."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType

from kasset.definitions.definitions import Definitions, call_definitions_functions
from kasset.errors import CodeLocationError, DefinitionError

__all__ = ["DEFAULT_ATTRIBUTE", "load_code_location", "parse_code_location"]

DEFAULT_ATTRIBUTE = "defs"


def parse_code_location(code: str) -> tuple[str, str | None]:
    """`"pkg.mod:defs"` -> `("pkg.mod", "defs")`; `"pkg.mod"` -> `("pkg.mod", None)`."""
    module, _, attribute = code.strip().partition(":")
    if not module or not all(part.isidentifier() for part in module.split(".")):
        raise CodeLocationError(
            f"invalid code location {code!r}: expected MODULE[:ATTRIBUTE], e.g. my_pkg.defs:defs"
        )
    if attribute and not attribute.isidentifier():
        raise CodeLocationError(f"invalid attribute {attribute!r} in code location {code!r}")
    return module, attribute or None


def load_code_location(
    code: str, *, cwd: str | None = None, python_path: Sequence[str] = ()
) -> Definitions:
    """Imports `module` with `python_path` entries and `cwd` (default: the working
    directory) first on `sys.path`, and returns its Definitions: the named attribute
    (default `defs`), or, when no attribute was named and there is no `defs`, the only
    Definitions in the module."""
    module_name, attribute = parse_code_location(code)
    for entry in reversed([*python_path, cwd or os.getcwd()]):
        if entry and entry not in sys.path:
            sys.path.insert(0, entry)
    module = _import(module_name)
    call_definitions_functions(module)
    return _definitions_of(module, attribute)


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except DefinitionError:
        raise  # says what is wrong with an asset already
    except ModuleNotFoundError as error:
        if error.name is not None and (name == error.name or name.startswith(f"{error.name}.")):
            raise CodeLocationError(
                f"cannot import {name!r}: no module named {error.name!r} "
                f"(sys.path: {', '.join(p or '.' for p in sys.path[:4])}, ...)"
            ) from None
        raise CodeLocationError(_import_failure(name, error)) from error
    except Exception as error:
        raise CodeLocationError(_import_failure(name, error)) from error


def _import_failure(name: str, error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "<frozen" not in f.filename]
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"importing {name!r} raised {type(error).__name__}: {error}{where}"


def _definitions_of(module: ModuleType, attribute: str | None) -> Definitions:
    wanted = attribute or DEFAULT_ATTRIBUTE
    if hasattr(module, wanted):
        value = getattr(module, wanted)
        if not isinstance(value, Definitions):
            raise CodeLocationError(
                f"{module.__name__}:{wanted} is a {type(value).__name__}, not a kasset Definitions"
            )
        return value
    found = sorted(n for n, v in vars(module).items() if isinstance(v, Definitions))
    if wanted == DEFAULT_ATTRIBUTE and len(found) == 1:
        only: Definitions = vars(module)[found[0]]
        return only
    if found:
        hint = f"it has {', '.join(found)}: name one, e.g. {module.__name__}:{found[0]}"
    else:
        hint = "it has no Definitions: add `defs = Definitions(assets=[...])`"
    raise CodeLocationError(f"module {module.__name__!r} has no attribute {wanted!r}; {hint}")
