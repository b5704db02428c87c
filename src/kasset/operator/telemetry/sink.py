"""What the controller reports to metrics, as a Protocol, so that the controller depends on
an interface it can be tested with and `metrics.OperatorMetrics` (Prometheus) plugs in."""

from __future__ import annotations

from typing import Protocol

__all__ = ["MetricsSink", "NullMetrics", "load_metrics"]


class MetricsSink(Protocol):
    """The methods of `kasset.operator.telemetry.metrics.OperatorMetrics` the operator calls."""

    def step_started(self, graph: str, asset: str) -> None: ...

    def step_finished(
        self, graph: str, asset: str, outcome: str, duration_seconds: float
    ) -> None: ...

    def run_finished(self, graph: str, phase: str, duration_seconds: float) -> None: ...

    def running_steps_set(self, n: int) -> None: ...

    def pod_start_latency(self, seconds: float) -> None: ...

    def inter_step_gap(self, seconds: float) -> None: ...

    def reconcile_latency(self, kind: str, seconds: float) -> None: ...

    def events_ingested(self, type: str, n: int = 1) -> None: ...

    def api_write(self, verb: str, resource: str) -> None: ...

    def asset_materialized(self, graph: str, asset: str, timestamp: float) -> None: ...

    def missed_ticks(self, graph: str, schedule: str, n: int) -> None: ...

    def k8s_event_suppressed(self, why: str) -> None: ...


class NullMetrics:
    """Records nothing: for tests and for running without Prometheus."""

    def step_started(self, graph: str, asset: str) -> None:
        pass

    def step_finished(self, graph: str, asset: str, outcome: str, duration_seconds: float) -> None:
        pass

    def run_finished(self, graph: str, phase: str, duration_seconds: float) -> None:
        pass

    def running_steps_set(self, n: int) -> None:
        pass

    def pod_start_latency(self, seconds: float) -> None:
        pass

    def inter_step_gap(self, seconds: float) -> None:
        pass

    def reconcile_latency(self, kind: str, seconds: float) -> None:
        pass

    def events_ingested(self, type: str, n: int = 1) -> None:
        pass

    def api_write(self, verb: str, resource: str) -> None:
        pass

    def asset_materialized(self, graph: str, asset: str, timestamp: float) -> None:
        pass

    def missed_ticks(self, graph: str, schedule: str, n: int) -> None:
        pass

    def k8s_event_suppressed(self, why: str) -> None:
        pass


def load_metrics(registry: object | None = None) -> MetricsSink:
    """`OperatorMetrics` on `registry` when the metrics module is there, else NullMetrics."""
    try:
        from kasset.operator.telemetry.metrics import OperatorMetrics
    except ImportError:
        return NullMetrics()
    metrics: MetricsSink = OperatorMetrics(registry)  # type: ignore[arg-type,unused-ignore]
    return metrics
