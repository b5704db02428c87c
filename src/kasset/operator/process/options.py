"""Command line options of `kasset operator` (argparse), with environment defaults."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kasset.plan import INFRA_RETRIES, MAX_INFRA_RETRIES

__all__ = ["OperatorOptions", "default_event_url", "parse_options"]


@dataclass(frozen=True)
class OperatorOptions:
    namespaces: tuple[str, ...]
    event_url: str | None
    max_running: int | None
    pending_timeout: float
    infra_retries: int
    schedule_missed_window: float
    host: str
    port: int
    step_events: str
    status_interval: float
    asset_interval: float
    leader_election: bool
    lease_name: str
    lease_namespace: str | None
    lease_duration: float
    lease_renew_deadline: float
    lease_retry_period: float
    lease_renew_period: float
    kubeconfig: str | None
    api_qps: float
    api_burst: int
    log_level: str

    @property
    def clusterwide(self) -> bool:
        return not self.namespaces


def default_event_url(env: Mapping[str, str], port: int) -> str | None:
    """`$KASSET_EVENT_URL`, else the operator Service's in-cluster URL when known."""
    if env.get("KASSET_EVENT_URL"):
        return env["KASSET_EVENT_URL"]
    service, namespace = env.get("KASSET_SERVICE_NAME"), env.get("POD_NAMESPACE")
    if service and namespace:
        return f"http://{service}.{namespace}.svc:{port}/api/v1/events"
    return None


def _infra_retries(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= MAX_INFRA_RETRIES:
        raise argparse.ArgumentTypeError(f"must be 0..{MAX_INFRA_RETRIES}, got {value}")
    return value


def parse_options(argv: Sequence[str], env: Mapping[str, str] | None = None) -> OperatorOptions:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(prog="kasset operator", description="Run the kasset operator.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="watch this namespace (repeatable; default: all namespaces)",
    )
    where.add_argument(
        "-A", "--all-namespaces", action="store_true", help="watch every namespace (the default)"
    )
    parser.add_argument(
        "--event-url",
        help="URL step pods post events to (default: "
        "$KASSET_EVENT_URL, else http://$KASSET_SERVICE_NAME.$POD_NAMESPACE"
        ".svc:PORT/api/v1/events)",
    )
    parser.add_argument(
        "--max-running",
        type=int,
        default=0,
        help="steps running at once across all runs (0: no limit)",
    )
    parser.add_argument(
        "--pending-timeout",
        type=float,
        default=300.0,
        help="seconds a step pod may stay pending before its attempt fails",
    )
    parser.add_argument(
        "--infra-retries",
        type=_infra_retries,
        default=INFRA_RETRIES,
        help="attempts per step lost to the infrastructure (container could not start, pod "
        "evicted or deleted, node gone) that are retried without counting against the "
        f"step's retry policy, 0..{MAX_INFRA_RETRIES} (default {INFRA_RETRIES})",
    )
    parser.add_argument(
        "--schedule-missed-window",
        type=float,
        default=3600.0,
        help="schedule ticks older than this many seconds are skipped",
    )
    parser.add_argument("--host", default="0.0.0.0", help="HTTP listen address")
    parser.add_argument("--port", type=int, default=8080, help="HTTP port (ingest, metrics, UI)")
    parser.add_argument(
        "--step-events",
        choices=("all", "failures"),
        default="all",
        help="Kubernetes Events for every finished step, or failures only",
    )
    parser.add_argument(
        "--status-interval",
        type=float,
        default=0.25,
        help="least seconds between two status writes of a run",
    )
    parser.add_argument(
        "--asset-interval",
        type=float,
        default=1.0,
        help="least seconds between two status writes of an Asset",
    )
    parser.add_argument(
        "--no-leader-election",
        dest="leader_election",
        action="store_false",
        help="do not wait for the leader lease (local runs, tests)",
    )
    parser.add_argument("--lease-name", default="kasset-operator")
    parser.add_argument(
        "--lease-namespace",
        default=env.get("POD_NAMESPACE"),
        help="namespace of the lease (default: $POD_NAMESPACE)",
    )
    parser.add_argument("--lease-duration", type=float, default=15.0)
    parser.add_argument("--lease-renew-deadline", type=float, default=10.0)
    parser.add_argument("--lease-retry-period", type=float, default=2.0)
    parser.add_argument("--lease-renew-period", type=float, default=5.0)
    parser.add_argument("--kubeconfig", default=env.get("KUBECONFIG"))
    parser.add_argument(
        "--api-qps",
        type=float,
        default=100.0,
        help="API requests per second the operator sends on average",
    )
    parser.add_argument("--api-burst", type=int, default=200)
    parser.add_argument(
        "--log-level", default="info", choices=("debug", "info", "warning", "error")
    )
    args = parser.parse_args(list(argv))
    if args.leader_election and not args.lease_namespace:
        parser.error(
            "leader election needs --lease-namespace or $POD_NAMESPACE (or --no-leader-election)"
        )
    return OperatorOptions(
        namespaces=tuple(dict.fromkeys(args.namespace)),
        event_url=args.event_url or default_event_url(env, args.port),
        max_running=args.max_running or None,
        pending_timeout=args.pending_timeout,
        infra_retries=args.infra_retries,
        schedule_missed_window=args.schedule_missed_window,
        host=args.host,
        port=args.port,
        step_events=args.step_events,
        status_interval=args.status_interval,
        asset_interval=args.asset_interval,
        leader_election=args.leader_election,
        lease_name=args.lease_name,
        lease_namespace=args.lease_namespace,
        lease_duration=args.lease_duration,
        lease_renew_deadline=args.lease_renew_deadline,
        lease_retry_period=args.lease_retry_period,
        lease_renew_period=args.lease_renew_period,
        kubeconfig=args.kubeconfig,
        api_qps=args.api_qps,
        api_burst=args.api_burst,
        log_level=args.log_level,
    )
