"""Pythonic config and resources, with Dagster's names: `Config`, `RunConfig`,
`ConfigurableResource`, `ConfigurableIOManager`, and `@resource` for older code.

They are pydantic models, so this module imports pydantic; kasset loads it only when user
code asks for one of these names (a step that uses none starts without pydantic).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from kasset.definitions.env import EnvVar
from kasset.errors import DefinitionError

__all__ = [
    "Config",
    "ConfigurableIOManager",
    "ConfigurableResource",
    "InitResourceContext",
    "ResourceDefinition",
    "RunConfig",
    "build_config",
    "config_json_schema",
    "io_manager",
    "resource",
]


class Config(BaseModel):
    """The run-time settings of an asset, declared as a parameter named `config`:

    >>> class Limits(Config):
    ...     max_rows: int = 100
    >>> @asset
    ... def orders(config: Limits) -> list[int]: return list(range(config.max_rows))

    Values come from `RunConfig(ops={"orders": Limits(max_rows=5)})`, the CLI's
    `--config`, or a Materialization's `spec.runConfig`; they are validated before the
    run starts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class RunConfig:
    """The config of one run: `RunConfig(ops={"orders": Limits(max_rows=5)},
    resources={"warehouse": {"config": {"schema": "test"}}})`."""

    def __init__(
        self,
        ops: Mapping[str, Config | Mapping[str, Any]] | None = None,
        resources: Mapping[str, Any] | None = None,
    ) -> None:
        self.ops = dict(ops or {})
        self.resources = dict(resources or {})

    @classmethod
    def coerce(cls, value: RunConfig | Mapping[str, Any] | None) -> RunConfig:
        """A RunConfig from itself or Dagster's dict form
        (`{"ops": {"orders": {"config": {...}}}, "resources": {...}}`)."""
        if value is None:
            return cls()
        if isinstance(value, RunConfig):
            return value
        if not isinstance(value, Mapping):
            raise DefinitionError(f"run config must be a RunConfig or a dict, got {value!r}")
        unknown = sorted(set(value) - {"ops", "resources", "execution", "loggers"})
        if unknown:
            raise DefinitionError(f"run config has unknown section(s): {', '.join(unknown)}")
        return cls(value.get("ops"), value.get("resources"))

    def op_values(self, names: Sequence[str]) -> dict[str, Any] | None:
        """The raw config of the first of `names` (an op name, an asset key) given."""
        for name in names:
            if name in self.ops:
                entry = self.ops[name]
                if isinstance(entry, Config):
                    return entry.model_dump()
                if isinstance(entry, Mapping):
                    inner = entry.get("config", entry) if set(entry) <= {"config"} else entry
                    return dict(inner) if isinstance(inner, Mapping) else {}
                raise DefinitionError(f"run config for {name!r} must be a Config or a dict")
        return None

    def to_json(self) -> dict[str, Any]:
        """The JSON form (what a Materialization's `spec.runConfig` holds)."""
        ops = {
            name: {"config": entry.model_dump(mode="json")}
            if isinstance(entry, Config)
            else {"config": self.op_values([name])}
            for name, entry in self.ops.items()
        }
        result: dict[str, Any] = {}
        if ops:
            result["ops"] = json.loads(json.dumps(ops, default=str))
        if self.resources:
            result["resources"] = json.loads(json.dumps(self.resources, default=str))
        return result


def build_config(config_type: type[Config], values: Mapping[str, Any] | None, where: str) -> Config:
    """`config_type` from `values`, EnvVars read now; a DefinitionError saying which field
    is wrong (one line)."""
    resolved = {
        name: value.get_value() if isinstance(value, EnvVar) else value
        for name, value in (values or {}).items()
    }
    try:
        return config_type.model_validate(resolved)
    except ValidationError as error:
        raise DefinitionError(f"{where}: invalid config: {_first_problem(error)}") from None


def config_json_schema(config_type: type[Config]) -> dict[str, Any]:
    """The JSON schema of a Config class: what the AssetGraph carries for validation."""
    schema: dict[str, Any] = config_type.model_json_schema()
    return schema


def _first_problem(error: ValidationError) -> str:
    problems = error.errors()
    parts = []
    for problem in problems[:3]:
        where = ".".join(str(p) for p in problem["loc"]) or "(config)"
        parts.append(f"{where}: {problem['msg']}")
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(parts) + more


class InitResourceContext:
    """What a resource's set-up sees: its config, the other resources, the run."""

    def __init__(
        self,
        resource_config: Mapping[str, Any] | None = None,
        resources: Any = None,
        run_id: str | None = None,
        log: Any = None,
    ) -> None:
        import logging

        self.resource_config = dict(resource_config or {})
        self.resources = resources
        self.run_id = run_id
        self.log = log or logging.getLogger("kasset.user")


class ConfigurableResource(BaseModel):
    """A resource declared as a class of settings:

    >>> class Warehouse(ConfigurableResource):
    ...     url: str
    ...     def query(self, sql: str) -> list[tuple]: ...
    >>> defs = Definitions(assets=[...], resources={"warehouse": Warehouse(url=EnvVar("DB_URL"))})

    An asset receives it by naming a parameter after its key. `setup_for_execution` runs
    in the step before the asset, `teardown_after_execution` after it; fields that are
    resources themselves are set up first. EnvVar fields are read in the step.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    _kasset_env: dict[str, EnvVar] = PrivateAttr(default_factory=dict)

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        self._kasset_env = {k: v for k, v in data.items() if isinstance(v, EnvVar)}

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Called in the step before the asset runs: open connections here."""

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Called in the step after the asset ran, also when it failed."""

    def with_env_resolved(self, environ: Mapping[str, str] | None = None) -> ConfigurableResource:
        """A copy with every EnvVar field read from the environment."""
        if not self._kasset_env:
            return self
        update: dict[str, Any] = {}
        for name, variable in self._kasset_env.items():
            try:
                update[name] = variable.get_value(environ=environ)
            except DefinitionError as error:
                raise DefinitionError(f"resource {type(self).__name__}.{name}: {error}") from None
        copy = self.model_copy(update=update)
        copy._kasset_env = {}
        return copy

    def nested_resources(self) -> dict[str, Any]:
        """The fields whose values are resources themselves."""
        return {
            name: value
            for name in type(self).model_fields
            if isinstance(value := getattr(self, name), ConfigurableResource | ResourceDefinition)
        }


class ConfigurableIOManager(ConfigurableResource):
    """An IO manager declared as a resource class: implement `handle_output(context, obj)`
    and `load_input(context)`, and give it as `Definitions(resources={"io_manager": ...})`
    or under another key named by `@asset(io_manager_key=...)`."""

    def handle_output(self, context: Any, obj: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement handle_output")

    def load_input(self, context: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement load_input")


class ResourceDefinition:
    """A resource made by a function of its init context (Dagster's older style):
    `ResourceDefinition(lambda ctx: Client(ctx.resource_config["url"]), config_schema=...)`.
    A generator function yields the resource and cleans up after the `yield`."""

    def __init__(
        self,
        resource_fn: Callable[..., Any],
        config_schema: Any = None,
        description: str | None = None,
        required_resource_keys: Sequence[str] | None = None,
    ) -> None:
        self.resource_fn = resource_fn
        self.config_schema = config_schema
        self.description = description
        self.required_resource_keys = tuple(required_resource_keys or ())

    @staticmethod
    def hardcoded_resource(value: Any, description: str | None = None) -> ResourceDefinition:
        return ResourceDefinition(lambda _context: value, description=description)

    @staticmethod
    def none_resource(description: str | None = None) -> ResourceDefinition:
        return ResourceDefinition(lambda _context: None, description=description)

    @staticmethod
    def mock_resource(description: str | None = None) -> ResourceDefinition:
        from unittest import mock

        return ResourceDefinition(lambda _context: mock.MagicMock(), description=description)


def resource(
    fn: Callable[..., Any] | None = None,
    *,
    config_schema: Any = None,
    description: str | None = None,
    required_resource_keys: Sequence[str] | None = None,
) -> Any:
    """`@resource` or `@resource(config_schema={...})` on a function of an init context."""

    def decorate(func: Callable[..., Any]) -> ResourceDefinition:
        return ResourceDefinition(func, config_schema, description, required_resource_keys)

    return decorate(fn) if fn is not None else decorate


io_manager = resource
"""`@io_manager`: Dagster's decorator for a function that returns an IO manager."""
