"""`ExecutionResult`: what a local run hands back for assertions in tests and notebooks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kasset.definitions.asset import AssetsDefinition
from kasset.definitions.definitions import Definitions
from kasset.definitions.keys import AssetKey, StepKey
from kasset.errors import KassetError
from kasset.plan import RunPhase, StepPhase, StepState

__all__ = ["ExecutionResult"]


@dataclass
class ExecutionResult:
    """The outcome of `materialize()`: `result.success`, `result.output_for("orders")`.

    `events` are the runtime's events in the order they were reported; `step_states`
    holds each step's final phase, attempts and message.
    """

    run_id: str
    phase: RunPhase
    message: str
    step_states: Mapping[StepKey, StepState]
    events: Sequence[Any]
    definitions: Definitions
    outputs: Mapping[StepKey, Any] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.phase is RunPhase.SUCCEEDED

    @property
    def failed_steps(self) -> list[StepKey]:
        return [key for key, state in self.step_states.items() if state.phase is StepPhase.FAILED]

    def steps_in(self, phase: StepPhase) -> list[StepKey]:
        return [key for key, state in self.step_states.items() if state.phase is phase]

    def output_for(
        self, key: str | AssetKey | AssetsDefinition, partition: str | None = None
    ) -> Any:
        """The value an asset's step produced. A partitioned asset needs `partition`
        unless the run materialized only one of its partitions."""
        asset_key = self._asset_key(key)
        if partition is None:
            partitions = [s for s in self.step_states if s.asset == asset_key]
            if len(partitions) > 1:
                raise KassetError(
                    f"asset '{asset_key}' is partitioned: use output_for('{asset_key}', partition)"
                )
            step = partitions[0] if partitions else StepKey(asset_key)
        else:
            step = StepKey(asset_key, partition)
        if step not in self.step_states:
            raise KassetError(f"step '{step}' is not part of run {self.run_id}")
        if step not in self.outputs:
            state = self.step_states[step]
            why = f": {state.message}" if state.message else ""
            raise KassetError(f"step '{step}' has no output ({state.phase.value}{why})")
        return self.outputs[step]

    def _asset_key(self, key: str | AssetKey | AssetsDefinition) -> AssetKey:
        if isinstance(key, AssetsDefinition):
            return key.key
        if isinstance(key, AssetKey):
            return key
        return self.definitions.graph.resolve_key(key)

    def __repr__(self) -> str:
        return f"<ExecutionResult {self.run_id} {self.phase.value}: {self.message}>"
