"""The Dagster side of the local comparison builds the same graphs with the same
parallelism. It needs Dagster, which lives only in the bench's own venv: `make bench` runs
these before it measures anything (they are not part of `make test`)."""

import pytest

from bench.kasset_side import definitions_of
from bench.shapes import chain, fan_out, lattice

SHAPES = [chain(100), fan_out(200), lattice(20, 20), chain(20), fan_out(40), lattice(6, 6)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_dagster_assets_have_exactly_the_shapes_edges(shape):
    from bench.dagster_side import assets_of as dagster_assets

    edges = {}
    for definition in dagster_assets(shape):
        (key,) = definition.keys
        edges[key.to_user_string()] = {dep.to_user_string() for dep in definition.asset_deps[key]}
    assert edges == {n: set(u) for n, u in shape.deps.items()}


def test_dagster_multiprocess_job_has_the_configured_concurrency_and_all_steps():
    from bench.dagster_side import executor_config, job_for

    job = job_for("fanout_40", 2)
    assert job.executor_def.name == "multiprocess"
    assert executor_config(2) == {"max_concurrent": 2}
    assert len(job.graph.node_defs) == 41


def test_dagster_k8s_job_runs_the_same_shape_with_the_same_concurrency():
    from bench.dagster_k8s_job import k8s_job_for

    job = k8s_job_for("fanout_20", "ns", "img:1", 20, "/tmp/x", "/tmp/kubeconfig")
    assert job.executor_def.name == "k8s_bench"
    assert len(job.graph.node_defs) == len(definitions_of("fanout_20").assets) == 21
