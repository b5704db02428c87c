"""The operator's Prometheus metrics, behind named methods.

The controller and the ingest endpoint call methods that say what happened
(`step_finished`, `pod_start_latency`) rather than touching collectors, so names, labels and
buckets live here only. Each instance owns a registry (inject one in tests) and `render()`
serves it on `/metrics`.

Label cardinality is bounded by the graphs the cluster holds: `graph`, `asset`, `schedule`
and `kind` come from declared resources, `outcome`/`phase`/`type`/`verb`/`resource` from
small fixed sets. Runs, steps, partitions and pods never become labels. Only the counter
`kasset_steps_total` and the freshness gauge carry `asset` (one series per asset and
outcome); histograms never do, since each of their series costs a dozen buckets.
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["OperatorMetrics"]

# Steps and runs take from a fraction of a second to hours.
_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# Pod start-up: image present locally, so seconds rather than minutes.
_POD_START_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120)
# The operator's own reaction time between two steps: milliseconds matter.
_GAP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
# Reconcile handlers and HTTP requests.
_FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class OperatorMetrics:
    """Every metric the operator exports, recorded through plain methods.

    >>> metrics = OperatorMetrics()
    >>> metrics.step_finished("demo", "raw/orders", "succeeded", 1.5)
    >>> body, content_type = metrics.render()
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self._lock = threading.Lock()
        self._running = 0
        self._last_materialized: dict[tuple[str, str], float] = {}
        self._steps = Counter(
            "kasset_steps_total",
            "Finished step attempts by outcome.",
            ["graph", "asset", "outcome"],
            registry=r,
        )
        self._step_duration = Histogram(
            "kasset_step_duration_seconds",
            "Duration of finished step attempts.",
            ["graph", "outcome"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self._runs = Counter(
            "kasset_runs_total",
            "Finished runs (Materializations) by final phase.",
            ["graph", "phase"],
            registry=r,
        )
        self._run_duration = Histogram(
            "kasset_run_duration_seconds",
            "Duration of finished runs.",
            ["graph"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self._running_steps = Gauge(
            "kasset_running_steps", "Step pods currently running.", registry=r
        )
        self._pod_start = Histogram(
            "kasset_pod_start_latency_seconds",
            "From step pod creation to the step's STEP_STARTED event.",
            buckets=_POD_START_BUCKETS,
            registry=r,
        )
        self._inter_step_gap = Histogram(
            "kasset_inter_step_gap_seconds",
            "From an upstream STEP_SUCCEEDED being accepted to the downstream pod's creation.",
            buckets=_GAP_BUCKETS,
            registry=r,
        )
        self._reconcile = Histogram(
            "kasset_reconcile_duration_seconds",
            "Duration of one reconcile by resource kind.",
            ["kind"],
            buckets=_FAST_BUCKETS,
            registry=r,
        )
        self._events_ingested = Counter(
            "kasset_events_ingested_total",
            "Step events accepted by the ingest endpoint.",
            ["type"],
            registry=r,
        )
        self._ingest_duration = Histogram(
            "kasset_ingest_request_duration_seconds",
            "Duration of event ingest requests, whatever their status.",
            buckets=_FAST_BUCKETS,
            registry=r,
        )
        self._api_writes = Counter(
            "kasset_api_writes_total",
            "Writes the operator sent to the Kubernetes API.",
            ["verb", "resource"],
            registry=r,
        )
        self._asset_materialized = Gauge(
            "kasset_asset_last_materialized_timestamp_seconds",
            "Unix time of each asset's latest materialization (for freshness alerts).",
            ["graph", "asset"],
            registry=r,
        )
        self._events_suppressed = Counter(
            "kasset_k8s_events_suppressed_total",
            "Kubernetes Events not sent: 'budget' (a run's step Events beyond its budget) or "
            "'shed' (too many waiting behind pod and status writes).",
            ["why"],
            registry=r,
        )
        self._missed_ticks = Counter(
            "kasset_schedule_missed_ticks_total",
            "Schedule ticks that were not launched.",
            ["graph", "schedule"],
            registry=r,
        )

    def step_started(self, graph: str, asset: str) -> None:
        """A step's pod reported STEP_STARTED: one more running step."""
        del graph, asset  # the gauge is cluster-wide; per-asset series would add nothing
        self._set_running(self._running + 1)

    def step_finished(self, graph: str, asset: str, outcome: str, duration_seconds: float) -> None:
        """A step attempt ended (``succeeded``, ``failed``, ``canceled``, ...).

        Also for attempts that never reported STEP_STARTED: the running count stays >= 0,
        and `running_steps_set` after a resync corrects any drift.
        """
        self._steps.labels(graph, asset, outcome).inc()
        self._step_duration.labels(graph, outcome).observe(max(0.0, duration_seconds))
        self._set_running(self._running - 1)

    def run_finished(self, graph: str, phase: str, duration_seconds: float) -> None:
        """A Materialization reached a final phase."""
        self._runs.labels(graph, phase).inc()
        self._run_duration.labels(graph).observe(max(0.0, duration_seconds))

    def running_steps_set(self, n: int) -> None:
        """Set the running-step count outright (after a restart or a full resync)."""
        self._set_running(n)

    def _set_running(self, n: int) -> None:
        with self._lock:
            self._running = max(0, n)
            self._running_steps.set(self._running)

    def pod_start_latency(self, seconds: float) -> None:
        self._pod_start.observe(max(0.0, seconds))

    def inter_step_gap(self, seconds: float) -> None:
        self._inter_step_gap.observe(max(0.0, seconds))

    def reconcile_latency(self, kind: str, seconds: float) -> None:
        self._reconcile.labels(kind).observe(max(0.0, seconds))

    def events_ingested(self, type: str, n: int = 1) -> None:
        if n > 0:
            self._events_ingested.labels(type).inc(n)

    def ingest_latency(self, seconds: float) -> None:
        self._ingest_duration.observe(max(0.0, seconds))

    def api_write(self, verb: str, resource: str) -> None:
        """One create/patch/delete sent to the API server (``verb`` lower case)."""
        self._api_writes.labels(verb, resource).inc()

    def asset_materialized(self, graph: str, asset: str, timestamp: float) -> None:
        """Record ``asset``'s latest materialization time (Unix seconds); never goes back."""
        with self._lock:
            if timestamp <= self._last_materialized.get((graph, asset), float("-inf")):
                return
            self._last_materialized[graph, asset] = timestamp
            self._asset_materialized.labels(graph, asset).set(timestamp)

    def forget_asset(self, graph: str, asset: str) -> None:
        """Drop an asset's series (its graph was deleted or no longer declares it)."""
        with self._lock:
            if self._last_materialized.pop((graph, asset), None) is not None:
                self._asset_materialized.remove(graph, asset)

    def missed_ticks(self, graph: str, schedule: str, n: int) -> None:
        if n > 0:
            self._missed_ticks.labels(graph, schedule).inc(n)

    def k8s_event_suppressed(self, why: str) -> None:
        self._events_suppressed.labels(why).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type, for a ``/metrics`` response."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
