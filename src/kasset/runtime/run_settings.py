"""A run's config and tags as a step sees them: the config of its asset (built into the
asset's `Config` class, so a typo fails the step before the function runs) and the
resources section. Loads pydantic only when the run has config or the asset a Config."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kasset.definitions.asset import AssetsDefinition
from kasset.errors import DefinitionError

__all__ = ["RunSettings"]


@dataclass(frozen=True)
class RunSettings:
    ops: Mapping[str, Any] = field(default_factory=dict)
    resources: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    run_config: Any = None

    @classmethod
    def of(cls, run_config: Any, tags: Mapping[str, str] | None = None) -> RunSettings:
        """From a RunConfig, its dict form, its JSON text (`KASSET_RUN_CONFIG`), or None."""
        if run_config is None or (isinstance(run_config, str | dict) and not run_config):
            return cls(tags=dict(tags or {}))
        if isinstance(run_config, str):
            try:
                run_config = json.loads(run_config)
            except ValueError as error:
                raise DefinitionError(f"the run config is not valid JSON: {error}") from None
        from kasset.definitions.config import RunConfig

        coerced = RunConfig.coerce(run_config)
        return cls(coerced.ops, coerced.resources, dict(tags or {}), coerced)

    def for_asset(self, definition: AssetsDefinition) -> tuple[Any, Any]:
        """(`context.op_config`, the value of the `config` parameter) of `definition`."""
        names = (definition.op_name, definition.key.to_string(), definition.key.name)
        values = self.run_config.op_values(names) if self.run_config is not None else None
        where = f"asset '{definition.key}'"
        if definition.config_type is not None:
            from kasset.definitions.config import build_config

            value = build_config(definition.config_type, values, where)
            return value.model_dump(), value
        if values is not None and definition.config_schema is None:
            raise DefinitionError(f"{where} takes no config, but the run config gives it some")
        return _with_defaults(definition.config_schema, values), None


def _with_defaults(schema: Any, values: Mapping[str, Any] | None) -> Any:
    """Old-style `config_schema={"name": default_or_type}`: given values over defaults."""
    if not isinstance(schema, Mapping):
        return dict(values) if values is not None else None
    defaults = {k: v for k, v in schema.items() if not isinstance(v, type)}
    return {**defaults, **(values or {})}
