"""The pure parts of the cluster benchmarks: manifests, metric parsing, gap arithmetic."""

import math

import pytest
from bench.cluster import PodRecord, parse_write_counts, success_time
from bench.control_plane import chain_gaps, operator_writes
from bench.dagster_k8s import _finished, _gaps, _reported
from bench.kasset_cluster import (
    KWOK_PLACEMENT,
    graph_manifest,
    histogram_quantile,
    materialization_manifest,
    partitioned_chain,
    shape_graph_manifest,
)
from bench.shapes import chain, fan_out

HISTOGRAM = """\
# TYPE kasset_inter_step_gap_seconds histogram
kasset_inter_step_gap_seconds_bucket{le="0.005"} 0.0
kasset_inter_step_gap_seconds_bucket{le="0.01"} 2.0
kasset_inter_step_gap_seconds_bucket{le="0.025"} 8.0
kasset_inter_step_gap_seconds_bucket{le="0.05"} 10.0
kasset_inter_step_gap_seconds_bucket{le="+Inf"} 10.0
kasset_inter_step_gap_seconds_count 10.0
"""


def test_histogram_quantile_interpolates_inside_the_bucket_like_prometheus():
    name = "kasset_inter_step_gap_seconds"
    # rank 5 of 10 lies 3/6 of the way through the (0.01, 0.025] bucket
    assert histogram_quantile(HISTOGRAM, name, 0.5) == pytest.approx(0.0175)
    assert histogram_quantile(HISTOGRAM, name, 0.2) == pytest.approx(0.01)
    assert math.isnan(histogram_quantile("", name, 0.5))


def test_write_counts_keep_write_verbs_by_resource_and_subresource():
    text = "\n".join(
        [
            'apiserver_request_total{code="201",resource="pods",verb="POST",version="v1"} 3',
            'apiserver_request_total{code="409",resource="pods",verb="POST",version="v1"} 1',
            'apiserver_request_total{code="200",resource="pods",subresource="status",'
            'verb="PATCH",version="v1"} 5',
            'apiserver_request_total{code="200",resource="pods",verb="LIST",version="v1"} 99',
            'apiserver_request_total{code="200",resource="pods",verb="WATCH",version="v1"} 7',
        ]
    )
    assert parse_write_counts(text) == {("POST", "pods"): 4, ("PATCH", "pods/status"): 5}


def test_operator_writes_are_read_from_its_own_counter():
    text = (
        'kasset_api_writes_total{resource="pods",verb="create"} 4.0\n'
        'kasset_api_writes_total{resource="events",verb="create"} 2.0\n'
    )
    assert operator_writes(text) == {"create pods": 4, "create events": 2}


def test_kwok_graphs_place_every_step_on_fake_nodes_through_the_defaults():
    body = shape_graph_manifest(
        fan_out(3), name="g", namespace="ns", image="img:1", placement=KWOK_PLACEMENT
    )
    assert body["spec"]["defaults"]["nodeSelector"] == {"type": "kwok"}
    assert body["spec"]["defaults"]["tolerations"][0]["key"] == "kwok.x-k8s.io/node"
    assert body["spec"]["codeLocation"] == {"module": "bench.kasset_side", "attribute": "fanout_3"}
    assert len(body["spec"]["assets"]) == 4


def test_cluster_graph_has_the_same_steps_and_edges_as_the_shape():
    shape = chain(10)
    body = shape_graph_manifest(shape, name="g", namespace="ns", image="img:1")
    edges = {a["key"]: set(a.get("deps", [])) for a in body["spec"]["assets"]}
    assert edges == {n: set(u) for n, u in shape.deps.items()}
    assert not body["spec"].get("defaults", {}).get("nodeSelector")  # real pods: the real node


def test_partitioned_chain_has_assets_times_partitions_steps():
    defs = partitioned_chain(10, 100)
    body = graph_manifest(defs, name="s", namespace="ns", image="i:1", attribute="s")
    assert len(body["spec"]["assets"]) == 10
    (partitions,) = body["spec"]["partitionsDefinitions"]
    assert len(partitions["keys"]) == 100
    mat = materialization_manifest("m", "ns", "s", 1000, ("p00000", "p00099"))
    assert mat["spec"]["partitions"] == {"range": {"start": "p00000", "end": "p00099"}}
    assert mat["spec"]["maxParallel"] == 1000


def _pod(name, added=None, terminated=None, **labels):
    return PodRecord(name, labels, {}, added=added, terminated=terminated)


def test_chain_gap_is_next_pod_seen_minus_previous_pod_seen_finished():
    pods = {
        "a": PodRecord("a", {}, {"kasset.io/step": "c0"}, added=0.0, terminated=2.0),
        "b": PodRecord("b", {}, {"kasset.io/step": "c1"}, added=2.05, terminated=4.0),
        "c": PodRecord("c", {}, {"kasset.io/step": "c2"}, added=3.9, terminated=6.0),
    }
    gaps = chain_gaps(pods, ["c0", "c1", "c2"], lambda p: p.annotations["kasset.io/step"])
    assert gaps == pytest.approx([0.05, -0.1])


def test_fan_out_gaps_count_each_leaf_from_the_root():
    shape = fan_out(2)
    pods = [
        _pod("r", 0.0, 1.0, **{"dagster/op": "root"}),
        _pod("x", 2.0, 3.0, **{"dagster/op": "f0000"}),
        _pod("y", 2.5, None, **{"dagster/op": "f0001"}),
    ]
    op = lambda p: p.labels["dagster/op"]  # noqa: E731
    assert _gaps(pods, shape, op, _finished) == pytest.approx([1.0, 1.5])
    pods[0].succeeded_at = 0.8
    assert _gaps(pods, shape, op, _reported) == pytest.approx([1.2, 1.7])


def test_success_time_is_read_from_a_kasset_termination_message():
    message = (
        '{"v":1,"events":[{"type":"ASSET_MATERIALIZED","timestamp":"2024-01-01T00:00:00Z"},'
        '{"type":"STEP_SUCCEEDED","timestamp":"2024-01-01T00:00:01.250000Z"}]}'
    )
    assert success_time(message) == pytest.approx(1704067201.25)
    assert success_time("not json") is None
    assert success_time(None) is None


def test_writes_table_lists_step_resources_and_sums_the_rest_as_other():
    from collections import Counter

    from bench.control_plane import _writes_table

    before = Counter({("POST", "pods"): 10, ("PUT", "leases"): 5})
    after = Counter({("POST", "pods"): 30, ("PUT", "leases"): 45, ("POST", "events"): 20})
    table = _writes_table("t", before, after, Counter({"create pods": 20}), steps=20)
    rows = {(r[0], r[1]): r[2:] for r in table.rows}
    assert rows[("POST", "pods")] == ["20", "1.00"]
    assert rows[("**step-related**", "")] == ["40", "2.00"]
    assert rows[("other", "(not a step's)")] == ["40", "2.00"]
    assert "20 = 1.00 per step" in table.notes[0]
