"""Cleanup of finished Materializations: `ttlSecondsAfterFinished` and each graph's
`historyLimit`. Decisions are pure functions; the Janitor applies them.

Deleting a Materialization garbage-collects its pods (ownerReferences), so finished runs
do not pile up pods either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kasset.operator.kube.client import ApiError
from kasset.operator.model.records import RunKey, RunRecord
from kasset.operator.model.status import parse_time

if TYPE_CHECKING:
    from kasset.operator.runs.controller import Controller

__all__ = ["FinishedRun", "Janitor", "beyond_history"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinishedRun:
    namespace: str
    name: str
    graph: str
    completion: float
    ttl: int | None = None

    @property
    def key(self) -> RunKey:
        return (self.namespace, self.name)


def beyond_history(runs: Iterable[FinishedRun], limit: int) -> list[FinishedRun]:
    """The runs to delete so that the `limit` most recently finished remain."""
    newest_first = sorted(runs, key=lambda r: (r.completion, r.name), reverse=True)
    return newest_first[limit:]


class Janitor:
    def __init__(self, controller: Controller) -> None:
        self.c = controller
        self.finished_runs: dict[RunKey, FinishedRun] = {}

    def remember(self, body: Mapping[str, Any]) -> None:
        """A Materialization seen already finished (e.g. at startup)."""
        metadata = body.get("metadata") or {}
        spec = body.get("spec") or {}
        status = body.get("status") or {}
        completion = (
            parse_time(status.get("completionTime"))
            or parse_time(metadata.get("creationTimestamp"))
            or self.c.clock()
        )
        self._add(
            FinishedRun(
                str(metadata.get("namespace")),
                str(metadata.get("name")),
                str(spec.get("graph")),
                completion,
                spec.get("ttlSecondsAfterFinished"),
            )
        )

    def finished(self, record: RunRecord) -> None:
        """A run we drove has finished and its final status is written: drop its state."""
        self.c.runs.pop(record.key, None)
        self._add(
            FinishedRun(
                record.namespace,
                record.name,
                record.graph.name,
                record.completion_time or self.c.clock(),
                record.ttl_seconds,
            )
        )

    def forget(self, key: RunKey) -> None:
        self.finished_runs.pop(key, None)
        self.c.timers.cancel(("ttl", key))

    def _add(self, run: FinishedRun) -> None:
        known = self.finished_runs.get(run.key)
        self.finished_runs[run.key] = run
        if run.ttl is not None:
            self.c.timers.schedule(("ttl", run.key), run.completion + run.ttl)
        if known is None:
            self.enforce_history(run.namespace, run.graph)

    def enforce_history(self, namespace: str, graph: str) -> None:
        snapshot = self.c.graphs.get((namespace, graph))
        if snapshot is None:
            return
        runs = [
            r for r in self.finished_runs.values() if r.namespace == namespace and r.graph == graph
        ]
        for run in beyond_history(runs, snapshot.spec.history_limit):
            self._delete(run.key, f"beyond historyLimit {snapshot.spec.history_limit}")

    def fire_ttl(self, key: RunKey) -> None:
        if key in self.finished_runs:
            self._delete(key, "ttlSecondsAfterFinished passed")

    def _delete(self, key: RunKey, why: str) -> None:
        self.forget(key)
        logger.info("deleting Materialization %s/%s: %s", key[0], key[1], why)
        self.c.spawn(self._send_delete(key))

    async def _send_delete(self, key: RunKey) -> None:
        try:
            await self.c.kube.delete_object("materializations", key[0], key[1])
        except ApiError as error:
            logger.warning("cannot delete Materialization %s/%s: %s", key[0], key[1], error)
