"""Operator metrics: names, labels and values as Prometheus scrapes them."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from kasset.operator.telemetry.metrics import OperatorMetrics


@pytest.fixture
def metrics() -> OperatorMetrics:
    return OperatorMetrics(CollectorRegistry())


def value(metrics: OperatorMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_every_instance_owns_its_registry_by_default() -> None:
    first, second = OperatorMetrics(), OperatorMetrics()

    first.events_ingested("STEP_STARTED")

    assert first.registry is not second.registry
    assert value(second, "kasset_events_ingested_total", type="STEP_STARTED") is None


def test_render_exposes_every_documented_metric_after_use(metrics: OperatorMetrics) -> None:
    metrics.step_started("demo", "raw/orders")
    metrics.step_finished("demo", "raw/orders", "succeeded", 2.0)
    metrics.run_finished("demo", "Succeeded", 30.0)
    metrics.running_steps_set(3)
    metrics.pod_start_latency(1.2)
    metrics.inter_step_gap(0.02)
    metrics.reconcile_latency("Materialization", 0.004)
    metrics.events_ingested("STEP_STARTED", 2)
    metrics.ingest_latency(0.001)
    metrics.api_write("create", "pods")
    metrics.asset_materialized("demo", "raw/orders", 1_700_000_000.0)
    metrics.missed_ticks("demo", "daily", 2)

    body, content_type = metrics.render()

    assert content_type.startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert {
        "kasset_steps",
        "kasset_step_duration_seconds",
        "kasset_runs",
        "kasset_run_duration_seconds",
        "kasset_running_steps",
        "kasset_pod_start_latency_seconds",
        "kasset_inter_step_gap_seconds",
        "kasset_reconcile_duration_seconds",
        "kasset_events_ingested",
        "kasset_ingest_request_duration_seconds",
        "kasset_api_writes",
        "kasset_asset_last_materialized_timestamp_seconds",
        "kasset_schedule_missed_ticks",
    } <= set(families)
    text = body.decode()
    for sample in (
        'kasset_steps_total{asset="raw/orders",graph="demo",outcome="succeeded"} 1.0',
        'kasset_runs_total{graph="demo",phase="Succeeded"} 1.0',
        'kasset_events_ingested_total{type="STEP_STARTED"} 2.0',
        'kasset_api_writes_total{resource="pods",verb="create"} 1.0',
        'kasset_schedule_missed_ticks_total{graph="demo",schedule="daily"} 2.0',
        "kasset_running_steps 3.0",
    ):
        assert sample in text


def test_step_metrics_track_running_steps_and_outcomes(metrics: OperatorMetrics) -> None:
    metrics.step_started("demo", "a")
    metrics.step_started("demo", "b")
    metrics.step_finished("demo", "a", "failed", 4.0)

    assert value(metrics, "kasset_running_steps") == 1
    assert value(metrics, "kasset_steps_total", graph="demo", asset="a", outcome="failed") == 1
    assert value(metrics, "kasset_step_duration_seconds_sum", graph="demo", outcome="failed") == 4.0


def test_running_steps_never_go_negative(metrics: OperatorMetrics) -> None:
    metrics.step_finished("demo", "a", "failed", 0.0)  # a pod that never started

    assert value(metrics, "kasset_running_steps") == 0


def test_histograms_use_seconds_buckets_and_no_asset_label(metrics: OperatorMetrics) -> None:
    metrics.step_finished("demo", "a", "succeeded", 3600.0)
    metrics.inter_step_gap(0.004)

    assert (
        value(
            metrics,
            "kasset_step_duration_seconds_bucket",
            graph="demo",
            outcome="succeeded",
            le="3600.0",
        )
        == 1
    )
    assert value(metrics, "kasset_inter_step_gap_seconds_bucket", le="0.005") == 1
    assert value(metrics, "kasset_inter_step_gap_seconds_bucket", le="5.0") == 1
    body, _ = metrics.render()
    for line in body.decode().splitlines():
        if "_bucket{" in line:
            assert "asset=" not in line


def test_asset_freshness_gauge_only_moves_forward(metrics: OperatorMetrics) -> None:
    metrics.asset_materialized("demo", "a", 200.0)
    metrics.asset_materialized("demo", "a", 100.0)  # a late event of an older run

    assert (
        value(metrics, "kasset_asset_last_materialized_timestamp_seconds", graph="demo", asset="a")
        == 200.0
    )


def test_forgetting_an_asset_removes_its_freshness_series(metrics: OperatorMetrics) -> None:
    metrics.asset_materialized("demo", "a", 200.0)

    metrics.forget_asset("demo", "a")
    metrics.forget_asset("demo", "never-seen")

    assert (
        value(metrics, "kasset_asset_last_materialized_timestamp_seconds", graph="demo", asset="a")
        is None
    )


def test_negative_durations_from_clock_skew_are_recorded_as_zero(
    metrics: OperatorMetrics,
) -> None:
    metrics.pod_start_latency(-0.5)

    assert value(metrics, "kasset_pod_start_latency_seconds_sum") == 0.0
    assert value(metrics, "kasset_pod_start_latency_seconds_count") == 1
