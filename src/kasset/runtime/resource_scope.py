"""Opens the resources a step needs, in the step, and closes them when it ends: a
`ConfigurableResource` gets its EnvVars read and `setup_for_execution` called (nested
resources first), a `ResourceDefinition` its function called (a generator is cleaned up
after), a plain object is used as it is.

The same code runs in a pod, a local subprocess and `materialize()`, so an EnvVar is read
where the step runs: never at import or compile time.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from kasset.definitions.context import StepResources
from kasset.errors import DefinitionError

__all__ = ["ResourceScope", "StepResources"]


class ResourceScope:
    """The opened resources of one step; `close()` tears them down, last opened first."""

    def __init__(
        self,
        definitions: Mapping[str, Any],
        run_config_resources: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> None:
        self.definitions = definitions
        self.run_config = dict(run_config_resources or {})
        self.run_id = run_id
        self.opened: dict[str, Any] = {}
        self._stack = contextlib.ExitStack()

    def open(self, keys: Iterable[str]) -> dict[str, Any]:
        """`{key: value}` of the resources named, opening each once."""
        return {key: self.get(key) for key in keys}

    def get(self, key: str) -> Any:
        if key not in self.opened:
            if key not in self.definitions:
                known = ", ".join(sorted(self.definitions)) or "none"
                raise DefinitionError(
                    f"resource '{key}' is needed but not in Definitions(resources=...) "
                    f"(it has: {known})"
                )
            self.opened[key] = self._open(key, self.definitions[key])
        return self.opened[key]

    def close(self) -> None:
        self._stack.close()

    def _open(self, key: str, value: Any) -> Any:
        config_module = sys.modules.get("kasset.definitions.config")
        if config_module is None:  # no Config/ConfigurableResource used: plain objects
            return value
        override = _config_of(self.run_config.get(key))
        if isinstance(value, config_module.ConfigurableResource):
            return self._open_configurable(key, value, override, config_module)
        if isinstance(value, config_module.ResourceDefinition):
            return self._open_function(key, value, override, config_module)
        return value

    def _open_configurable(
        self, key: str, resource: Any, override: Mapping[str, Any], config_module: Any
    ) -> Any:
        resolved = resource.with_env_resolved()
        if override:
            unknown = sorted(set(override) - set(type(resolved).model_fields))
            if unknown:
                raise DefinitionError(
                    f"run config for resource '{key}' names unknown field(s): {', '.join(unknown)}"
                )
            resolved = resolved.model_copy(update=dict(override))
        nested = {
            name: self._open(f"{key}.{name}", child)
            for name, child in resolved.nested_resources().items()
        }
        if nested:
            resolved = resolved.model_copy(update=nested)
        context = config_module.InitResourceContext(
            override, StepResources(self.opened), self.run_id, logging.getLogger("kasset.user")
        )
        _call_user(resolved.setup_for_execution, context, f"resource '{key}' setup")
        self._stack.callback(resolved.teardown_after_execution, context)
        create = getattr(resolved, "create_resource", None)
        if callable(create):
            return _call_user(create, context, f"resource '{key}'")
        return resolved

    def _open_function(
        self, key: str, definition: Any, override: Mapping[str, Any], config_module: Any
    ) -> Any:
        needed = self.open(definition.required_resource_keys)
        context = config_module.InitResourceContext(
            override, StepResources(needed), self.run_id, logging.getLogger("kasset.user")
        )
        fn = definition.resource_fn
        takes_context = bool(inspect.signature(fn).parameters)
        if inspect.isgeneratorfunction(fn):
            factory = contextlib.contextmanager(fn)
            manager = factory(context) if takes_context else factory()
            return self._stack.enter_context(manager)
        return _call_user(fn, context if takes_context else None, f"resource '{key}'")


def _call_user(fn: Any, context: Any, where: str) -> Any:
    from kasset.runtime.user_errors import user_code_error

    try:
        return fn(context) if context is not None else fn()
    except DefinitionError:
        raise
    except Exception as error:
        raise user_code_error(error, where) from error


def _config_of(entry: Any) -> dict[str, Any]:
    """`{"config": {...}}` or `{...}` from a run config's resources section."""
    if entry is None:
        return {}
    if not isinstance(entry, Mapping):
        raise DefinitionError(f"run config for a resource must be a dict, got {entry!r}")
    inner = entry.get("config", entry) if set(entry) <= {"config"} else entry
    return dict(inner) if isinstance(inner, Mapping) else {}
