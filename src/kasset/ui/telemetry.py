"""The UI's own Prometheus metrics, in a registry of its own so that mounting the UI in
the operator never collides with the operator's metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["UIMetrics"]


class UIMetrics:
    """Requests served and their server-side duration, by route template."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kasset_ui_requests_total",
            "HTTP requests served by the UI.",
            ["route", "method", "code"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "kasset_ui_request_duration_seconds",
            "Server time of UI requests.",
            ["route", "method"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
        )

    def observe(self, route: str, method: str, code: int, seconds: float) -> None:
        self.requests.labels(route, method, str(code)).inc()
        self.duration.labels(route, method).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
