"""The installation's step-pod defaults: merged under the graph's and the asset's settings,
the security contexts replaced, the pod-template patch applied last, bad files one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_pods import ORDERS
from test_pods import build as build_pod

from kasset.definitions.keys import AssetKey, StepKey
from kasset.operator.model.poddefaults import PodDefaults, PodDefaultsError, merge_patch

PLATFORM = PodDefaults.model_validate(
    {
        "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "imagePullSecrets": [{"name": "regcred"}],
        "labels": {"sidecar.istio.io/inject": "false", "kasset.io/run": "hijack"},
        "annotations": {"team": "platform"},
        "nodeSelector": {"pool": "platform", "zone": "a"},
        "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
        "tolerations": [{"key": "batch", "operator": "Exists"}],
        "priorityClassName": "batch-low",
        "env": [
            {"name": "HTTPS_PROXY", "value": "http://proxy:3128"},
            {"name": "X", "value": "platform"},
            {"name": "KASSET_RUN", "value": "hijack"},
        ],
        "volumes": [{"name": "ca", "configMap": {"name": "corp-ca"}}, {"name": "tmp"}],
        "volumeMounts": [{"name": "ca", "mountPath": "/etc/ssl/corp"}],
    }
)


def build(defaults: PodDefaults | None, step: StepKey = ORDERS, index: int = 0) -> dict[str, Any]:
    return build_pod(step, index=index, pod_defaults=defaults)


def test_without_installation_defaults_the_pod_is_the_built_in_one() -> None:
    assert build(None) == build(PodDefaults())


def test_installation_defaults_fill_what_the_graph_leaves_unset() -> None:
    pod = build(PLATFORM)
    meta, pod_spec = pod["metadata"], pod["spec"]
    container = pod_spec["containers"][0]
    assert meta["labels"]["sidecar.istio.io/inject"] == "false"
    assert meta["annotations"]["team"] == "platform"
    assert pod_spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod_spec["priorityClassName"] == "batch-low"
    assert pod_spec["affinity"] == PLATFORM.affinity
    assert pod_spec["tolerations"] == [{"key": "batch", "operator": "Exists"}]
    assert {"name": "ca", "configMap": {"name": "corp-ca"}} in pod_spec["volumes"]
    assert {"name": "ca", "mountPath": "/etc/ssl/corp"} in container["volumeMounts"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["HTTPS_PROXY"] == "http://proxy:3128"


def test_the_graph_and_the_asset_win_over_the_installation() -> None:
    pod = build(PLATFORM)
    pod_spec, container = pod["spec"], pod["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["X"] == "1"  # the graph's defaults.env
    assert env["KASSET_RUN"] == "nightly"  # kasset's own always
    assert [e["name"] for e in container["env"]].count("X") == 1
    assert pod["metadata"]["labels"]["kasset.io/run"] == "nightly"
    assert pod_spec["nodeSelector"] == {"pool": "batch", "zone": "a"}  # graph's key wins
    # kasset's own tmp volume is kept, the installation's same-named one is dropped
    assert [v for v in pod_spec["volumes"] if v["name"] == "tmp"] == [
        {"name": "tmp", "emptyDir": {}}
    ]
    big = build(PLATFORM, StepKey(AssetKey("big")), index=1)["spec"]
    assert big["nodeSelector"]["pool"] == "gpu"  # the asset's own wins
    assert big["tolerations"] == [
        {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "batch", "operator": "Exists"},
    ]


def test_security_contexts_without_fixed_uids_replace_the_built_in_ones() -> None:
    pod_spec = build(PLATFORM)["spec"]
    assert pod_spec["securityContext"] == PLATFORM.pod_security_context
    assert "runAsUser" not in json.dumps(pod_spec)
    assert "fsGroup" not in json.dumps(pod_spec)
    assert pod_spec["containers"][0]["securityContext"] == PLATFORM.security_context


def test_the_pod_template_patch_is_applied_last_and_merges_containers_by_name() -> None:
    patch = {
        "metadata": {"annotations": {"kasset.io/step": None, "extra": "1"}},
        "spec": {
            "dnsPolicy": "None",
            "enableServiceLinks": None,
            "containers": [{"name": "step", "stdin": False, "resources": {"limits": {"cpu": "2"}}}],
        },
    }
    pod = build(PodDefaults(pod_template_patch=patch))
    assert pod["spec"]["dnsPolicy"] == "None"
    assert "enableServiceLinks" not in pod["spec"]
    assert "kasset.io/step" not in pod["metadata"]["annotations"]
    assert pod["metadata"]["annotations"]["extra"] == "1"
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "example/proj:1"  # merged into, not replaced
    assert container["resources"] == {"requests": {"cpu": "100m"}, "limits": {"cpu": "2"}}


def test_merge_patch_replaces_lists_without_names() -> None:
    assert merge_patch({"a": [1, 2], "b": {"c": 1}}, {"a": [3], "b": {"d": 2}}) == {
        "a": [3],
        "b": {"c": 1, "d": 2},
    }


def test_a_defaults_file_is_read_as_json_or_yaml(tmp_path: Path) -> None:
    as_json = tmp_path / "d.json"
    as_json.write_text(json.dumps({"labels": {"a": "b"}, "priorityClassName": "p"}))
    as_yaml = tmp_path / "d.yaml"
    as_yaml.write_text("labels: {a: b}\npriorityClassName: p\n")
    assert PodDefaults.from_file(as_json) == PodDefaults.from_file(as_yaml)
    assert PodDefaults.from_file(as_json).priority_class_name == "p"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"labels": {"a": 1}}', "labels.a"),
        ('{"nodeSelectr": {}}', "nodeSelectr"),
        ("{not json", "d.json"),
    ],
)
def test_a_malformed_defaults_file_is_one_line_naming_the_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "d.json"
    path.write_text(text)
    with pytest.raises(PodDefaultsError, match=message) as caught:
        PodDefaults.from_file(path)
    assert "\n" not in str(caught.value)


def test_a_missing_defaults_file_names_its_path(tmp_path: Path) -> None:
    with pytest.raises(PodDefaultsError, match=r"missing\.json"):
        PodDefaults.from_file(tmp_path / "missing.json")
