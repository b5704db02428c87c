"""The graph shapes both systems are built from."""

import pytest
from bench.shapes import chain, fan_out, lattice, shape_by_name, widest_level


def test_chain_of_100_has_100_steps_each_waiting_for_the_previous():
    shape = chain(100)
    nodes = list(shape)
    assert shape.steps == 100 and shape.edges == 99
    assert shape.deps[nodes[0]] == ()
    assert all(shape.deps[nodes[i]] == (nodes[i - 1],) for i in range(1, 100))
    assert widest_level(shape) == 1


def test_fan_out_of_200_is_one_root_and_200_leaves():
    shape = fan_out(200)
    assert shape.steps == 201 and shape.edges == 200
    assert shape.deps["root"] == ()
    assert {deps for node, deps in shape.deps.items() if node != "root"} == {("root",)}
    assert widest_level(shape) == 200


def test_lattice_nodes_depend_on_the_three_neighbours_of_the_row_above():
    shape = lattice(20, 20)
    assert shape.steps == 400
    assert shape.deps["r00_05"] == ()
    assert shape.deps["r01_00"] == ("r00_00", "r00_01")  # edge: two neighbours
    assert shape.deps["r05_07"] == ("r04_06", "r04_07", "r04_08")
    assert shape.deps["r19_19"] == ("r18_18", "r18_19")
    assert shape.edges == 19 * (20 * 3 - 2)
    assert widest_level(shape) == 20


def test_nodes_are_listed_in_topological_order():
    for shape in (chain(10), fan_out(10), lattice(5, 4)):
        seen: set[str] = set()
        for node, upstream in shape.deps.items():
            assert set(upstream) <= seen
            seen.add(node)


@pytest.mark.parametrize("shape", [chain(7), fan_out(3), lattice(4, 6)])
def test_a_shape_is_found_again_by_its_name(shape):
    assert shape_by_name(shape.name) == shape


@pytest.mark.parametrize("name", ["ring_5", "chain_x", "lattice_4", "chain"])
def test_unknown_shape_names_are_refused(name):
    with pytest.raises(ValueError, match="unknown shape"):
        shape_by_name(name)
