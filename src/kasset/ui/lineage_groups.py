"""Folding a big lineage into one node per group (or key prefix), unfolded on demand.

A 10,000-asset graph drawn whole is a 20 MB SVG no one can read and Graphviz lays out in
seconds; Dagster's lineage collapses groups by default for the same reason. Which assets
share a box, which boxes are open, and the edges between boxes are decided here, purely,
from node ids and edges; `lineage.py` lays out and draws whatever this returns.

Box ids start with `group:` or `prefix:`, frame ids (an open group drawn next to closed
boxes) with `frame:` -- a `:` never occurs in an asset key, so neither collides with an
asset's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = [
    "COLLAPSE_ABOVE",
    "Folded",
    "GroupBox",
    "Grouping",
    "fold",
    "parse_expanded",
    "with_health",
    "worst_health",
]

COLLAPSE_ABOVE = 150  # a view with more assets than this opens with every box closed

Grouping = Literal["group", "prefix"]
_WORST_FIRST = ("Failed", "Stale", "Missing", "Fresh")


@dataclass(frozen=True)
class GroupBox:
    """A closed box: the assets of one group (or key prefix) drawn as one node."""

    id: str
    name: str
    members: tuple[str, ...]
    health: dict[str, int]  # Fresh/Stale/Failed/Missing -> how many members

    @property
    def worst(self) -> str:
        return worst_health(self.health)


@dataclass(frozen=True)
class Folded:
    """What to lay out: asset ids and box ids, the edges between them, and the boxes."""

    nodes: list[str]
    edges: list[tuple[str, str]]
    boxes: dict[str, GroupBox]
    by: Grouping
    names: list[str]  # every box name of the view, open or closed, in first-seen order
    expanded: frozenset[str] = field(default_factory=frozenset)
    edge_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    drawn_as: dict[str, str] = field(default_factory=dict)  # asset -> its closed box
    assets: list[str] = field(default_factory=list)  # every asset of the view, in order
    frames: dict[str, tuple[str, ...]] = field(default_factory=dict)  # frame id -> assets
    groups: Mapping[str, str] = field(default_factory=dict)  # asset -> its group
    search_index: str = "[]"  # JSON [[asset, its closed box or ""], ...]: the find box's

    def box_of(self, node: str) -> str | None:
        """The closed box an asset is drawn in (None if it is drawn itself)."""
        return self.drawn_as.get(node)


def worst_health(counts: Mapping[str, int]) -> str:
    """The health a box shows: its worst member's.

    >>> worst_health({"Fresh": 9, "Stale": 1})
    'Stale'
    """
    return next((h for h in _WORST_FIRST if counts.get(h)), "Missing")


def parse_expanded(text: str | None) -> frozenset[str] | None:
    """The `expand` query parameter: None (absent: decide by size), `*` (all open), or a
    comma-separated list of box names (empty: all closed).

    >>> sorted(parse_expanded("raw, marts") or [])
    ['marts', 'raw']
    """
    if text is None:
        return None
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def default_grouping(groups: Mapping[str, str]) -> Grouping:
    """By group when the assets are in several groups, else by their keys' first part."""
    return "group" if len(set(groups.values())) > 1 else "prefix"


def _box_name(key: str, group: str, by: Grouping) -> str | None:
    if by == "group":
        return group
    head, sep, _ = key.partition("/")
    return head if sep else None


def fold(
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str]],
    groups: Mapping[str, str],
    health: Mapping[str, str],
    *,
    expanded: frozenset[str] | None = None,
    by: Grouping | None = None,
) -> Folded:
    """Closes every box not in `expanded` (None: all closed above `COLLAPSE_ABOVE` assets,
    all open at or below; `*` in the set opens all). A box of one asset is never closed.

    >>> edges = [("a/x", "b/z"), ("a/y", "b/z")]
    >>> f = fold(["a/x", "a/y", "b/z"], edges, {}, {}, expanded=frozenset(), by="prefix")
    >>> f.nodes, f.edges
    (['prefix:a', 'b/z'], [('prefix:a', 'b/z')])
    """
    by = by or default_grouping(groups)
    members: dict[str, list[str]] = {}
    for node in nodes:
        name = _box_name(node, groups.get(node, "default"), by)
        if name is not None:
            members.setdefault(name, []).append(node)
    names = list(members)
    if expanded is None:
        expanded = frozenset(["*"]) if len(nodes) <= COLLAPSE_ABOVE else frozenset()
    open_all = "*" in expanded
    closed = {
        name: keys
        for name, keys in members.items()
        if len(keys) > 1 and not open_all and name not in expanded
    }
    drawn_as: dict[str, str] = {}
    boxes: dict[str, GroupBox] = {}
    for name, keys in closed.items():
        box_id = f"{by}:{name}"
        counts: dict[str, int] = {}
        for key in keys:
            state = health.get(key, "Missing")
            counts[state] = counts.get(state, 0) + 1
            drawn_as[key] = box_id
        boxes[box_id] = GroupBox(box_id, name, tuple(keys), counts)
    shown: list[str] = []
    placed: set[str] = set()
    for node in nodes:
        target = drawn_as.get(node, node)
        if target not in placed:
            placed.add(target)
            shown.append(target)
    # Next to closed boxes, an open group is framed, and a box's edges to its assets become
    # one edge to the frame: a thousand box-to-asset edges are unreadable, and they make
    # Graphviz take minutes. Which asset a box feeds is what the focus view (+key+) shows.
    frames: dict[str, tuple[str, ...]] = {}
    framed: dict[str, str] = {}
    if boxes:
        for name, keys in members.items():
            if name not in closed and len(keys) > 1:
                frames[f"frame:{name}"] = tuple(keys)
                framed.update(dict.fromkeys(keys, f"frame:{name}"))
    edge_counts: dict[tuple[str, str], int] = {}
    for a, b in edges:
        box_a, box_b = drawn_as.get(a), drawn_as.get(b)
        if box_a and box_b:
            pair = (box_a, box_b)
        elif box_a:
            pair = (box_a, framed.get(b, b))
        elif box_b:
            pair = (framed.get(a, a), box_b)
        else:
            pair = (a, b)
        if pair[0] != pair[1]:
            edge_counts[pair] = edge_counts.get(pair, 0) + 1
    opened = frozenset(members) if open_all else frozenset(expanded) & frozenset(members)
    return Folded(
        shown,
        list(edge_counts),
        boxes,
        by,
        names,
        opened,
        edge_counts,
        drawn_as,
        list(nodes),
        frames,
        groups,
        # Built here, once per cached folding: 10,000 entries cost ~25 ms to dump.
        json.dumps([[n, drawn_as.get(n, "")] for n in nodes], separators=(",", ":")),
    )


def with_health(folded: Folded, health: Mapping[str, str]) -> Folded:
    """The same folding with each box's member health counted from `health` (the
    structure is cached; health changes with every run)."""
    boxes = {}
    for box_id, box in folded.boxes.items():
        counts: dict[str, int] = {}
        for key in box.members:
            state = health.get(key, "Missing")
            counts[state] = counts.get(state, 0) + 1
        boxes[box_id] = replace(box, health=counts)
    return replace(folded, boxes=boxes)
