"""Dagster names kasset deliberately does not provide, each with what to use instead.

`from kasset import op` then fails at import with one line that says so, rather than an
AttributeError that leaves a user guessing whether the name is missing or misspelt.
"""

from __future__ import annotations

from kasset.errors import KassetError

__all__ = ["REFUSED", "UnsupportedNameError", "refusal"]

_OPS = "kasset runs assets, not ops and graphs: write an @asset"
_SENSORS = "kasset has no sensors yet: use a ScheduleDefinition, or create a Materialization"
_INSTANCE = (
    "kasset has no Dagster instance: state lives in the Asset and Materialization objects "
    "(kubectl get assets), materialize() returns the run's events"
)
_EXECUTORS = (
    "kasset runs each step in its own pod (or process with --local), there is no executor to choose"
)
_TYPES = "kasset uses Python type hints only: check values in an @asset_check"
_HOOKS = "kasset has no hooks: watch Materialization status, kasset's Kubernetes Events or /metrics"

REFUSED: dict[str, str] = {
    **dict.fromkeys(
        [
            "op",
            "job",
            "graph",
            "graph_asset",
            "graph_multi_asset",
            "In",
            "Out",
            "GraphIn",
            "GraphOut",
            "DynamicOut",
            "DynamicOutput",
            "OpDefinition",
            "GraphDefinition",
            "build_op_context",
        ],
        _OPS,
    ),
    **dict.fromkeys(
        [
            "sensor",
            "asset_sensor",
            "multi_asset_sensor",
            "run_status_sensor",
            "run_failure_sensor",
            "SensorDefinition",
            "SensorResult",
            "SensorEvaluationContext",
            "RunRequest",
            "SkipReason",
            "build_sensor_context",
        ],
        _SENSORS,
    ),
    **dict.fromkeys(["DagsterInstance", "instance_for_test", "EventRecordsFilter"], _INSTANCE),
    **dict.fromkeys(
        ["executor", "multiprocess_executor", "in_process_executor", "Executor"], _EXECUTORS
    ),
    **dict.fromkeys(
        ["DagsterType", "PythonObjectDagsterType", "usable_as_dagster_type", "TypeCheck"], _TYPES
    ),
    **dict.fromkeys(["success_hook", "failure_hook", "HookContext"], _HOOKS),
    "repository": "use Definitions(assets=[...]): kasset has no repositories",
    "RepositoryDefinition": "use Definitions(assets=[...]): kasset has no repositories",
    "ConfigurableResourceFactory": "subclass ConfigurableResource and define create_resource",
    "Field": "declare config as a Config class (pydantic fields), not a config schema Field",
    "Permissive": "declare config as a Config class (pydantic fields)",
    "Shape": "declare config as a Config class (pydantic fields)",
    "logger": "kasset has no custom loggers: context.log is a standard logging.Logger",
}


class UnsupportedNameError(KassetError, ImportError):
    """A Dagster name kasset refuses (also an ImportError, so `from kasset import op`
    fails the way a missing name does, with a message that says what to do)."""


def refusal(name: str) -> UnsupportedNameError | None:
    hint = REFUSED.get(name)
    if hint is None:
        return None
    return UnsupportedNameError(f"kasset does not support Dagster's {name}: {hint}", name=name)
