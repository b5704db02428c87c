"""Hypothesis-generated AssetGraph and Materialization specs against the real API server
(CRDs from crds/) and a `kasset operator` host process.

Each example is a valid base spec (random assets, DAG deps, partitions, schedules) with one
mutation whose expected outcome is known:

* ``admission``: the schema or a CEL rule rejects it (422 Invalid, or 400 for a strict
  decoding error) and the message names the field (``expect``);
* ``invalid``: admitted, but semantically wrong (cycle, unknown dep, dangling partitions,
  unknown graph, bad selection, partitions not matching): the operator marks it Invalid
  (AssetGraph: condition Invalid=True; Materialization: phase Failed + Invalid condition);
* ``valid``: admitted and accepted (AssetGraph Ready; Materialization not Invalid);
* ``any``: random junk at a random place: rejected at admission, or admitted and then
  Ready or Invalid -- never ignored.

Afterwards the operator must still be alive (/healthz 200) and make a new valid graph
Ready. The counts are printed (and recorded in docs/security.md).
"""

from __future__ import annotations

import copy
import json
import os
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from kube import Kube, wait_until
from operator_harness import OperatorProcess, install_crds, operator

pytestmark = pytest.mark.control_plane

GROUP, VERSION = "kasset.io", "v1alpha1"
EXAMPLES = int(os.environ.get("KASSET_FUZZ_EXAMPLES", "80"))
UI_TOKEN = "ui-token-must-never-be-logged-7f3a9c"

Spec = dict[str, Any]
Mutation = tuple[str, str, str | None, Callable[[Spec], Any]]  # name, outcome, expect, fn


# -- generators ------------------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)


@st.composite
def base_graph(draw: st.DrawFn) -> Spec:
    keys = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    keys = [f"{draw(st.sampled_from(['', 'raw/', 'marts/']))}{k}" for k in keys]
    keys = list(dict.fromkeys(keys))
    with_parts = draw(st.booleans())
    assets = []
    for i, key in enumerate(keys):
        asset: Spec = {"key": key}
        if i and draw(st.booleans()):
            asset["deps"] = draw(st.lists(st.sampled_from(keys[:i]), max_size=2, unique=True))
        if draw(st.booleans()):
            asset["group"] = draw(names)
        if with_parts and draw(st.booleans()):
            asset["partitions"] = draw(st.sampled_from(["regions", "daily"]))
        assets.append(asset)
    spec: Spec = {
        "image": "kasset:missing",
        "imagePullPolicy": "Never",
        "codeLocation": {"module": "proj.defs"},
        "assets": assets,
    }
    if with_parts:
        spec["partitionsDefinitions"] = [
            {"name": "regions", "type": "static", "keys": ["eu", "us"]},
            {"name": "daily", "type": "daily", "start": "2024-01-01", "end": "2024-01-05"},
        ]
    if draw(st.booleans()):
        spec["maxParallel"] = draw(st.integers(1, 1000))
    if draw(st.booleans()):
        spec["defaults"] = {"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}
    return spec


def _set(path: str, value: Any) -> Callable[[Spec], Any]:
    """A mutation setting spec[path] (dotted, list indexes as digits) to value."""

    def apply(spec: Spec) -> Any:
        target: Any = spec
        parts = path.split(".")
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
        last = parts[-1]
        if isinstance(target, list):
            target[int(last)] = value
        elif value is _DELETE:
            target.pop(last, None)
        else:
            target[last] = value
        return spec

    return apply


_DELETE = object()
LONG_NAME = "n" * 70


def _both(*fns: Callable[[Spec], Any]) -> Callable[[Spec], Any]:
    def apply(spec: Spec) -> Any:
        for fn in fns:
            fn(spec)
        return spec

    return apply


def _cycle(spec: Spec) -> Spec:
    spec["assets"] = [{"key": "cyc_a", "deps": ["cyc_b"]}, {"key": "cyc_b", "deps": ["cyc_a"]}]
    return spec


def _append_asset(asset: Spec) -> Callable[[Spec], Any]:
    def apply(spec: Spec) -> Spec:
        spec["assets"].append(asset)
        return spec

    return apply


def _duplicate_key(spec: Spec) -> Spec:
    spec["assets"].append(dict(spec["assets"][0]))
    return spec


GRAPH_MUTATIONS: list[Mutation] = [
    ("none", "valid", None, lambda s: s),
    ("no image", "admission", "spec.image", _set("image", _DELETE)),
    ("image wrong type", "admission", "spec.image", _set("image", 42)),
    ("assets not a list", "admission", "spec.assets", _set("assets", "a,b")),
    ("asset key pattern", "admission", "spec.assets[0].key", _set("assets.0.key", "bad key!")),
    ("asset key wrong type", "admission", "spec.assets[0].key", _set("assets.0.key", ["x"])),
    ("unknown spec field", "admission", "bogusField", _set("bogusField", 1)),
    ("bad pull policy", "admission", "spec.imagePullPolicy", _set("imagePullPolicy", "Sometimes")),
    ("module pattern", "admission", "spec.codeLocation.module", _set("codeLocation.module", "a-b")),
    ("maxParallel 0", "admission", "spec.maxParallel", _set("maxParallel", 0)),
    ("maxParallel negative", "admission", "spec.maxParallel", _set("maxParallel", -5)),
    ("maxParallel too big", "admission", "spec.maxParallel", _set("maxParallel", 100000)),
    ("maxParallel string", "admission", "spec.maxParallel", _set("maxParallel", "ten")),
    (
        "bad cpu quantity",
        "admission",
        "spec.defaults.resources.requests",
        _set("defaults", {"resources": {"requests": {"cpu": "lots"}}}),
    ),
    (
        "bad memory quantity",
        "admission",
        "spec.defaults.resources.limits",
        _set("defaults", {"resources": {"limits": {"memory": "-1Gi"}}}),
    ),
    (
        "negative retries",
        "admission",
        "spec.defaults.retryPolicy.maxRetries",
        _set("defaults", {"retryPolicy": {"maxRetries": -1}}),
    ),
    (
        "timeout zero",
        "admission",
        "spec.defaults.timeoutSeconds",
        _set("defaults", {"timeoutSeconds": 0}),
    ),
    (
        "env value and valueFrom",
        "admission",
        "set value or valueFrom",
        _set(
            "defaults",
            {
                "env": [
                    {
                        "name": "X",
                        "value": "1",
                        "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
                    }
                ]
            },
        ),
    ),
    (
        "toleration Exists with value",
        "admission",
        "operator Exists",
        _set("defaults", {"tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]}),
    ),
    (
        "file uri outside the volume",
        "admission",
        "mountPath",
        _set(
            "storage",
            {"uri": "file:///elsewhere", "volume": {"claimName": "c", "mountPath": "/data"}},
        ),
    ),
    (
        "bad cron",
        "admission",
        "spec.schedules[0].cron",
        _set("schedules", [{"name": "s", "cron": "every day at noon", "selection": "*"}]),
    ),
    (
        "static partitions without keys",
        "admission",
        "static partitions need keys",
        _set("partitionsDefinitions", [{"name": "p", "type": "static"}]),
    ),
    (
        "static partitions with start",
        "admission",
        "start, end and cron are only",
        _set(
            "partitionsDefinitions",
            [{"name": "p", "type": "static", "keys": ["a"], "start": "2024-01-01"}],
        ),
    ),
    (
        "daily partitions without start",
        "admission",
        "need start",
        _set("partitionsDefinitions", [{"name": "p", "type": "daily"}]),
    ),
    (
        "daily partitions with keys",
        "admission",
        "keys are only for static",
        _set(
            "partitionsDefinitions",
            [{"name": "p", "type": "daily", "start": "2024-01-01", "keys": ["a"]}],
        ),
    ),
    (
        "duplicate partitions names",
        "admission",
        "spec.partitionsDefinitions",
        _set(
            "partitionsDefinitions",
            [{"name": "p", "type": "static", "keys": ["a"]}] * 2,
        ),
    ),
    ("cycle", "invalid", "cycle", _cycle),
    ("unknown dep", "invalid", "nosuch", _append_asset({"key": "z_dep", "deps": ["nosuch/x"]})),
    (
        "dangling partitions",
        "invalid",
        "nothere",
        _append_asset({"key": "z_part", "partitions": "nothere"}),
    ),
    ("duplicate asset key", "invalid", None, _duplicate_key),
    (
        "schedule selects nothing known",
        "any",
        None,
        _set("schedules", [{"name": "s", "cron": "0 2 * * *", "selection": "nosuch+"}]),
    ),
    (
        "cron passes the pattern, not cron",
        "any",
        None,
        _set("schedules", [{"name": "s", "cron": "99 99 * * *", "selection": "*"}]),
    ),
]

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
GRAPH_PATHS = [
    "image",
    "codeLocation",
    "codeLocation.attribute",
    "assets",
    "assets.0",
    "assets.0.deps",
    "assets.0.tags",
    "assets.0.checks",
    "assets.0.retryPolicy",
    "schedules",
    "storage",
    "defaults",
    "defaults.nodeSelector",
    "historyLimit",
    "partitionsDefinitions",
]


@st.composite
def graph_case(draw: st.DrawFn) -> tuple[Spec, str, Any]:
    """A random base graph, and random junk for a random place (used every 5th example)."""
    return draw(base_graph()), draw(st.sampled_from(GRAPH_PATHS)), draw(JUNK)


def pick(
    index: int, mutations: list[Mutation], spec: Spec, path: str, junk: Any
) -> tuple[str, str, str | None, Spec]:
    """Round robin over the mutations (every one is tried), junk every 5th example."""
    if index % 5 == 4:
        return f"junk at {path}", "any", None, _set(path, junk)(spec)
    name, outcome, expect, mutate = mutations[(index - index // 5) % len(mutations)]
    return name, outcome, expect, mutate(spec)


# The run fixtures: graph "good" has an unpartitioned asset u and a static-partitioned p.
GOOD_GRAPH: Spec = {
    "image": "kasset:missing",
    "imagePullPolicy": "Never",
    "codeLocation": {"module": "proj.defs"},
    "partitionsDefinitions": [
        {"name": "regions", "type": "static", "keys": ["eu", "us"]},
        {"name": "daily", "type": "daily", "start": "2024-01-01", "end": "2024-01-05"},
    ],
    "assets": [
        {"key": "u"},
        {"key": "p", "partitions": "regions"},
        {"key": "d", "partitions": "daily"},
    ],
}

RUN_MUTATIONS: list[Mutation] = [
    ("canceled at once", "valid", None, _set("cancel", True)),
    ("no graph", "admission", "spec.graph", _set("graph", _DELETE)),
    ("graph wrong type", "admission", "spec.graph", _set("graph", {"a": 1})),
    (
        "keys and range",
        "admission",
        "exactly one of keys or range",
        _set("partitions", {"keys": ["eu"], "range": {"start": "2024-01-01", "end": "2024-01-02"}}),
    ),
    ("neither keys nor range", "admission", "exactly one of keys or range", _set("partitions", {})),
    (
        "bad partition key",
        "admission",
        "spec.partitions.keys[0]",
        _set("partitions", {"keys": ["a,b"]}),
    ),
    ("maxParallel 0", "admission", "spec.maxParallel", _set("maxParallel", 0)),
    ("maxParallel negative", "admission", "spec.maxParallel", _set("maxParallel", -1)),
    ("maxParallel too big", "admission", "spec.maxParallel", _set("maxParallel", 1001)),
    ("empty selection", "admission", "spec.selection", _set("selection", "")),
    ("cancel wrong type", "admission", "spec.cancel", _set("cancel", "yes")),
    (
        "negative ttl",
        "admission",
        "spec.ttlSecondsAfterFinished",
        _set("ttlSecondsAfterFinished", -1),
    ),
    ("unknown field", "admission", "bogus", _set("bogus", True)),
    ("unknown graph", "invalid", "not found", _set("graph", "nosuch")),
    ("bad selection", "invalid", None, _set("selection", "nosuch_asset")),
    ("selection syntax", "invalid", None, _set("selection", "+*+,,(")),
    (
        "unknown static key",
        "invalid",
        None,
        _both(_set("selection", "p"), _set("partitions", {"keys": ["zz"]})),
    ),
    (
        "range on static partitions",
        "invalid",
        None,
        _both(_set("selection", "p"), _set("partitions", {"range": {"start": "x", "end": "y"}})),
    ),
    (
        "daily range out of bounds",
        "invalid",
        None,
        _both(
            _set("selection", "d"),
            _set("partitions", {"range": {"start": "2030-01-01", "end": "2030-01-02"}}),
        ),
    ),
]
RUN_PATHS = [
    "graph",
    "selection",
    "partitions",
    "partitions.keys",
    "partitions.range",
    "maxParallel",
    "cancel",
    "launchedBy",
    "ttlSecondsAfterFinished",
]


@st.composite
def run_case(draw: st.DrawFn) -> tuple[Spec, str, Any]:
    spec: Spec = {"graph": "good", "selection": draw(st.sampled_from(["u", "u+", "u,d"]))}
    return spec, draw(st.sampled_from(RUN_PATHS)), draw(JUNK)


def pick_run(index: int, spec: Spec, path: str, junk: Any) -> tuple[str, str, str | None, Spec]:
    name, outcome, expect, spec = pick(index, RUN_MUTATIONS, spec, path, junk)
    if outcome not in ("invalid",) and "cancel" not in spec:
        spec["cancel"] = True  # admitted valid runs stop at once: no step pods
    return name, outcome, expect, spec


# -- the cluster side ------------------------------------------------------------------------


@dataclass
class Tally:
    tried: int = 0
    rejected: int = 0
    admitted: int = 0
    marked_invalid: int = 0
    ready_or_valid: int = 0
    by_mutation: Counter[str] = field(default_factory=Counter)
    admitted_objects: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"tried {self.tried}, rejected at admission {self.rejected}, admitted "
            f"{self.admitted} (marked Invalid {self.marked_invalid}, Ready/valid "
            f"{self.ready_or_valid}); mutations {dict(self.by_mutation)}"
        )


class Api:
    def __init__(self, kube: Kube, namespace: str) -> None:
        self.namespace = namespace
        api_client = config.new_client_from_config(config_file=kube.kubeconfig)
        self.objects = client.CustomObjectsApi(api_client)
        self.counter = 0

    def create(self, plural: str, kind: str, name: str, spec: Any) -> tuple[int, str]:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": kind,
            "metadata": {"name": name},
            "spec": spec,
        }
        try:
            self.objects.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, body, field_validation="Strict"
            )
        except ApiException as error:
            try:
                message = json.loads(error.body or "{}").get("message", "")
            except ValueError:
                message = str(error.body)
            return int(error.status or 0), message
        return 201, ""

    def patch(self, plural: str, name: str, spec: Spec) -> tuple[int, str]:
        try:
            self.objects.patch_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name, {"spec": spec}
            )
        except ApiException as error:
            return int(error.status or 0), json.loads(error.body or "{}").get("message", "")
        return 200, ""

    def get(self, plural: str, name: str) -> dict[str, Any]:
        return dict(
            self.objects.get_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)
        )

    def next_name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"


def _conditions(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (body.get("status") or {}).get("conditions", [])}


def _healthy(op: OperatorProcess) -> bool:
    with urllib.request.urlopen(op.url("/healthz"), timeout=5) as response:
        return response.status == 200


@pytest.fixture
def cluster(
    kube: Kube, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Api, OperatorProcess]]:
    install_crds(kube)
    monkeypatch.setenv("KASSET_UI_TOKEN", UI_TOKEN)
    with operator(
        kube.kubeconfig,
        namespace,
        "--log-level",
        "debug",
        "--pending-timeout",
        "20",
        log_name=f"{namespace}-fuzz",
    ) as op:
        yield Api(kube, namespace), op


def _record_create(
    api: Api, tally: Tally, plural: str, kind: str, case: tuple[str, str, str | None, Spec]
) -> None:
    mutation, outcome, expect, spec = case
    name = api.next_name("g" if plural == "assetgraphs" else "r")
    if mutation.startswith("too long"):
        name = LONG_NAME
    tally.tried += 1
    tally.by_mutation[mutation] += 1
    code, message = api.create(plural, kind, name, copy.deepcopy(spec))
    if code == 201:
        tally.admitted += 1
        tally.admitted_objects[name] = (mutation, outcome, expect)
        if outcome == "admission":
            tally.problems.append(f"{kind} '{mutation}' was admitted: {json.dumps(spec)[:300]}")
        return
    tally.rejected += 1
    if code not in (400, 422):
        tally.problems.append(f"{kind} '{mutation}': HTTP {code} (not 400/422): {message[:300]}")
    if outcome in ("valid", "invalid"):
        tally.problems.append(f"{kind} '{mutation}' rejected ({code}): {message[:300]}")
    if outcome == "admission" and expect and expect.lower() not in message.lower():
        tally.problems.append(f"{kind} '{mutation}': message lacks {expect!r}: {message[:400]}")


def _settle(
    api: Api,
    tally: Tally,
    plural: str,
    judge: Callable[[dict[str, Any]], str | None],
    timeout: float = 90,
) -> None:
    """Waits until every admitted object has a verdict from the operator, then checks it."""
    verdicts: dict[str, str] = {}

    def done() -> bool:
        for name in tally.admitted_objects:
            if name not in verdicts:
                verdict = judge(api.get(plural, name))
                if verdict:
                    verdicts[name] = verdict
        return len(verdicts) == len(tally.admitted_objects)

    wait_until(
        done,
        timeout,
        f"the operator to judge every admitted {plural}",
        interval=1,
        on_timeout=lambda: str(set(tally.admitted_objects) - set(verdicts)),
    )
    for name, verdict in verdicts.items():
        mutation, outcome, expect = tally.admitted_objects[name]
        body = api.get(plural, name)
        if verdict == "invalid":
            tally.marked_invalid += 1
            message = _conditions(body).get("Invalid", {}).get("message", "")
            if outcome == "valid":
                tally.problems.append(f"{name} '{mutation}' marked Invalid: {message}")
            if outcome == "invalid" and expect and expect.lower() not in message.lower():
                tally.problems.append(
                    f"{name} '{mutation}': Invalid message lacks {expect!r}: {message}"
                )
        else:
            tally.ready_or_valid += 1
            if outcome == "invalid":
                tally.problems.append(
                    f"{name} '{mutation}' not marked Invalid: {body.get('status')}"
                )


def _graph_verdict(body: dict[str, Any]) -> str | None:
    conditions = _conditions(body)
    if conditions.get("Invalid", {}).get("status") == "True":
        return "invalid"
    if conditions.get("Ready", {}).get("status") == "True":
        return "ready"
    return None


def _run_verdict(body: dict[str, Any]) -> str | None:
    status = body.get("status") or {}
    if _conditions(body).get("Invalid", {}).get("status") == "True":
        return "invalid"
    if status.get("phase") in ("Running", "Succeeded", "Failed", "Canceled"):
        return "valid"
    return None


PROFILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def test_asset_graph_specs_are_rejected_at_admission_or_judged_by_the_operator(
    cluster: tuple[Api, OperatorProcess],
) -> None:
    api, op = cluster
    tally = Tally()

    @PROFILE
    @given(graph_case())
    def fuzz(case: tuple[Spec, str, Any]) -> None:
        _record_create(
            api, tally, "assetgraphs", "AssetGraph", pick(tally.tried, GRAPH_MUTATIONS, *case)
        )

    fuzz()
    # once each: a plain valid graph and a too-long name
    _record_create(api, tally, "assetgraphs", "AssetGraph", ("none", "valid", None, GOOD_GRAPH))
    _record_create(
        api,
        tally,
        "assetgraphs",
        "AssetGraph",
        (
            "too long name",
            "admission",
            "63 characters",
            {"image": "i", "codeLocation": {"module": "m"}, "assets": [{"key": "a"}]},
        ),
    )
    _settle(api, tally, "assetgraphs", _graph_verdict)
    print(f"\nAssetGraph fuzz: {tally.summary()}")
    assert op.alive() and _healthy(op)
    # still serving: a new valid graph gets Ready
    code, message = api.create("assetgraphs", "AssetGraph", "after-fuzz", GOOD_GRAPH)
    assert code == 201, message
    wait_until(
        lambda: _graph_verdict(api.get("assetgraphs", "after-fuzz")) == "ready",
        60,
        "AssetGraph after-fuzz Ready",
    )
    assert not tally.problems, "\n".join(tally.problems)
    assert tally.rejected and tally.marked_invalid and tally.ready_or_valid, tally.summary()
    _assert_tokens_never_logged(op)


def test_materialization_specs_are_rejected_at_admission_or_marked_invalid(
    cluster: tuple[Api, OperatorProcess],
) -> None:
    api, op = cluster
    code, message = api.create("assetgraphs", "AssetGraph", "good", GOOD_GRAPH)
    assert code == 201, message
    wait_until(lambda: _graph_verdict(api.get("assetgraphs", "good")) == "ready", 60, "good Ready")
    tally = Tally()

    @PROFILE
    @given(run_case())
    def fuzz(case: tuple[Spec, str, Any]) -> None:
        _record_create(
            api, tally, "materializations", "Materialization", pick_run(tally.tried, *case)
        )

    fuzz()
    _record_create(
        api,
        tally,
        "materializations",
        "Materialization",
        (
            "plain, canceled at once",
            "valid",
            None,
            {"graph": "good", "selection": "u", "cancel": True},
        ),
    )
    _record_create(
        api,
        tally,
        "materializations",
        "Materialization",
        ("too long name", "admission", "63 characters", {"graph": "good", "cancel": True}),
    )
    _settle(api, tally, "materializations", _run_verdict)
    print(f"\nMaterialization fuzz: {tally.summary()}")

    # transitions: cancel true -> false, graph / selection / partitions changes
    transitions = [
        ({"cancel": False}, "cannot be resumed"),
        ({"graph": "other"}, "graph is immutable"),
        ({"selection": "p"}, "selection is immutable"),
        ({"partitions": {"keys": ["eu"]}}, "partitions is immutable"),
    ]
    code, message = api.create(
        "materializations",
        "Materialization",
        "t1",
        {"graph": "good", "selection": "u", "cancel": True},
    )
    assert code == 201, message
    refused = 0
    for patch, expect in transitions:
        code, message = api.patch("materializations", "t1", patch)
        assert code == 422 and expect in message, (patch, code, message)
        refused += 1
    print(f"transitions refused at admission: {refused}/{len(transitions)}")

    assert op.alive() and _healthy(op)
    code, message = api.create("assetgraphs", "AssetGraph", "after-fuzz", GOOD_GRAPH)
    assert code == 201, message
    wait_until(
        lambda: _graph_verdict(api.get("assetgraphs", "after-fuzz")) == "ready",
        60,
        "AssetGraph after-fuzz Ready",
    )
    code, message = api.create(
        "materializations",
        "Materialization",
        "after-run",
        {"graph": "after-fuzz", "selection": "u", "cancel": True},
    )
    assert code == 201, message
    wait_until(
        lambda: (
            (api.get("materializations", "after-run").get("status") or {}).get("phase")
            == "Canceled"
        ),
        60,
        "after-run Canceled",
    )
    assert not tally.problems, "\n".join(tally.problems)
    assert tally.rejected and tally.marked_invalid and tally.ready_or_valid, tally.summary()
    _assert_tokens_never_logged(op)


def _assert_tokens_never_logged(op: OperatorProcess) -> None:
    """Requests carrying tokens (UI token, step tokens, wrong tokens) at DEBUG logging:
    none of the token strings may reach the operator's log."""
    from kasset.operator.model.auth import step_token
    from operator_harness import SECRET

    step = step_token(SECRET.encode(), "ns", "run", "a", 1)
    tokens = [UI_TOKEN, step, "wrong-token-abcdef-123456"]
    statuses = []
    for token in tokens:
        for path, data in (
            ("/api/v1/events", b'{"events": []}'),
            ("/api/v1/runs", None),
            (f"/api/v1/runs?token={token}", None),
            ("/", None),
        ):
            request = urllib.request.Request(
                op.url(path),
                data=data,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Cookie": f"kasset_session={token}",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    statuses.append(response.status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
    assert UI_TOKEN and 200 in statuses and 401 in statuses, statuses
    time.sleep(1)
    log = op.log.read_text(errors="replace")
    assert "DEBUG" in log or "debug" in log.lower()
    leaked = [t for t in tokens if t in log]
    assert not leaked, f"tokens in the operator log {op.log}: {leaked}"
