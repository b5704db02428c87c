"""`kasset materialize GRAPH`: create a Materialization on the cluster, optionally wait.

The CLI side of cluster mode: builds the Materialization object (pure), sends it with the
operator's one API client, and with `--wait` follows its status until it finishes.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from kasset.definitions.partitions import RANGE_SEPARATOR
from kasset.errors import KassetError
from kasset.operator.kube.client import ApiError, RawApi
from kasset.resources import API_VERSION, RunPhase, materialization_body

__all__ = ["build_materialization", "create_materialization"]

_FINISHED = frozenset(phase.value for phase in RunPhase if phase.finished)
_PLURAL = "materializations"


def build_materialization(
    graph: str,
    *,
    selection: str | None = None,
    partitions: str | None = None,
    max_parallel: int | None = None,
    launched_by: str = "cli",
) -> dict[str, Any]:
    """The Materialization object for `kasset materialize GRAPH` (named by the server)."""
    chosen: dict[str, Any] | None = None
    if partitions:
        first, separator, last = partitions.partition(RANGE_SEPARATOR)
        if separator:
            chosen = {"range": {"start": first.strip(), "end": last.strip()}}
        else:
            chosen = {"keys": [k.strip() for k in partitions.split(",") if k.strip()]}
    return materialization_body(
        graph,
        launched_by=launched_by,
        selection=selection or "*",
        partitions=chosen,
        max_parallel=max_parallel,
        generate_name=f"{graph[:50]}-",
    )


def create_materialization(
    *,
    graph: str,
    selection: str | None = None,
    partitions: str | None = None,
    namespace: str | None = None,
    max_parallel: int | None = None,
    wait: bool = False,
    api: RawApi | None = None,
    out: TextIO = sys.stdout,
    poll_seconds: float = 1.0,
) -> int:
    """Creates the run and prints its name; with `wait`, follows it and returns 0 only
    when it succeeded."""
    api = api or RawApi.from_environment()
    namespace = namespace or _current_namespace()
    path = f"/apis/{API_VERSION}/namespaces/{namespace}/{_PLURAL}"
    body = build_materialization(
        graph, selection=selection, partitions=partitions, max_parallel=max_parallel
    )
    try:
        created = api.request("POST", path, body)
    except ApiError as error:
        raise KassetError(f"cannot create the Materialization: {error.message}") from None
    name = created["metadata"]["name"]
    print(f"materialization.kasset.io/{name} created", file=out)
    if not wait:
        return 0
    last = ""
    while True:
        try:
            current = api.request("GET", f"{path}/{name}")
        except ApiError as error:
            raise KassetError(f"lost the Materialization {name}: {error.message}") from None
        status = current.get("status") or {}
        phase = status.get("phase", "Pending")
        counts = status.get("counts") or {}
        line = (
            f"{name}: {phase}  {counts.get('succeeded', 0)}/{counts.get('total', '?')} succeeded"
            f", {counts.get('running', 0)} running, {counts.get('failed', 0)} failed"
        )
        if line != last:
            print(line, file=out, flush=True)
            last = line
        if phase in _FINISHED:
            if status.get("message"):
                print(status["message"], file=out)
            return 0 if phase == "Succeeded" else 1
        time.sleep(poll_seconds)


def _current_namespace() -> str:
    try:
        from kubernetes import config

        _, context = config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
        return str(context.get("context", {}).get("namespace") or "default")
    except Exception:
        return "default"
