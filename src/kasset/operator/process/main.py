"""`kasset operator`: parse options, wait for the leader lease, run kopf standalone.

    kasset operator --namespace NS --no-leader-election \
        --event-url http://HOST:PORT/api/v1/events --port PORT
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Sequence

__all__ = ["main", "run"]

logger = logging.getLogger("kasset.operator")


def main(argv: Sequence[str] | None = None) -> int:
    """The `kasset operator` command; returns the exit status."""
    return run(list(sys.argv[1:] if argv is None else argv))


def run(argv: Sequence[str]) -> int:
    import kopf

    from kasset.operator.kube.client import KubeClient, RawApi
    from kasset.operator.model.auth import RedactTokens
    from kasset.operator.process.handlers import build_registry
    from kasset.operator.process.leader import LeaderElector, LeaseTimings
    from kasset.operator.process.options import parse_options
    from kasset.operator.process.service import OperatorService, event_secret
    from kasset.operator.process.standby import StandbyServer
    from kasset.operator.telemetry.sink import load_metrics

    options = parse_options(argv)
    _setup_logging(options.log_level, RedactTokens())
    if options.kubeconfig:
        os.environ["KUBECONFIG"] = options.kubeconfig
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    metrics = load_metrics(registry)
    raw = RawApi.from_environment(options.kubeconfig, on_write=metrics.api_write)
    pod_name = os.environ.get("POD_NAME")
    identity = pod_name or f"{socket.gethostname()}-{os.getpid()}"
    elector = None
    if options.leader_election:
        assert options.lease_namespace is not None
        elector = LeaderElector(
            raw,
            options.lease_namespace,
            identity,
            options.lease_name,
            pod_name,
            LeaseTimings(
                options.lease_duration,
                options.lease_renew_deadline,
                options.lease_retry_period,
                options.lease_renew_period,
            ),
        )
        elector.set_role(False)  # a restarted container must not keep the label
        with StandbyServer(options.host, options.port):
            elector.acquire()
        elector.start_renewing()
    if not options.event_url:
        logger.warning("no event URL: steps report through termination messages only")
    kube = KubeClient(
        raw,
        qps=options.api_qps,
        burst=options.api_burst,
        on_event_dropped=lambda: metrics.k8s_event_suppressed("shed"),
    )
    service = OperatorService(
        options, kube, metrics, event_secret(os.environ), registry, instance=identity
    )
    try:
        kopf.run(
            registry=build_registry(service),
            standalone=True,
            clusterwide=options.clusterwide,
            namespaces=list(options.namespaces),
        )
    finally:
        kube.close()
        if elector is not None:
            elector.release()
    return 0


def _setup_logging(level: str, redact: logging.Filter) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    logging.getLogger("kopf").setLevel(max(logging.INFO, logging.getLogger().level))
    # kopf logs every handled event at INFO; at thousands of pod events that is noise.
    logging.getLogger("kopf.objects").setLevel(max(logging.WARNING, logging.getLogger().level))
