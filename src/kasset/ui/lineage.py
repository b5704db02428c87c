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
from dataclasses import dataclass
from html import escape

from kasset.definitions.keys import AssetKey
from kasset.graph import AssetGraph
from kasset.resources import AssetGraphResource

__all__ = [
    "Layout",
    "NodeBox",
    "clear_layout_cache",
    "layout",
    "prewarm",
    "render_layout",
    "render_svg",
]

log = logging.getLogger(__name__)

NODE_HEIGHT = 38.0
_CHAR_WIDTH = 6.9
_MIN_WIDTH, _MAX_WIDTH = 96.0, 280.0
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


_cache: OrderedDict[str, Layout] = OrderedDict()
_cache_lock = threading.Lock()
_key_locks: dict[str, threading.Lock] = {}
_fallback_logged = threading.Event()  # say it once per process


def clear_layout_cache() -> None:
    with _cache_lock:
        _cache.clear()


def label_of(key: str) -> str:
    return key if len(key) <= _MAX_LABEL else key[: _MAX_LABEL - 1] + "…"


def _width(key: str) -> float:
    return max(_MIN_WIDTH, min(_MAX_WIDTH, len(label_of(key)) * _CHAR_WIDTH + 26))


def layout(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> Layout:
    """The layout of a DAG given by node ids and (upstream, downstream) edges; cached."""
    digest = hashlib.sha256(
        json.dumps([list(nodes), [list(e) for e in edges]], separators=(",", ":")).encode()
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
        computed = _compute(list(nodes), list(edges))
        with _cache_lock:
            _cache[digest] = computed
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
            _key_locks.pop(digest, None)
    return computed


def _compute(nodes: list[str], edges: list[tuple[str, str]]) -> Layout:
    dot = shutil.which("dot")
    if dot is not None:
        try:
            return _dot_layout(dot, nodes, edges)
        except (OSError, subprocess.SubprocessError, ValueError) as error:
            log.warning("graphviz dot failed (%s); using the networkx layout", error)
    elif not _fallback_logged.is_set():
        _fallback_logged.set()
        log.warning(
            "graphviz 'dot' is not installed; lineage uses networkx's multipartite "
            "layout (install the graphviz package for a better one)"
        )
    return _layered_layout(nodes, edges)


def _dot_source(nodes: list[str], edges: list[tuple[str, str]]) -> str:
    index = {key: i for i, key in enumerate(nodes)}
    tuning = " nslimit=0.05 mclimit=0.2 searchsize=10" if len(nodes) > _BIG_GRAPH else ""
    lines = [
        "digraph G {",
        f" graph [rankdir=LR nodesep=0.14 ranksep=0.55 splines=spline{tuning}];",
        ' node [shape=box fixedsize=true label=""];',
        " edge [arrowhead=none];",
    ]
    height = NODE_HEIGHT / _POINTS_PER_INCH
    lines.extend(
        f" n{i} [width={_width(key) / _POINTS_PER_INCH:.3f} height={height:.3f}];"
        for key, i in index.items()
    )
    lines.extend(f" n{index[a]} -> n{index[b]};" for a, b in edges)
    lines.append("}")
    return "\n".join(lines)


def _dot_layout(dot: str, nodes: list[str], edges: list[tuple[str, str]]) -> Layout:
    result = subprocess.run(
        [dot, "-Tplain"],
        input=_dot_source(nodes, edges),
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
            paths.append((nodes[int(fields[1][1:])], nodes[int(fields[2][1:])], _bezier(points)))
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
    depth: dict[str, int] = {}
    for key in nx.topological_sort(dag):
        depth[key] = max((depth[p] + 1 for p in dag.predecessors(key)), default=0)
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
) -> str:
    """Draws a layout. `health` maps node ids to Fresh/Stale/Failed/Missing; `href`
    links nodes. A standalone SVG carries its own style; the page's uses kasset.css
    (whose content security policy forbids inline styles)."""
    health = health or {}
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
            f"{escape(label_of(key))}</text>"
        )
        if sub:
            body += (
                f'<text class="sub" x="{left + 12:.1f}" y="{box.y + 11:.1f}">{escape(sub)}</text>'
            )
        attrs = f'class="node h-{css}" data-key="{escape(key)}"'
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


def prewarm(graph: AssetGraph) -> threading.Thread:
    """Lays the whole graph out on a background thread, so the first page view is fast."""
    nodes, edges = graph_structure(graph)
    thread = threading.Thread(
        target=layout, args=(nodes, edges), name="kasset-lineage-prewarm", daemon=True
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
)
