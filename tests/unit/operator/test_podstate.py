"""Reading a step pod: outcome, reason and termination message, in human words."""

from __future__ import annotations

import json
from typing import Any

from kasset.operator.model.podstate import pod_identity, read_pod


def pod(phase: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "p",
            "namespace": "ns",
            "annotations": {
                "kasset.io/run": "r",
                "kasset.io/step": "a[x]",
                "kasset.io/attempt": "2",
            },
        },
        "status": {"phase": phase, **status},
    }


def container(**state: Any) -> list[dict[str, Any]]:
    return [{"name": "step", "state": state}]


def test_the_identity_comes_from_the_annotations() -> None:
    ident = pod_identity(pod("Running"))
    assert ident is not None
    assert (ident.run, ident.step.to_string(), ident.attempt) == ("r", "a[x]", 2)
    assert pod_identity({"metadata": {"name": "other", "namespace": "ns"}}) is None


def test_unschedulable_and_image_pull_reasons_are_reported() -> None:
    unschedulable = pod(
        "Pending",
        conditions=[
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/1 nodes are available: insufficient cpu",
            }
        ],
    )
    assert read_pod(unschedulable).message == (
        "Unschedulable: 0/1 nodes are available: insufficient cpu"
    )
    pulling = pod(
        "Pending",
        containerStatuses=container(waiting={"reason": "ErrImagePull", "message": "not found"}),
    )
    view = read_pod(pulling)
    assert view.state == "pending" and view.message == "ErrImagePull: not found"
    assert not view.fatal
    assert read_pod(
        pod("Pending", containerStatuses=container(waiting={"reason": "InvalidImageName"}))
    ).fatal


def test_failures_say_what_happened() -> None:
    oom = pod(
        "Failed", containerStatuses=container(terminated={"exitCode": 137, "reason": "OOMKilled"})
    )
    assert "out of memory" in (read_pod(oom).message or "")
    evicted = pod("Failed", reason="Evicted", message="The node was low on memory.")
    assert read_pod(evicted).message == "the step's pod was evicted: The node was low on memory."
    exited = pod(
        "Failed", containerStatuses=container(terminated={"exitCode": 3, "reason": "Error"})
    )
    assert read_pod(exited).message == "the step's container exited with code 3"
    gone = read_pod(pod("Running"), deleted=True)
    assert gone.state == "gone" and "deleted" in (gone.message or "")


def test_failures_of_the_node_are_told_from_failures_of_the_code() -> None:
    def lost(body: dict[str, Any], deleted: bool = False) -> bool:
        return read_pod(body, deleted).infrastructure

    start_error = pod(
        "Failed",
        containerStatuses=container(
            terminated={
                "exitCode": 128,
                "reason": "StartError",
                "message": "failed to create containerd task: context canceled",
            }
        ),
    )
    assert read_pod(start_error).message == (
        "the step's container could not start (StartError): "
        "failed to create containerd task: context canceled"
    )
    assert lost(start_error)
    assert lost(pod("Failed", reason="Evicted", message="The node was low on memory."))
    assert lost(pod("Failed", reason="UnexpectedAdmissionError"))
    disrupted = [{"type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC"}]
    assert lost(pod("Failed", conditions=disrupted))
    assert lost(pod("Running"), deleted=True)
    drained = pod(
        "Running",
        conditions=[
            {
                "type": "DisruptionTarget",
                "status": "True",
                "reason": "EvictionByEvictionAPI",
                "message": "Eviction API: evicting",
            }
        ],
    )
    assert read_pod(drained, deleted=True).message == (
        "the step's pod was disrupted (EvictionByEvictionAPI: Eviction API: evicting) "
        "while the step was running"
    )
    # The code's own outcomes are not the node's fault.
    for terminated in (
        {"exitCode": 3, "reason": "Error"},
        {"exitCode": 137, "reason": "OOMKilled"},
    ):
        assert not lost(pod("Failed", containerStatuses=container(terminated=terminated)))
    assert not lost(pod("Failed"))
    # An image that cannot run the step fails at once, saying so.
    no_kasset = pod(
        "Failed",
        containerStatuses=container(
            terminated={
                "exitCode": 128,
                "reason": "StartError",
                "message": 'runc create failed: exec: "kasset": executable file not found',
            }
        ),
    )
    assert not lost(no_kasset)
    assert "must have kasset installed" in (read_pod(no_kasset).message or "")
    deleted_after_exit = pod("Running", containerStatuses=container(terminated={"exitCode": 1}))
    assert not lost(deleted_after_exit, deleted=True)


def test_the_termination_message_carries_the_outcome() -> None:
    events = [
        {
            "id": "1",
            "type": "STEP_FAILED",
            "run": "r",
            "step": "a[x]",
            "asset": "a",
            "attempt": 2,
            "timestamp": "2024-01-01T00:00:00Z",
            "payload": {"error": {"type": "KeyError", "message": "'col'", "retryable": False}},
        }
    ]
    failed = pod(
        "Failed",
        containerStatuses=container(
            terminated={"exitCode": 1, "message": json.dumps({"v": 1, "events": events})}
        ),
    )
    view = read_pod(failed)
    assert view.message == "KeyError: 'col'" and not view.retryable
    garbage = pod(
        "Failed", containerStatuses=container(terminated={"exitCode": 1, "message": "{not json"})
    )
    assert read_pod(garbage).events == []
