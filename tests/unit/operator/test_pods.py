"""The step pod builder: restricted, deterministic, named within limits, overrides win."""

from __future__ import annotations

from typing import Any

from kasset import naming
from kasset.definitions.keys import AssetKey, StepKey
from kasset.operator.model.pods import build_step_pod, owner_reference
from kasset.resources.assetgraph import AssetGraphSpec


def spec(**extra: Any) -> AssetGraphSpec:
    return AssetGraphSpec.model_validate(
        {
            "image": "example/proj:1",
            "codeLocation": {"module": "proj.defs", "attribute": "defs"},
            "storage": {
                "uri": "file:///data",
                "volume": {"claimName": "store", "mountPath": "/data"},
                "secretName": "s3",
            },
            "defaults": {
                "resources": {"requests": {"cpu": "100m"}},
                "timeoutSeconds": 600,
                "env": [{"name": "X", "value": "1"}, {"name": "KASSET_RUN", "value": "no"}],
                "nodeSelector": {"pool": "batch"},
                "serviceAccountName": "runner",
            },
            "assets": [
                {"key": "raw/orders"},
                {
                    "key": "big",
                    "image": "other:2",
                    "resources": {"limits": {"memory": "4Gi"}},
                    "timeoutSeconds": 60,
                    "nodeSelector": {"pool": "gpu"},
                    "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
                },
            ],
            **extra,
        }
    )


def build(step: StepKey, index: int = 0, run: str = "nightly", attempt: int = 1) -> dict[str, Any]:
    graph = spec()
    return build_step_pod(
        graph,
        graph.assets[index],
        namespace="ns",
        graph="demo",
        run=run,
        step=step,
        attempt=attempt,
        event_url="http://op:8080/api/v1/events",
        token="tok",
        owner=owner_reference("kasset.io/v1alpha1", "Materialization", run, "uid-1"),
    )


ORDERS = StepKey(AssetKey(["raw", "orders"]), "2024-01-01")


def test_the_pod_runs_restricted_without_a_service_account_token() -> None:
    pod = build(ORDERS)
    pod_spec = pod["spec"]
    assert pod_spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 1000,
        "fsGroup": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    container = pod_spec["containers"][0]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod_spec["automountServiceAccountToken"] is False
    assert pod_spec["enableServiceLinks"] is False
    assert pod_spec["restartPolicy"] == "Never"
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["terminationMessagePolicy"] == "File"


def test_the_pod_is_named_and_labelled_from_run_step_and_attempt() -> None:
    pod = build(ORDERS, attempt=2)
    meta = pod["metadata"]
    assert meta["name"] == naming.step_pod_name("nightly", "raw/orders[2024-01-01]", 2)
    assert meta["labels"] == {
        "kasset.io/run": "nightly",
        "kasset.io/asset": naming.label_value("raw/orders"),
        "kasset.io/graph": "demo",
        "kasset.io/attempt": "2",
    }
    assert meta["annotations"]["kasset.io/step"] == "raw/orders[2024-01-01]"
    assert meta["ownerReferences"][0]["controller"] is True
    assert meta["ownerReferences"][0]["blockOwnerDeletion"] is True


def test_names_stay_within_63_characters_and_are_deterministic() -> None:
    long_step = StepKey(AssetKey(["x" * 80, "y" * 80]), "2024-01-01")
    first, second = build(long_step, run="r" * 63), build(long_step, run="r" * 63)
    assert first == second
    assert len(first["metadata"]["name"]) <= 63
    assert all(len(v) <= 63 for v in first["metadata"]["labels"].values())


def test_the_environment_tells_the_runtime_what_to_run() -> None:
    env = {e["name"]: e.get("value") for e in build(ORDERS)["spec"]["containers"][0]["env"]}
    assert env["KASSET_RUN"] == "nightly"  # the user's KASSET_RUN does not override ours
    assert env["KASSET_STEP"] == "raw/orders[2024-01-01]"
    assert env["KASSET_ATTEMPT"] == "1"
    assert env["KASSET_CODE"] == "proj.defs:defs"
    assert env["KASSET_STORAGE_URI"] == "file:///data"
    assert env["KASSET_EVENT_URL"] == "http://op:8080/api/v1/events?namespace=ns"
    assert env["KASSET_EVENT_TOKEN"] == "tok"
    assert env["X"] == "1"


def test_graph_defaults_apply_and_asset_overrides_win() -> None:
    default = build(ORDERS)["spec"]
    assert default["containers"][0]["image"] == "example/proj:1"
    assert default["containers"][0]["resources"] == {"requests": {"cpu": "100m"}}
    assert default["nodeSelector"] == {"pool": "batch"}
    assert default["serviceAccountName"] == "runner"
    assert default["activeDeadlineSeconds"] >= 600
    assert {"name": "storage", "persistentVolumeClaim": {"claimName": "store"}} in default[
        "volumes"
    ]
    assert default["containers"][0]["envFrom"] == [{"secretRef": {"name": "s3"}}]
    big = build(StepKey(AssetKey("big")), index=1)["spec"]
    assert big["containers"][0]["image"] == "other:2"
    assert big["containers"][0]["resources"] == {"limits": {"memory": "4Gi"}}
    assert big["nodeSelector"] == {"pool": "gpu"}
    assert big["tolerations"] == [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert 60 <= big["activeDeadlineSeconds"] < 600
