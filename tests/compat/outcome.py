"""Runs a compat project under one library and prints its outcome as JSON: run success,
materialized keys, check results, metadata (plain values) and outputs.

`python outcome.py LIB PROJECT_FILE RUN_CONFIG_JSON WORKDIR` with LIB `dagster` or `kasset`. The
project's `from kasset import` line is rewritten to LIB, nothing else: the project is the
same text under both.
"""

from __future__ import annotations

import importlib
import json
import sys
import types
from pathlib import Path
from typing import Any


def load(lib: str, path: Path, workdir: Path) -> types.ModuleType:
    source = path.read_text(encoding="utf-8").replace("from kasset import", f"from {lib} import")
    (workdir / f"compat_{lib}_project.py").write_text(source, encoding="utf-8")
    sys.path.insert(0, str(workdir))
    return importlib.import_module(f"compat_{lib}_project")


def plain(value: Any) -> Any:
    """A metadata value as plain JSON, whichever library made it."""
    if isinstance(value, dict) and set(value) == {"type", "value"}:  # kasset's wire form
        inner = value["value"]
        return inner["records"] if value["type"] == "table" else inner
    records = getattr(value, "records", None)
    if records is not None:  # Dagster's TableMetadataValue
        return [dict(r.data) for r in records]
    if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):
        inner = value.value
        return (
            inner
            if isinstance(inner, (str, int, float, bool, dict, list)) or inner is None
            else str(inner)
        )
    return value


def dagster_outcome(module: types.ModuleType, run_config: dict[str, Any]) -> dict[str, Any]:
    import dagster as dg

    defs = module.defs
    assets = [*defs.assets, *(defs.asset_checks or [])]
    result = dg.materialize(
        assets, resources=defs.resources, run_config=run_config, raise_on_error=False
    )
    materialized = {
        e.asset_key.to_user_string(): {k: plain(v) for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    return {
        "success": result.success,
        "materialized": materialized,
        "checks": checks,
        "total": result.output_for_node("total") if result.success else None,
    }


def kasset_outcome(module: types.ModuleType, run_config: dict[str, Any]) -> dict[str, Any]:
    import kasset

    defs = module.defs
    assets = [*defs.assets.values(), *defs.all_checks]
    result = kasset.materialize(
        assets, resources=defs.resources, run_config=run_config, raise_on_error=False
    )
    materialized = {
        e.asset: {k: plain(v) for k, v in e.payload.metadata.items()}
        for e in result.events
        if e.type == "ASSET_MATERIALIZED"
    }
    checks = {
        e.payload.check.name: e.payload.check.passed
        for e in result.events
        if e.type == "ASSET_CHECK_EVALUATED" and e.payload.check is not None
    }
    return {
        "success": result.success,
        "materialized": materialized,
        "checks": checks,
        "total": result.output_for("total") if result.success else None,
    }


def main() -> None:
    lib, path, config = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    module = load(lib, path, Path(sys.argv[4]))
    outcome = (
        dagster_outcome(module, config) if lib == "dagster" else kasset_outcome(module, config)
    )
    print(json.dumps(outcome, sort_keys=True, default=str))


if __name__ == "__main__":
    main()
