"""Lease-based leader election against an in-memory lease endpoint."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kasset.operator.kube.client import ApiError
from kasset.operator.process.leader import LeaderElector, LeaseTimings


class FakeRaw:
    def __init__(self) -> None:
        self.lease: dict[str, Any] | None = None
        self.version = 0
        self.labels: dict[str, Any] = {}

    def request(self, method: str, path: str, body: Any = None, **_: Any) -> Any:
        if "/pods/" in path:
            self.labels.update(body["metadata"]["labels"])
            return {}
        if method == "GET":
            if self.lease is None:
                raise ApiError(404, "Not Found")
            return copy.deepcopy(self.lease)
        if method == "POST":
            if self.lease is not None:
                raise ApiError(409, "Conflict")
        elif body["metadata"].get("resourceVersion") != str(self.version):
            raise ApiError(409, "Conflict")
        self.version += 1
        self.lease = copy.deepcopy(body)
        self.lease["metadata"]["resourceVersion"] = str(self.version)
        return copy.deepcopy(self.lease)


def elector(raw: FakeRaw, identity: str, clock: list[float]) -> LeaderElector:
    return LeaderElector(
        raw,
        "ops",
        identity,
        pod_name=identity,
        clock=lambda: clock[0],  # type: ignore[arg-type]
        timings=LeaseTimings(lease_duration=15),
    )


def test_one_replica_holds_the_lease_until_it_expires() -> None:
    raw, clock = FakeRaw(), [0.0]
    first, second = elector(raw, "a", clock), elector(raw, "b", clock)
    assert first.try_acquire_or_renew()
    assert not second.try_acquire_or_renew()
    clock[0] = 10.0
    assert first.try_acquire_or_renew()  # renewed
    assert not second.try_acquire_or_renew()
    clock[0] = 40.0  # a stopped renewing: expired by b's own clock
    assert second.try_acquire_or_renew()
    assert raw.lease is not None and raw.lease["spec"]["holderIdentity"] == "b"
    assert raw.lease["spec"]["leaseTransitions"] == 1


def test_release_lets_another_replica_take_over_and_drops_the_label() -> None:
    raw, clock = FakeRaw(), [0.0]
    first, second = elector(raw, "a", clock), elector(raw, "b", clock)
    first.acquire()
    assert raw.labels == {"kasset.io/role": "leader"}
    first.release()
    assert raw.labels == {"kasset.io/role": None}
    assert second.try_acquire_or_renew()


def test_losing_the_lease_calls_the_exit_hook() -> None:
    raw, clock = FakeRaw(), [0.0]
    lost: list[bool] = []
    first = LeaderElector(
        raw,
        "ops",
        "a",
        clock=lambda: clock[0],  # type: ignore[arg-type]
        timings=LeaseTimings(renew_deadline=0.0, renew_period=0.01, retry_period=0.01),
        on_lost=lambda: lost.append(True),
    )
    assert first.try_acquire_or_renew()
    raw.lease = None
    raw.request = lambda *a, **k: (_ for _ in ()).throw(ApiError(500, "down"))  # type: ignore[method-assign]
    clock[0] = 5.0
    first._renew_loop()
    assert lost == [True]


@pytest.mark.parametrize("argv", [["--no-leader-election"], ["-n", "a", "--no-leader-election"]])
def test_options_parse(argv: list[str]) -> None:
    from kasset.operator.process.options import parse_options

    options = parse_options(argv, env={"KASSET_SERVICE_NAME": "kasset", "POD_NAMESPACE": "ops"})
    assert options.event_url == "http://kasset.ops.svc:8080/api/v1/events"
    assert options.clusterwide == (argv == ["--no-leader-election"])
    assert options.max_running is None and options.pending_timeout == 300


def test_infra_retries_are_bounded_with_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    from kasset.operator.process.options import parse_options

    assert parse_options(["--no-leader-election"], env={}).infra_retries == 3
    assert (
        parse_options(["--no-leader-election", "--infra-retries", "0"], env={}).infra_retries == 0
    )
    with pytest.raises(SystemExit):
        parse_options(["--no-leader-election", "--infra-retries", "11"], env={})
    assert "--infra-retries: must be 0..10, got 11" in capsys.readouterr().err


def test_renewing_keeps_the_labels_and_annotations_helm_recognises_its_lease_by() -> None:
    from kasset.operator.process.leader import lease_body

    helm = {
        "labels": {"app.kubernetes.io/managed-by": "Helm"},
        "annotations": {"meta.helm.sh/release-name": "kasset"},
        "name": "kasset-operator",
    }
    body = lease_body("kasset-operator", "ns", "me", 15, 100.0, 1, None, "42", helm)
    assert body["metadata"]["labels"] == helm["labels"]
    assert body["metadata"]["annotations"] == helm["annotations"]
    assert body["metadata"]["resourceVersion"] == "42"
