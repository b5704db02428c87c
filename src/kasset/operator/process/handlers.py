"""The kopf edge: raw-event handlers for our kinds and step pods, startup and cleanup.

Only `@kopf.on.event` is used: kopf writes no annotations for it, whereas change
handlers would copy the whole spec (thousands of assets) into a diff-base annotation.
Every handler hands the body to the `OperatorService` and returns.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from kasset.operator.process.service import OperatorService

__all__ = ["build_registry", "configure"]

logger = logging.getLogger(__name__)

GROUP, VERSION = "kasset.io", "v1alpha1"


def configure(settings: Any, *, namespaced: bool = False) -> None:
    """kopf settings for a low-latency, low-write operator."""
    if namespaced:
        # The namespaces are named: kopf need not list namespaces (which the chart's
        # namespaced RBAC does not grant; kopf would retry for a minute before giving up).
        settings.scanning.disabled = True
    settings.posting.enabled = False  # kopf's own Events: we post ours
    settings.posting.level = logging.ERROR
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 10
    settings.networking.request_timeout = 60
    settings.networking.connect_timeout = 10
    settings.execution.max_workers = 4  # our handlers are async; this is for kopf's sync bits
    settings.queueing.idle_timeout = 10.0
    # Server-side filtering: only step pods reach us, not every pod of the cluster.
    settings.watching.label_selectors["v1", "pods"] = "kasset.io/run"


def build_registry(service: OperatorService) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> Any:
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(registry=registry)
    async def startup(settings: Any, **_: Any) -> None:
        configure(settings, namespaced=not service.options.clusterwide)
        await service.start()

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        await service.stop()

    @kopf.on.event(GROUP, VERSION, "assetgraphs", registry=registry)
    async def graph_event(body: Any, type: Any, **_: Any) -> None:
        await service.on_graph(body, type)

    @kopf.on.event(GROUP, VERSION, "materializations", registry=registry)
    async def materialization_event(body: Any, type: Any, **_: Any) -> None:
        await service.on_materialization(body, type)

    @kopf.on.event("v1", "pods", labels={"kasset.io/run": kopf.PRESENT}, registry=registry)
    async def pod_event(body: Any, type: Any, **_: Any) -> None:
        await service.on_pod(body, type)

    return registry
