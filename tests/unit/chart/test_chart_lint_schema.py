"""`helm lint --strict` and values.schema.json: good values pass, bad values fail clearly."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from chartlib import CHART, HelmError

GOOD_VALUES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "namespaced": {"rbac": {"scope": "namespaced"}},
    "namespaced-list": {"rbac": {"scope": "namespaced", "watchNamespaces": ["team-a", "team-b"]}},
    "existing-claim": {"storage": {"mode": "existingClaim", "existingClaim": "data"}},
    "url": {"storage": {"mode": "url", "url": "s3://bucket/kasset", "credentialsSecret": "s3"}},
    "hostpath-rwo": {
        "storage": {
            "hostPath": "/var/lib/kasset-demo",
            "storageClassName": "",
            "accessModes": ["ReadWriteOnce"],
        }
    },
    "everything-on": {
        "replicas": 3,
        "metrics": {
            "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
            "prometheusRule": {"enabled": True, "staleAfterSeconds": 3600},
        },
        "ui": {
            "existingSecret": "my-ui",
            "existingSecretKey": "t",
            "ingress": {
                "enabled": True,
                "className": "nginx",
                "tls": [{"secretName": "tls", "hosts": ["kasset.local"]}],
            },
        },
        "eventSecret": {"existingSecret": "my-events"},
        "serviceAccount": {"create": False, "name": "ops"},
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
            }
        ],
    },
    "single": {"replicas": 1},
}


@pytest.mark.parametrize("name", sorted(GOOD_VALUES))
def test_lint_strict_passes(helm: Callable[..., str], name: str) -> None:
    out = helm(
        "lint", "--strict", str(CHART), "--namespace", "kasset-system", values=GOOD_VALUES[name]
    )
    assert "0 chart(s) failed" in out


BAD_VALUES: list[tuple[dict[str, Any], str]] = [
    ({"rbac": {"scope": "foo"}}, r"/rbac/scope'?: value must be one of 'cluster', 'namespaced'"),
    ({"storage": {"mode": "nfs"}}, r"/storage/mode'?: value must be one of"),
    ({"bogus": 1}, r"additional properties 'bogus' not allowed"),
    ({"rbac": {"scpoe": "cluster"}}, r"additional properties 'scpoe' not allowed"),
    ({"replicas": "two"}, r"/replicas'?: got string, want integer"),
    ({"replicas": -1}, r"/replicas"),
    ({"image": {"pullPolicy": "Sometimes"}}, r"/image/pullPolicy"),
    ({"storage": {"mode": "url"}}, r"/storage/url"),
    ({"storage": {"mode": "existingClaim"}}, r"/storage/existingClaim"),
    ({"storage": {"accessModes": []}}, r"/storage/accessModes"),
    ({"storage": {"size": "ten gigs"}}, r"/storage/size"),
    (
        {"rbac": {"scope": "namespaced", "watchNamespaces": ["Not_A_Namespace"]}},
        r"/rbac/watchNamespaces/0",
    ),
    ({"service": {"port": 70000}}, r"/service/port"),
    ({"leaderElection": {"leaseName": "Bad Name"}}, r"/leaderElection/leaseName"),
]


@pytest.mark.parametrize(
    ("values", "message"),
    BAD_VALUES,
    ids=[json.dumps(v, separators=(",", ":")) for v, _ in BAD_VALUES],
)
def test_schema_rejects_bad_values(
    render: Callable[..., Any], values: dict[str, Any], message: str
) -> None:
    with pytest.raises(HelmError) as info:
        render(values)
    err = str(info.value)
    assert "values don't meet the specifications of the schema" in err, err
    assert re.search(message, err), err


def test_lint_strict_rejects_bad_scope(helm: Callable[..., str]) -> None:
    with pytest.raises(HelmError) as info:
        helm("lint", "--strict", str(CHART), values={"rbac": {"scope": "foo"}})
    assert "value must be one of 'cluster', 'namespaced'" in str(info.value)


def test_watch_namespaces_need_namespaced_scope(render: Callable[..., Any]) -> None:
    with pytest.raises(HelmError) as info:
        render({"rbac": {"watchNamespaces": ["a"]}})
    assert "rbac.watchNamespaces is only used with rbac.scope=namespaced" in str(info.value)


def _schema_paths(schema: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}.{key}" if prefix else key
        out[path] = sub
        out.update(_schema_paths(sub, path))
    return out


def test_schema_is_strict_and_documented() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    paths = _schema_paths(schema)
    assert paths["rbac.scope"]["enum"] == ["cluster", "namespaced"]
    assert paths["storage.mode"]["enum"] == ["pvc", "existingClaim", "url"]
    for path, sub in paths.items():
        if sub.get("type") == "object" and "properties" in sub:
            assert sub.get("additionalProperties") is False, f"{path} accepts unknown keys"
    # every value in values.yaml is known to the schema (additionalProperties does that at
    # render time too; this names the offender)
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    def walk(node: Any, prefix: str = "") -> None:
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            parent = paths.get(prefix) if prefix else schema
            if parent is not None and "properties" in parent:
                assert path in paths, f"values.yaml has {path}, the schema does not"
                walk(value, path)

    walk(values)


def test_every_value_has_a_comment() -> None:
    """Each leaf key of values.yaml (outside free-form maps and lists) has a comment above."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    key = re.compile(r"^(\s*)([A-Za-z][A-Za-z0-9]*):(.*)$")
    stack: list[tuple[int, str]] = []
    missing = []
    for i, line in enumerate(lines):
        m = key.match(line)
        if not m:
            continue
        indent, name, rest = len(m.group(1)), m.group(2), m.group(3).strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parents = [n for _, n in stack]
        stack.append((indent, name))
        if rest == "" or rest.startswith("#"):
            continue  # a mapping (its children carry the comments) or a block list
        if set(parents) & {"resources", "hosts", "probes", "podSecurityContext", "securityContext"}:
            continue  # examples inside a documented value
        prev = lines[i - 1].strip() if i else ""
        if not prev.startswith("#"):
            missing.append(".".join([*parents, name]))
    assert not missing, f"values without a comment: {missing}"
