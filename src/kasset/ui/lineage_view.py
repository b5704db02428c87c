"""What the lineage page shows, built without HTTP: the selected part of a graph, folded
into group boxes (`lineage_groups`), laid out and drawn (`lineage`), plus the search
index that lets the page find an asset inside a closed box.

Links are relative query strings (`?graph=…&expand=…`), so the page works without
JavaScript: opening a box, closing one and focusing on an asset are plain links.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from kasset.graph import AssetGraph
from kasset.ui.lineage import folded_structure, layout, render_layout
from kasset.ui.lineage_groups import Folded, Grouping

__all__ = ["BoxLink", "LineageView", "focus_selection", "lineage_view"]


@dataclass(frozen=True)
class BoxLink:
    name: str
    href: str


@dataclass(frozen=True)
class LineageView:
    svg: str
    count: int  # assets in the selection
    closed: int  # boxes drawn closed
    opened: list[BoxLink]  # open boxes, each linking to the view with it closed
    open_all: str  # links: every box open / every box closed / the other grouping
    close_all: str
    regroup: BoxLink | None
    by: Grouping
    index: str  # JSON: [[asset key, its closed box id or ""], ...] for the find box


def focus_selection(key: str) -> str:
    """The selection of an asset's neighbourhood: its parents, itself, its children.

    >>> focus_selection("raw/orders")
    '+raw/orders+'
    """
    return f"+{key}+"


def _query(graph_ref: str, select: str, expand: Iterable[str] | None, by: Grouping) -> str:
    params = {"graph": graph_ref}
    if select:
        params["select"] = select
    if expand is not None:
        params["expand"] = ",".join(expand)
    params["by"] = by
    return "?" + urlencode(params)


def _subtitle(count: int, health: Mapping[str, int]) -> str:
    worst = [f"{health[h]} {h.lower()}" for h in ("Failed", "Stale") if health.get(h)]
    return ", ".join([f"{count} assets", *worst])


def lineage_view(
    graph: AssetGraph,
    health: Mapping[str, str],
    *,
    graph_ref: str,
    selection: str | None,
    expanded: frozenset[str] | None,
    by: Grouping | None,
    href: Callable[[str], str],
) -> LineageView:
    """The page's SVG and controls for `selection` (already validated) of `graph`."""
    folded = folded_structure(graph, selection, health, expanded=expanded, by=by)
    select = selection or ""
    svg = _draw(
        folded,
        health,
        folded.groups,
        href,
        lambda names: _query(graph_ref, select, names, folded.by),
    )
    opened = sorted(folded.expanded) if len(folded.expanded) < len(folded.names) else []
    other: Grouping = "prefix" if folded.by == "group" else "group"
    return LineageView(
        svg=svg,
        count=len(folded.assets),
        closed=len(folded.boxes),
        opened=[
            BoxLink(name, _query(graph_ref, select, [n for n in opened if n != name], folded.by))
            for name in opened
        ],
        open_all=_query(graph_ref, select, ["*"], folded.by),
        close_all=_query(graph_ref, select, [], folded.by),
        regroup=BoxLink(other, _query(graph_ref, select, None, other)),
        by=folded.by,
        index=folded.search_index.replace("</", "<\\/"),
    )


def _draw(
    folded: Folded,
    health: Mapping[str, str],
    groups: Mapping[str, str],
    href: Callable[[str], str],
    expand_href: Callable[[list[str]], str],
) -> str:
    already = sorted(folded.expanded)
    labels: dict[str, str] = {}
    subtitles: dict[str, str] = {}
    titles: dict[str, str] = {}
    colours: dict[str, str] = {}
    links: dict[str, str] = {}
    for box_id, box in folded.boxes.items():
        labels[box_id] = f"{box.name} ▸"
        subtitles[box_id] = _subtitle(len(box.members), box.health)
        counts = ", ".join(f"{n} {h.lower()}" for h, n in sorted(box.health.items()))
        titles[box_id] = (
            f"{folded.by} {box.name}: {len(box.members)} assets ({counts})\nclick to open"
        )
        colours[box_id] = box.worst
        links[box_id] = expand_href([*already, box.name])
    for node in folded.nodes:
        if node not in folded.boxes:
            subtitles[node] = groups.get(node, "")
            colours[node] = health.get(node, "")
    return render_layout(
        layout(folded.nodes, folded.edges, folded.frames),
        health=colours,
        subtitles=subtitles,
        titles=titles,
        href=lambda node: links.get(node) or href(node),
        standalone=False,
        labels=labels,
        classes=dict.fromkeys(folded.boxes, "group-box"),
    )
