"""The lineage graph as SVG: Graphviz `dot` lays it out, we draw it.

`dot -Tplain` gives node positions and edge splines; drawing our own SVG lets nodes carry
health colours, links and titles, and keeps the page free of Graphviz's markup. Layouts
depend only on structure, so they are cached by a hash of (nodes, edges): recolouring a
1,000-asset graph after a run costs a string join, not a layout. Without `dot`, the
graph's layers are laid out by networkx's multipartite layout (and a log line says so).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from html import escape

from kasset.definitions.keys import AssetKey
from kasset.graph import AssetGraph
from kasset.resources import AssetGraphResource
from kasset.ui.lineage_groups import Folded, Grouping, fold, with_health

__all__ = [
    "Layout",
    "NodeBox",
    "clear_layout_cache",
    "folded_structure",
    "layout",
    "prewarm",
    "render_layout",
    "render_svg",
]

log = logging.getLogger(__name__)

NODE_HEIGHT = 38.0
_CHAR_WIDTH = 6.9
_MIN_WIDTH, _MAX_WIDTH = 96.0, 280.0
_BOX_MIN_WIDTH = 170.0
_MAX_LABEL = 38
_MARGIN = 16.0
_POINTS_PER_INCH = 72.0
_BIG_GRAPH = 300  # above this, dot trades a little crossing quality for speed
_DOT_TIMEOUT = 60.0
_CACHE_SIZE = 64

HEALTH_CLASSES = {"Fresh": "fresh", "Stale": "stale", "Failed": "failed", "Missing": "missing"}


@dataclass(frozen=True)
class NodeBox:
    """A node's box, by its centre, in SVG pixels."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Layout:
    """Where every node and edge goes. `edges` hold SVG path data."""

    width: float
    height: float
    boxes: dict[str, NodeBox]
    edges: list[tuple[str, str, str]]
    engine: str
    frames: dict[str, NodeBox] = field(default_factory=dict)


_cache: OrderedDict[str, Layout] = OrderedDict()
_folded_cache: OrderedDict[
    tuple[int, str | None, frozenset[str] | None, str | None], tuple[AssetGraph, Folded]
] = OrderedDict()
_cache_lock = threading.Lock()
_key_locks: dict[str, threading.Lock] = {}
_fallback_logged = threading.Event()  # say it once per process


def clear_layout_cache() -> None:
    with _cache_lock:
        _cache.clear()
        _folded_cache.clear()


def label_of(key: str) -> str:
    return key if len(key) <= _MAX_LABEL else key[: _MAX_LABEL - 1] + "…"


def _width(key: str) -> float:
    least = _BOX_MIN_WIDTH if ":" in key else _MIN_WIDTH  # a group's box has a longer subtitle
    return max(least, min(_MAX_WIDTH, len(label_of(key)) * _CHAR_WIDTH + 26))


def layout(
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str]],
    frames: Mapping[str, Sequence[str]] | None = None,
) -> Layout:
    """The layout of a DAG given by node ids and (upstream, downstream) edges; cached.
    `frames` draw a frame around some nodes; an edge may end at a frame's id."""
    framed = {frame: list(members) for frame, members in (frames or {}).items()}
    digest = hashlib.sha256(
        json.dumps([list(nodes), [list(e) for e in edges], framed], separators=(",", ":")).encode()
    ).hexdigest()
    with _cache_lock:
        cached = _cache.get(digest)
        if cached is not None:
            _cache.move_to_end(digest)
            return cached
        key_lock = _key_locks.setdefault(digest, threading.Lock())
    with key_lock:  # two requests for the same new layout run dot once
        with _cache_lock:
            cached = _cache.get(digest)
        if cached is not None:
            return cached
        computed = _compute(list(nodes), list(edges), framed)
        with _cache_lock:
            _cache[digest] = computed
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
            _key_locks.pop(digest, None)
    return computed


def _compute(
    nodes: list[str], edges: list[tuple[str, str]], frames: dict[str, list[str]]
) -> Layout:
    dot = shutil.which("dot")
    if dot is not None:
        try:
            return _framed(_dot_layout(dot, nodes, edges, frames), frames)
        except (OSError, subprocess.SubprocessError, ValueError) as error:
            log.warning("graphviz dot failed (%s); using the networkx layout", error)
    elif not _fallback_logged.is_set():
        _fallback_logged.set()
        log.warning(
            "graphviz 'dot' is not installed; lineage uses networkx's multipartite "
            "layout (install the graphviz package for a better one)"
        )
    fallback = _layered_layout(nodes, [_to_members(e, frames) for e in edges])
    paths = [(a, b, d) for (a, b), (_, _, d) in zip(edges, fallback.edges, strict=True)]
    return _framed(replace(fallback, edges=paths), frames)


def _to_members(edge: tuple[str, str], frames: Mapping[str, list[str]]) -> tuple[str, str]:
    """An edge with each frame end moved to the frame's first node (dot clips it to the
    frame: `lhead`/`ltail`)."""
    a, b = edge
    return (frames[a][0] if a in frames else a, frames[b][0] if b in frames else b)


def _dot_source(
    nodes: list[str],
    edges: list[tuple[str, str]],
    frames: Mapping[str, list[str]] | None = None,
) -> str:
    frames = frames or {}
    index = {key: i for i, key in enumerate(nodes)}
    tuning = " nslimit=0.05 mclimit=0.2 searchsize=10" if len(nodes) > _BIG_GRAPH else ""
    compound = " compound=true" if frames else ""
    lines = [
        "digraph G {",
        f" graph [rankdir=LR nodesep=0.14 ranksep=0.55 splines=spline{tuning}{compound}];",
        ' node [shape=box fixedsize=true label=""];',
        " edge [arrowhead=none];",
    ]
    height = NODE_HEIGHT / _POINTS_PER_INCH

    def node(key: str) -> str:
        return f" n{index[key]} [width={_width(key) / _POINTS_PER_INCH:.3f} height={height:.3f}];"

    cluster = {frame: i for i, frame in enumerate(frames)}
    framed = {key for members in frames.values() for key in members}
    lines.extend(node(key) for key in nodes if key not in framed)
    for frame, members in frames.items():
        # The label reserves room for the frame's title (drawn by us, not by dot).
        lines.append(f' subgraph cluster_{cluster[frame]} {{ label=" " fontsize=14;')
        lines.extend(node(key) for key in members)
        lines.append(" }")
    for a, b in edges:
        head, tail = _to_members((a, b), frames)
        clip = [f"ltail=cluster_{cluster[a]}"] if a in frames else []
        clip += [f"lhead=cluster_{cluster[b]}"] if b in frames else []
        attrs = f" [{' '.join(clip)}]" if clip else ""
        lines.append(f" n{index[head]} -> n{index[tail]}{attrs};")
    lines.append("}")
    return "\n".join(lines)


def _framed(shape: Layout, frames: Mapping[str, list[str]]) -> Layout:
    """The layout with a frame around each frame's nodes."""
    if not frames:
        return shape
    pad, title = 8.0, 18.0
    rects = {}
    for frame, members in frames.items():
        boxes = [shape.boxes[key] for key in members]
        left = min(b.x - b.width / 2 for b in boxes) - pad
        right = max(b.x + b.width / 2 for b in boxes) + pad
        top = min(b.y - b.height / 2 for b in boxes) - pad - title
        bottom = max(b.y + b.height / 2 for b in boxes) + pad
        rects[frame] = NodeBox((left + right) / 2, (top + bottom) / 2, right - left, bottom - top)
    height = max([shape.height, *(r.y + r.height / 2 + _MARGIN for r in rects.values())])
    return Layout(shape.width, height, shape.boxes, shape.edges, shape.engine, rects)


def _dot_layout(
    dot: str,
    nodes: list[str],
    edges: list[tuple[str, str]],
    frames: Mapping[str, list[str]] | None = None,
) -> Layout:
    frames = frames or {}
    # Node pairs as dot reports them, back to the edges asked for (an end may be a frame).
    asked = {_to_members(edge, frames): edge for edge in edges}
    result = subprocess.run(
        [dot, "-Tplain"],
        input=_dot_source(nodes, edges, frames),
        capture_output=True,
        text=True,
        timeout=_DOT_TIMEOUT,
        check=True,
    )
    scale = _POINTS_PER_INCH
    height = 0.0
    boxes: dict[str, NodeBox] = {}
    paths: list[tuple[str, str, str]] = []
    for line in result.stdout.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "graph":
            height = float(fields[3]) * scale
        elif fields[0] == "node":
            key = nodes[int(fields[1][1:])]
            boxes[key] = NodeBox(
                float(fields[2]) * scale + _MARGIN,
                height - float(fields[3]) * scale + _MARGIN,
                float(fields[4]) * scale,
                float(fields[5]) * scale,
            )
        elif fields[0] == "edge":
            count = int(fields[3])
            coords = [float(v) * scale for v in fields[4 : 4 + 2 * count]]
            points = [
                (coords[i] + _MARGIN, height - coords[i + 1] + _MARGIN)
                for i in range(0, len(coords), 2)
            ]
            ends = (nodes[int(fields[1][1:])], nodes[int(fields[2][1:])])
            a, b = asked.get(ends, ends)
            paths.append((a, b, _bezier(points)))
    if len(boxes) != len(nodes):
        raise ValueError(f"dot placed {len(boxes)} of {len(nodes)} nodes")
    width = max((b.x + b.width / 2 for b in boxes.values()), default=0.0) + _MARGIN
    return Layout(width, height + 2 * _MARGIN, boxes, paths, "dot")


def _bezier(points: list[tuple[float, float]]) -> str:
    head, rest = points[0], points[1:]
    parts = [f"M{head[0]:.1f},{head[1]:.1f}"]
    for i in range(0, len(rest) - 2, 3):
        (x1, y1), (x2, y2), (x3, y3) = rest[i : i + 3]
        parts.append(f"C{x1:.1f},{y1:.1f} {x2:.1f},{y2:.1f} {x3:.1f},{y3:.1f}")
    return "".join(parts)


def _layered_layout(nodes: list[str], edges: list[tuple[str, str]]) -> Layout:
    import networkx as nx

    dag = nx.DiGraph()
    dag.add_nodes_from(nodes)
    dag.add_edges_from(edges)
    # Folded groups can make cycles (g1 -> g2 -> g1): layer the strongly connected parts.
    condensed = nx.condensation(dag)
    rank: dict[int, int] = {}
    for part in nx.topological_sort(condensed):
        rank[part] = max((rank[p] + 1 for p in condensed.predecessors(part)), default=0)
    depth = {key: rank[condensed.graph["mapping"][key]] for key in nodes}
    for key, level in depth.items():
        dag.nodes[key]["layer"] = level
    positions = nx.multipartite_layout(dag, subset_key="layer", align="vertical")
    column = max((_width(key) for key in nodes), default=_MIN_WIDTH) + 70
    by_layer: dict[int, list[str]] = {}
    for key in sorted(nodes, key=lambda k: (depth[k], -float(positions[k][1]))):
        by_layer.setdefault(depth[key], []).append(key)
    boxes: dict[str, NodeBox] = {}
    for level, keys in by_layer.items():
        for row, key in enumerate(keys):
            boxes[key] = NodeBox(
                _MARGIN + level * column + _width(key) / 2,
                _MARGIN + row * (NODE_HEIGHT + 12) + NODE_HEIGHT / 2,
                _width(key),
                NODE_HEIGHT,
            )
    paths = []
    for a, b in edges:
        start, end = boxes[a], boxes[b]
        x1, y1 = start.x + start.width / 2, start.y
        x2, y2 = end.x - end.width / 2, end.y
        bend = (x2 - x1) / 2
        paths.append(
            (
                a,
                b,
                f"M{x1:.1f},{y1:.1f}C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} "
                f"{x2:.1f},{y2:.1f}",
            )
        )
    width = max((b.x + b.width / 2 for b in boxes.values()), default=0.0) + _MARGIN
    height = max((b.y + b.height / 2 for b in boxes.values()), default=0.0) + _MARGIN
    return Layout(width, height, boxes, paths, "networkx")


def render_layout(
    shape: Layout,
    *,
    health: Mapping[str, str] | None = None,
    subtitles: Mapping[str, str] | None = None,
    titles: Mapping[str, str] | None = None,
    href: Callable[[str], str | None] | None = None,
    standalone: bool = True,
    labels: Mapping[str, str] | None = None,
    classes: Mapping[str, str] | None = None,
) -> str:
    """Draws a layout. `health` maps node ids to Fresh/Stale/Failed/Missing; `href`
    links nodes; `labels` and `classes` override a node's text and add CSS classes (a
    group's box). A standalone SVG carries its own style; the page's uses kasset.css
    (whose content security policy forbids inline styles)."""
    health = health or {}
    labels = labels or {}
    classes = classes or {}
    width, height = f"{shape.width:.0f}", f"{shape.height:.0f}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" id="lineage-svg"'
        f' viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' data-engine="{shape.engine}" role="img" aria-label="Asset lineage">'
    ]
    if standalone:
        out.append(f"<style>{STANDALONE_STYLE}</style>")
    out.append(
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6"'
        ' markerHeight="6" orient="auto"><path d="M0,1L9,5L0,9z" class="arrow"/></marker></defs>'
    )
    if shape.frames:
        out.append('<g class="frames">')
        for frame, rect in shape.frames.items():
            left, top = rect.x - rect.width / 2, rect.y - rect.height / 2
            name = labels.get(frame, frame.partition(":")[2])
            out.append(
                f'<g class="frame" data-frame="{escape(frame)}"><rect x="{left:.1f}"'
                f' y="{top:.1f}" width="{rect.width:.1f}" height="{rect.height:.1f}" rx="8"/>'
                f'<text class="frame-label" x="{left + 10:.1f}" y="{top + 16:.1f}">'
                f"{escape(name)}</text></g>"
            )
        out.append("</g>")
    out.append('<g class="edges">')
    out.extend(
        f'<path class="edge" d="{d}" data-from="{escape(a)}" data-to="{escape(b)}"'
        ' marker-end="url(#arrow)"/>'
        for a, b, d in shape.edges
    )
    out.append('</g><g class="nodes">')
    for key, box in shape.boxes.items():
        state = health.get(key)
        css = HEALTH_CLASSES.get(state or "", "unknown")
        link = href(key) if href else None
        left, top = box.x - box.width / 2, box.y - box.height / 2
        title = escape((titles or {}).get(key) or f"{key}\nhealth: {state or 'unknown'}")
        sub = (subtitles or {}).get(key)
        text_y = box.y - 3 if sub else box.y + 4
        body = (
            f"<title>{title}</title>"
            f'<rect class="box" x="{left:.1f}" y="{top:.1f}" width="{box.width:.1f}"'
            f' height="{box.height:.1f}" rx="5"/>'
            f'<rect class="bar" x="{left:.1f}" y="{top:.1f}" width="5" height="{box.height:.1f}"'
            ' rx="2"/>'
            f'<text class="label" x="{left + 12:.1f}" y="{text_y:.1f}">'
            f"{escape(label_of(labels.get(key, key)))}</text>"
        )
        if sub:
            body += (
                f'<text class="sub" x="{left + 12:.1f}" y="{box.y + 11:.1f}">{escape(sub)}</text>'
            )
        extra = f" {classes[key]}" if key in classes else ""
        attrs = f'class="node h-{css}{extra}" data-key="{escape(key)}"'
        if link:
            out.append(f'<a href="{escape(link)}" {attrs}>{body}</a>')
        else:
            out.append(f"<g {attrs}>{body}</g>")
    out.append("</g></svg>")
    return "".join(out)


def graph_structure(
    graph: AssetGraph, selection: str | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    """Node ids (graph order) and edges of the selected part of `graph`."""
    keys = graph.select(selection) if selection else list(graph.order)
    chosen = set(keys)
    nodes = [key.to_string() for key in keys]
    edges = [
        (dep.to_string(), key.to_string())
        for key in keys
        for dep in graph.nodes[key].deps
        if dep in chosen
    ]
    return nodes, edges


def render_svg(
    graph: AssetGraph | AssetGraphResource,
    health: Mapping[AssetKey, str] | Mapping[str, str] | None = None,
    *,
    selection: str | None = None,
    href: Callable[[str], str | None] | None = None,
    standalone: bool = True,
) -> str:
    """The lineage of `graph` (a pure graph or an AssetGraph resource) as an SVG document.

    >>> svg = render_svg(defs.graph, {AssetKey("orders"): "Fresh"})  # doctest: +SKIP
    """
    if isinstance(graph, AssetGraphResource):
        from kasset.ui.model import graph_of

        graph = graph_of(graph)
    nodes, edges = graph_structure(graph, selection)
    by_id = {str(key): value for key, value in (health or {}).items()}
    subtitles = {key.to_string(): node.group for key, node in graph.nodes.items()}
    return render_layout(
        layout(nodes, edges), health=by_id, subtitles=subtitles, href=href, standalone=standalone
    )


def folded_structure(
    graph: AssetGraph,
    selection: str | None = None,
    health: Mapping[str, str] | None = None,
    *,
    expanded: frozenset[str] | None = None,
    by: Grouping | None = None,
) -> Folded:
    """The selected part of `graph` folded into group boxes (see `lineage_groups`).
    The folding depends on structure only and is cached per graph object (`graph_of`
    returns the same object for the same graph); the boxes' health is counted each time."""
    key = (id(graph), selection, expanded, by)
    with _cache_lock:
        hit = _folded_cache.get(key)
        if hit is not None and hit[0] is graph:
            _folded_cache.move_to_end(key)
            return with_health(hit[1], health or {})
    nodes, edges = graph_structure(graph, selection)
    groups = {k.to_string(): node.group for k, node in graph.nodes.items()}
    folded = fold(nodes, edges, groups, {}, expanded=expanded, by=by)
    with _cache_lock:
        _folded_cache[key] = (graph, folded)
        while len(_folded_cache) > _CACHE_SIZE:
            _folded_cache.popitem(last=False)
    return with_health(folded, health or {})


def prewarm(graph: AssetGraph) -> threading.Thread:
    """Lays the page's first view (the whole graph, big ones folded) out on a background
    thread, so the first page view is fast."""
    folded = folded_structure(graph)
    thread = threading.Thread(
        target=layout,
        args=(folded.nodes, folded.edges, folded.frames),
        name="kasset-lineage-prewarm",
        daemon=True,
    )
    thread.start()
    return thread


STANDALONE_STYLE = (
    "svg.lineage{font:12px system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#fff}"
    ".edge{fill:none;stroke:#9aa3ad;stroke-width:1.2}.arrow{fill:#9aa3ad}"
    ".box{fill:#fff;stroke:#c5ccd3}.bar{fill:#b0b8c1}.label{fill:#1f2328;font-weight:600}"
    ".sub{fill:#656d76;font-size:10px}"
    ".h-fresh .bar{fill:#1a7f37}.h-fresh .box{fill:#eefbf1;stroke:#8fd1a0}"
    ".h-stale .bar{fill:#bf8700}.h-stale .box{fill:#fff8e5;stroke:#e3c770}"
    ".h-failed .bar{fill:#cf222e}.h-failed .box{fill:#ffeef0;stroke:#f1a3ab}"
    ".h-missing .bar{fill:#b0b8c1}.h-missing .box{fill:#f6f8fa}"
    ".frame rect{fill:#f6f8fa;stroke:#c5ccd3;stroke-dasharray:4 3}.frame-label{fill:#656d76}"
)
