"""How long history is kept: per installation, overridden per graph; by age, by count,
or both (whichever deletes more). Separate from an AssetGraph's `historyLimit`, which
bounds the Materialization objects in etcd: `kubectl get mat` stays short while the
asset's history stays long.

Pure rules; `pruning.py` applies them to a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kasset.errors import HistoryError

__all__ = ["RetentionPolicy", "RetentionReport", "RetentionRules"]


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """`days`: delete runs (with all their events) not touched for that long, and events
    of no run (ticks, evaluations) older than that. `runs`: keep the newest N finished
    runs of a graph, and the newest N ticks of each schedule or sensor. None: no bound.
    Runs still pending or running are never deleted by count."""

    days: float | None = None
    runs: int | None = None

    def __post_init__(self) -> None:
        if self.days is not None and not self.days > 0:
            raise HistoryError(f"retention days must be positive, not {self.days}")
        if self.runs is not None and self.runs < 1:
            raise HistoryError(f"retention runs must be at least 1, not {self.runs}")

    def cutoff(self, now: datetime) -> datetime | None:
        return None if self.days is None else now - timedelta(days=self.days)


@dataclass(frozen=True, slots=True)
class RetentionRules:
    """The installation's policy, and per (namespace, graph) overrides that replace it."""

    default: RetentionPolicy = field(default_factory=RetentionPolicy)
    graphs: Mapping[tuple[str, str], RetentionPolicy] = field(default_factory=dict)

    def for_graph(self, namespace: str, graph: str) -> RetentionPolicy:
        return self.graphs.get((namespace, graph), self.default)


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one enforcement deleted; `more` says a bound stopped it (call again)."""

    runs: int = 0
    events: int = 0
    more: bool = False
