"""The graph shapes every comparison runs, defined once as plain data.

Both systems build their assets from the same `Shape`, so a difference in wall time is a
difference in the orchestrator, never in the graph. Node names are valid asset keys for
kasset and Dagster alike (`[A-Za-z0-9_]`), and nodes are listed in topological order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

__all__ = ["Shape", "chain", "fan_out", "lattice", "shape_by_name", "widest_level"]


@dataclass(frozen=True)
class Shape:
    """A DAG of no-op assets: each node names the nodes it depends on.

    `name` is also how a step subprocess finds the shape again (`shape_by_name`), so it
    encodes every parameter: `chain_100`, `fanout_200`, `lattice_20x20`.
    """

    name: str
    deps: Mapping[str, tuple[str, ...]]

    @property
    def steps(self) -> int:
        return len(self.deps)

    @property
    def edges(self) -> int:
        return sum(len(upstream) for upstream in self.deps.values())

    def __iter__(self) -> Iterator[str]:
        return iter(self.deps)


def chain(n: int) -> Shape:
    """`c0000 <- c0001 <- ... <- c{n-1}`: every step waits for the one before."""
    names = [f"c{i:04d}" for i in range(n)]
    deps = {name: (names[i - 1],) if i else () for i, name in enumerate(names)}
    return Shape(f"chain_{n}", deps)


def fan_out(n: int) -> Shape:
    """One root `root` and `n` leaves `f0000..`, each depending on the root only."""
    deps: dict[str, tuple[str, ...]] = {"root": ()}
    deps.update({f"f{i:04d}": ("root",) for i in range(n)})
    return Shape(f"fanout_{n}", deps)


def lattice(rows: int, cols: int) -> Shape:
    """A `rows x cols` grid; node `r{r}_{c}` depends on the row above's neighbours
    `r{r-1}_{c-1}`, `r{r-1}_{c}` and `r{r-1}_{c+1}` (those inside the grid). Row 0 has
    no upstream, so each row is a level of `cols` steps that can run together."""
    deps: dict[str, tuple[str, ...]] = {}
    for r in range(rows):
        for c in range(cols):
            above = () if r == 0 else tuple(range(max(0, c - 1), min(cols, c + 2)))
            deps[f"r{r:02d}_{c:02d}"] = tuple(f"r{r - 1:02d}_{j:02d}" for j in above)
    return Shape(f"lattice_{rows}x{cols}", deps)


def shape_by_name(name: str) -> Shape:
    """The inverse of `Shape.name`: `chain_100` -> `chain(100)`."""
    kind, _, size = name.partition("_")
    try:
        if kind == "chain":
            return chain(int(size))
        if kind == "fanout":
            return fan_out(int(size))
        if kind == "lattice":
            rows, _, cols = size.partition("x")
            return lattice(int(rows), int(cols))
    except ValueError:
        pass
    raise ValueError(f"unknown shape {name!r}: expected chain_N, fanout_N or lattice_RxC")


def widest_level(shape: Shape) -> int:
    """The most steps that can ever run at once (steps per topological level, at most)."""
    level: dict[str, int] = {}
    for node, upstream in shape.deps.items():
        level[node] = 1 + max((level[u] for u in upstream), default=-1)
    counts: dict[int, int] = {}
    for value in level.values():
        counts[value] = counts.get(value, 0) + 1
    return max(counts.values(), default=0)
