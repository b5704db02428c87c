"""Run records in each phase, built by the real plan (shared by status tests)."""

from __future__ import annotations

from kasset.definitions.keys import AssetKey, StepKey
from kasset.graph import AssetGraph, AssetNode
from kasset.operator.model.graphs import GraphSnapshot
from kasset.operator.model.records import RunRecord
from kasset.plan import RunState, StepFailed, StepSucceeded, advance, build_plan
from kasset.resources.assetgraph import AssetGraphSpec

NOW = 1_700_000_000.0
A = StepKey(AssetKey("a"))


def _record() -> RunRecord:
    spec = AssetGraphSpec.model_validate({"image": "i", "codeLocation": {"module": "m"}})
    graph = AssetGraph([AssetNode(AssetKey("a"))])
    snapshot = GraphSnapshot("ns", "g", "uid", 1, spec, graph, {})
    record = RunRecord(
        "ns", "run", "uid", 1, snapshot, RunState(build_plan(graph, None, None, 10)), NOW
    )
    advance(record.state, None, NOW)
    record.start_time = NOW
    return record


def running_record() -> RunRecord:
    return _record()


def succeeded_record() -> RunRecord:
    record = _record()
    advance(record.state, StepSucceeded(A, 1), NOW + 1)
    record.completion_time = NOW + 1
    return record


def failed_record() -> RunRecord:
    record = _record()
    advance(record.state, StepFailed(A, 1, "boom", retryable=False), NOW + 1)
    record.completion_time = NOW + 1
    return record
