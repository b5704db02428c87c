"""Cleanup of finished Materializations: `ttlSecondsAfterFinished` and each graph's
`historyLimit`. Decisions are pure functions; the Janitor applies them.

Deleting a Materialization garbage-collects its pods (ownerReferences), so finished runs
do not pile up pods either. The finished runs it knows are kept in the `RunTable`
(`table.finished`), where the ingest endpoint also finds a late step's run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kasset.operator.kube.client import ApiError
from kasset.operator.model.records import FinishedRun, RunKey, RunRecord
from kasset.operator.model.status import parse_time
from kasset.operator.runs.ports import Ports, RunTable

__all__ = ["FinishedRun", "Janitor", "TtlExpired", "beyond_history"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TtlExpired:
    """Timer key: the finished run's `ttlSecondsAfterFinished` has passed."""

    run: RunKey


def beyond_history(runs: Iterable[FinishedRun], limit: int) -> list[FinishedRun]:
    """The runs to delete so that the `limit` most recently finished remain."""
    newest_first = sorted(runs, key=lambda r: (r.completion, r.name), reverse=True)
    return newest_first[limit:]


class Janitor:
    def __init__(self, ports: Ports, table: RunTable) -> None:
        self.ports, self.table = ports, table
        ports.timers.on(TtlExpired, self.fire_ttl)

    @property
    def finished_runs(self) -> dict[RunKey, FinishedRun]:
        return self.table.finished

    def remember(self, body: Mapping[str, Any]) -> None:
        """A Materialization seen already finished (e.g. at startup)."""
        metadata = body.get("metadata") or {}
        spec = body.get("spec") or {}
        status = body.get("status") or {}
        completion = (
            parse_time(status.get("completionTime"))
            or parse_time(metadata.get("creationTimestamp"))
            or self.ports.clock()
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
        self.table.runs.pop(record.key, None)
        self._add(
            FinishedRun(
                record.namespace,
                record.name,
                record.graph.name,
                record.completion_time or self.ports.clock(),
                record.ttl_seconds,
            )
        )

    def forget(self, key: RunKey) -> None:
        self.finished_runs.pop(key, None)
        self.ports.timers.cancel(TtlExpired(key))

    def _add(self, run: FinishedRun) -> None:
        known = self.finished_runs.get(run.key)
        self.finished_runs[run.key] = run
        if run.ttl is not None:
            self.ports.timers.schedule(TtlExpired(run.key), run.completion + run.ttl)
        if known is None:
            self.enforce_history(run.namespace, run.graph)

    def enforce_history(self, namespace: str, graph: str) -> None:
        snapshot = self.table.graphs.get((namespace, graph))
        if snapshot is None:
            return
        runs = [
            r for r in self.finished_runs.values() if r.namespace == namespace and r.graph == graph
        ]
        for run in beyond_history(runs, snapshot.spec.history_limit):
            self._delete(run.key, f"beyond historyLimit {snapshot.spec.history_limit}")

    def fire_ttl(self, due: TtlExpired) -> None:
        if due.run in self.finished_runs:
            self._delete(due.run, "ttlSecondsAfterFinished passed")

    def _delete(self, key: RunKey, why: str) -> None:
        self.forget(key)
        logger.info("deleting Materialization %s/%s: %s", key[0], key[1], why)
        self.ports.spawn(self._send_delete(key))

    async def _send_delete(self, key: RunKey) -> None:
        try:
            await self.ports.kube.delete_object("materializations", key[0], key[1])
        except ApiError as error:
            logger.warning("cannot delete Materialization %s/%s: %s", key[0], key[1], error)
