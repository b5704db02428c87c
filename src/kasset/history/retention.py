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
from typing import Any

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

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RetentionRules:
        """The rules as configuration writes them (a chart value, a flag's JSON):

        >>> rules = RetentionRules.from_mapping(
        ...     {"days": 90, "graphs": {"data/nightly": {"runs": 500}}})
        >>> rules.for_graph("data", "nightly"), rules.for_graph("data", "other").days
        (RetentionPolicy(days=None, runs=500), 90)
        """
        graphs: dict[tuple[str, str], RetentionPolicy] = {}
        overrides = data.get("graphs") or {}
        if not isinstance(overrides, Mapping):
            raise HistoryError("retention.graphs must map namespace/graph to a policy")
        for name, policy in overrides.items():
            namespace, slash, graph = str(name).partition("/")
            if not slash or not namespace or not graph or "/" in graph:
                raise HistoryError(f"retention.graphs key {name!r} is not namespace/graph")
            graphs[(namespace, graph)] = _policy(policy, f"retention.graphs[{name!r}]")
        return cls(_policy({k: v for k, v in data.items() if k != "graphs"}, "retention"), graphs)


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one enforcement deleted; `more` says a bound stopped it (call again)."""

    runs: int = 0
    events: int = 0
    more: bool = False


def _policy(data: object, where: str) -> RetentionPolicy:
    if not isinstance(data, Mapping):
        raise HistoryError(f"{where} must be a mapping with days and/or runs")
    unknown = set(data) - {"days", "runs"}
    if unknown:
        raise HistoryError(f"{where} has unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    days, runs = data.get("days"), data.get("runs")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int | float)):
        raise HistoryError(f"{where}.days must be a number of days, not {days!r}")
    if runs is not None and (isinstance(runs, bool) or not isinstance(runs, int)):
        raise HistoryError(f"{where}.runs must be a whole number, not {runs!r}")
    try:
        return RetentionPolicy(days=days, runs=runs)
    except HistoryError as error:
        raise HistoryError(f"{where}: {error}") from None
