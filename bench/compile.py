"""Comparison 4: what compiling a big code location costs, and how big the result is.

The graph is a lattice 20 assets wide (each asset depends on up to three of the row
above), 50 rows for 1,000 assets and 500 rows for 10,000: wide and deep, with the edges a
real project has. Times are medians of separate phases, each in a fresh Definitions.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable

from bench.report import Goal, Section, Table, fmt_bytes, fmt_ms, median
from bench.shapes import Shape, lattice

__all__ = ["COMPILE_GOAL_SECONDS", "compile_shapes", "run_compile"]

COMPILE_GOAL_SECONDS = 2.0
OBJECT_LIMIT = 1 << 20  # the goal; etcd itself refuses requests over 1.5 MiB
IMAGE = "registry.example/bench:1.0"


def compile_shapes() -> list[Shape]:
    return [lattice(50, 20), lattice(500, 20)]


def measure_once(shape: Shape) -> dict[str, float]:
    from bench.kasset_side import assets_of
    from kasset import Definitions
    from kasset.compiler import compile_definitions, to_yaml

    gc.collect()
    t0 = time.perf_counter()
    items = assets_of(shape)
    t1 = time.perf_counter()
    defs = Definitions(assets=items)
    t2 = time.perf_counter()
    resource = compile_definitions(defs, image=IMAGE, module="bench.kasset_side", name="bench")
    t3 = time.perf_counter()
    text = to_yaml(resource)
    t4 = time.perf_counter()
    body = json.dumps(resource.to_dict(), separators=(",", ":"))
    return {
        "decorate": t1 - t0,
        "definitions": t2 - t1,
        "compile": t3 - t2,
        "yaml": t4 - t3,
        "yaml_bytes": float(len(text.encode())),
        "json_bytes": float(len(body.encode())),
    }


def run_compile(reps: int = 5, say: Callable[[str], None] = print) -> Section:
    section = Section("compile", "4. Compile: Definitions -> AssetGraph manifest")
    section.notes.append(
        "Lattice graphs 20 assets wide (up to 3 deps each); medians of "
        f"{reps} repetitions in this process; `compile` is `compile_definitions`, `to_yaml` "
        "the YAML dump; JSON bytes is the compact JSON body the API server would store."
    )
    table = Table(
        "compile time and manifest size",
        [
            "assets",
            "deps",
            "@asset x N",
            "Definitions()",
            "compile_definitions",
            "to_yaml",
            "compile + yaml",
            "YAML bytes",
            "JSON bytes",
        ],
    )
    for shape in compile_shapes():
        runs = [measure_once(shape) for _ in range(reps)]
        m = {k: median([r[k] for r in runs]) for k in runs[0]}
        total = m["compile"] + m["yaml"]
        say(f"  compile {shape.steps} assets: {fmt_ms(total)}, {fmt_bytes(m['yaml_bytes'])} YAML")
        table.add(
            shape.steps,
            shape.edges,
            fmt_ms(m["decorate"]),
            fmt_ms(m["definitions"]),
            fmt_ms(m["compile"]),
            fmt_ms(m["yaml"]),
            fmt_ms(total),
            fmt_bytes(m["yaml_bytes"]),
            fmt_bytes(m["json_bytes"]),
        )
        if shape.steps == 10_000:
            section.goals.append(
                Goal(
                    "10,000-asset compile",
                    f"< {COMPILE_GOAL_SECONDS:.0f} s",
                    f"{total:.2f} s (compile + yaml; Definitions() {m['definitions']:.2f} s more)",
                    total < COMPILE_GOAL_SECONDS,
                )
            )
            over = m["json_bytes"] > OBJECT_LIMIT
            section.goals.append(
                Goal(
                    "10,000-asset AssetGraph object",
                    "<= 1 MiB",
                    fmt_bytes(m["json_bytes"]) + " JSON",
                    not over,
                    "one AssetGraph holds every asset (~"
                    f"{m['json_bytes'] / shape.steps:.0f} B each); past ~"
                    f"{OBJECT_LIMIT * shape.steps // int(m['json_bytes']):,} such assets it "
                    "needs splitting into several graphs"
                    if over
                    else "",
                )
            )
    section.tables.append(table)
    return section
