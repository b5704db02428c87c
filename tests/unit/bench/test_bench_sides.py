"""Both sides of each local comparison build the same graph from the same shape, and the
comparison runs them interleaved with the same parallelism."""

import pytest
from bench.kasset_side import assets_of as kasset_assets
from bench.kasset_side import definitions_of
from bench.local import LocalConfig, interleaved, run_local_comparison, shapes_for
from bench.shapes import Shape, chain, fan_out, lattice

SHAPES = [chain(100), fan_out(200), lattice(20, 20), chain(20), fan_out(40), lattice(6, 6)]


def _kasset_edges(shape: Shape) -> dict[str, set[str]]:
    return {
        a.key.to_string(): {d.to_string() for d in a.deps} | {i.key for i in a.inputs if i.key}
        for a in kasset_assets(shape)
    }


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_kasset_assets_have_exactly_the_shapes_edges(shape):
    assert _kasset_edges(shape) == {n: set(u) for n, u in shape.deps.items()}


def test_kasset_code_location_attribute_is_the_shape_name():
    import bench.kasset_side as side

    assert side.chain_20 is definitions_of("chain_20")
    assert len(side.lattice_6x6.assets) == 36
    with pytest.raises(AttributeError):
        side.no_such_shape  # noqa: B018


def test_runs_interleave_both_systems_and_alternate_who_goes_first():
    shapes = [chain(3), fan_out(2)]
    order = interleaved(3, shapes)
    assert len(order) == 3 * 2 * 2
    for rep in range(3):
        for shape in shapes:
            systems = [s for r, sh, s in order if r == rep and sh == shape]
            assert sorted(systems) == ["dagster", "kasset"]
    firsts = [order[i][2] for i in (0, 4, 8)]
    assert firsts == ["kasset", "dagster", "kasset"]


def test_reduced_process_shapes_keep_each_kind():
    full = shapes_for("processes", full=True)
    reduced = shapes_for("processes", full=False)
    assert [s.name.split("_")[0] for s in full] == [s.name.split("_")[0] for s in reduced]
    assert shapes_for("inprocess", full=False) == full


def test_both_systems_get_the_same_mode_shape_and_jobs():
    calls = []

    def fake_worker(system, mode, shape, jobs, log):
        calls.append((system, mode, shape.name, jobs))
        return 1.0 if system == "kasset" else 10.0

    section = run_local_comparison(
        LocalConfig(inprocess_reps=2, processes_reps=1, jobs=3),
        _tmp(),
        say=lambda _: None,
        worker=fake_worker,
    )
    by_system = {s: sorted(c[1:] for c in calls if c[0] == s) for s in ("kasset", "dagster")}
    assert by_system["kasset"] == by_system["dagster"]
    assert {c[3] for c in calls} == {3}
    assert all(g.met for g in section.goals)  # 10x lower per step on every shape
    assert section.tables[0].rows[0][-1] == "10.0x"


def _tmp():
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp())
