"""A run's config checked before any step starts, the way Dagster checks it at launch:
every selected asset's Config is built once here, so a typo fails the run at once
instead of in its tenth step."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kasset.definitions.definitions import Definitions
from kasset.definitions.keys import AssetKey
from kasset.errors import DefinitionError
from kasset.runtime.run_settings import RunSettings

__all__ = ["check_run_config", "read_run_config", "run_config_json"]


def check_run_config(defs: Definitions, keys: Iterable[AssetKey], run_config: Any) -> None:
    """Raises DefinitionError naming the asset and field when the config does not fit."""
    settings = RunSettings.of(run_config)
    if settings.run_config is not None:
        known = {name for d in defs.assets.values() for name in _names(d)}
        unknown = sorted(set(settings.ops) - known)
        if unknown:
            raise DefinitionError(
                f"the run config names {', '.join(unknown)}, which are not assets here"
            )
    for key in keys:
        settings.for_asset(defs.assets[key])


def _names(definition: Any) -> tuple[str, ...]:
    return (definition.op_name, definition.key.to_string(), definition.key.name)


def run_config_json(run_config: Any) -> str | None:
    """The run config as the JSON a step reads from KASSET_RUN_CONFIG."""
    settings = RunSettings.of(run_config)
    if settings.run_config is None:
        return None
    return json.dumps(settings.run_config.to_json(), separators=(",", ":"))


def read_run_config(text: str) -> Any:
    """`--config`: inline JSON, or a JSON/YAML file."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            return json.loads(stripped)
        except ValueError as error:
            raise DefinitionError(f"--config: not valid JSON: {error}") from None
    path = Path(text)
    if not path.is_file():
        raise DefinitionError(f"--config {text!r}: neither JSON nor a file")
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise DefinitionError(f"--config {text}: not valid YAML: {error}") from None
    if not isinstance(loaded, dict):
        raise DefinitionError(f"--config {text}: expected a mapping at the top")
    return loaded
