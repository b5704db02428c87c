"""`kasset materialize GRAPH`: the object it creates and how --wait follows it."""

from __future__ import annotations

import io
from typing import Any

import pytest

from kasset.errors import KassetError
from kasset.operator.kube.client import ApiError
from kasset.submit import build_materialization, create_materialization


class FakeApi:
    def __init__(self, phases: list[str], refuse: ApiError | None = None) -> None:
        self.phases = phases
        self.refuse = refuse
        self.created: list[tuple[str, dict[str, Any]]] = []

    def request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        if method == "POST":
            if self.refuse:
                raise self.refuse
            self.created.append((path, body))
            return {"metadata": {"name": "pop-abc12"}}
        phase = self.phases.pop(0) if len(self.phases) > 1 else self.phases[0]
        counts = {"total": 3, "succeeded": 3 if phase == "Succeeded" else 1}
        return {"status": {"phase": phase, "counts": counts, "message": f"run {phase}"}}


def test_a_range_becomes_a_partition_range_and_a_list_becomes_keys() -> None:
    ranged = build_materialization("pop", partitions="2024-01-01..2024-01-03")
    listed = build_materialization("pop", partitions="a, b", selection="raw*", max_parallel=4)
    assert ranged["spec"]["partitions"] == {"range": {"start": "2024-01-01", "end": "2024-01-03"}}
    assert listed["spec"] == {
        "graph": "pop",
        "selection": "raw*",
        "launchedBy": "cli",
        "partitions": {"keys": ["a", "b"]},
        "maxParallel": 4,
    }
    assert ranged["metadata"] == {"generateName": "pop-"}


def test_wait_follows_the_run_and_exits_by_its_outcome() -> None:
    out = io.StringIO()
    api = FakeApi(["Pending", "Running", "Succeeded"])
    code = create_materialization(
        graph="pop",
        namespace="team",
        wait=True,
        api=api,
        out=out,
        poll_seconds=0,  # type: ignore[arg-type]
    )
    assert code == 0
    assert api.created[0][0] == "/apis/kasset.io/v1alpha1/namespaces/team/materializations"
    lines = out.getvalue().splitlines()
    assert lines[0] == "materialization.kasset.io/pop-abc12 created"
    assert lines[-1] == "run Succeeded" and "3/3 succeeded" in lines[-2]


def test_a_failed_run_exits_1() -> None:
    api = FakeApi(["Failed"])
    code = create_materialization(graph="pop", namespace="t", wait=True, api=api, out=io.StringIO())  # type: ignore[arg-type]
    assert code == 1


def test_a_refused_create_is_one_clear_error() -> None:
    api = FakeApi(["Pending"], refuse=ApiError(404, "Not Found", {"message": "no such CRD"}))
    with pytest.raises(KassetError, match="cannot create the Materialization"):
        create_materialization(graph="pop", namespace="t", api=api, out=io.StringIO())  # type: ignore[arg-type]
