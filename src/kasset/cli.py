"""The `kasset` command. Subcommands import what they need only when they run, so that
`kasset runtime` in a step pod and `kasset --help` start fast and need no extras.

Exit status: 0 success, 1 a run failed, 2 a usage or definition mistake (printed as one
`kasset: error: ...` line, never a traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from kasset.errors import KassetError

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class FeatureUnavailableError(KassetError):
    """A subcommand whose module or extra is not installed (or not written yet)."""


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["runtime"]:
        return _runtime(args_list[1:])  # the step entrypoint parses its own flags
    if args_list[:1] == ["operator"]:
        return _operator(args_list[1:])  # so does the operator
    parser = build_parser()
    args = parser.parse_args(args_list)
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except KassetError as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"kasset: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("kasset: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kasset", description="Declare data assets in Python, materialize them on Kubernetes."
    )
    parser.add_argument("--version", action="version", version=f"kasset {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    compile_ = commands.add_parser(
        "compile", help="compile definitions into an AssetGraph resource"
    )
    _add_location(compile_)
    compile_.add_argument(
        "-o", "--output", metavar="FILE", help="write the YAML here (default: stdout)"
    )
    compile_.add_argument("--image", help="the image step pods run (with this code installed)")
    compile_.add_argument("--name", help="the AssetGraph name (default: from the module)")
    compile_.add_argument("--namespace", help="the namespace of the AssetGraph")
    compile_.add_argument(
        "--storage-uri",
        metavar="URL",
        help="where asset values are kept (default file:///var/lib/kasset/storage)",
    )
    compile_.add_argument(
        "--storage-claim", metavar="PVC", help="a PersistentVolumeClaim mounted for file:// storage"
    )
    compile_.add_argument(
        "--image-pull-policy",
        choices=["IfNotPresent", "Never", "Always"],
        default="IfNotPresent",
    )
    compile_.set_defaults(handler=_compile)

    mat = commands.add_parser(
        "materialize",
        help="materialize assets: locally with --local, else on the cluster",
        description="With --local, TARGET is MODULE[:ATTR] or path/to/file.py and every step "
        "runs as a local subprocess; otherwise TARGET is an AssetGraph name and a "
        "Materialization is created on the cluster.",
    )
    mat.add_argument("target", metavar="TARGET", help="MODULE[:ATTR] with --local, else GRAPH")
    mat.add_argument(
        "--select", metavar="SEL", help="selection, e.g. 'orders+,group:raw' (default: all)"
    )
    which = mat.add_mutually_exclusive_group()
    which.add_argument(
        "--partition", metavar="KEY", help="partition key(s): KEY, A..B, or a comma-separated list"
    )
    which.add_argument("--partition-range", metavar="A..B", help="the partitions from A to B")
    mat.add_argument("--local", action="store_true", help="run here, one subprocess per step")
    mat.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        metavar="N",
        help="steps to run at once (default: CPU count locally)",
    )
    mat.add_argument(
        "--storage", metavar="DIR", help="local storage dir (default: ./.kasset/storage)"
    )
    mat.add_argument("--run-id", metavar="ID", help="the run id (default: generated)")
    mat.add_argument("--wait", action="store_true", help="cluster: wait for the run to finish")
    mat.add_argument("--namespace", help="cluster: the namespace of the AssetGraph")
    mat.set_defaults(handler=_materialize)

    dev = commands.add_parser("dev", help="the local executor and the web UI on localhost")
    _add_location(dev)
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.add_argument(
        "--auth",
        choices=["token", "none"],
        default="token",
        help="token (default; printed at start) or none (loopback only)",
    )
    dev.set_defaults(handler=_dev)

    commands.add_parser("operator", help="run the operator (kopf, event ingest, UI)")

    graph = commands.add_parser("graph", help="show the asset graph (text, or SVG with --svg)")
    _add_location(graph)
    graph.add_argument("--select", metavar="SEL")
    graph.add_argument("--svg", metavar="FILE", help="render the lineage graph to an SVG file")
    graph.set_defaults(handler=_graph)

    commands.add_parser("runtime", help="run one step (the entrypoint of step pods)")
    return parser


def _add_location(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "location",
        metavar="MODULE[:ATTR]",
        help="a module (pkg.defs[:defs]) or a file (path/to/defs.py[:defs])",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _compile(args: argparse.Namespace) -> int:
    from kasset.compiler import compile_definitions, to_yaml
    from kasset.local.loading import load_definitions

    if not args.image:
        raise KassetError(
            "kasset compile needs --image REGISTRY/NAME:TAG, the image with this "
            "code installed that step pods run"
        )
    location, defs = load_definitions(args.location)
    compiled = compile_definitions(
        defs,
        image=args.image,
        module=location.module,
        attribute=location.attribute or "defs",
        name=args.name,
        namespace=args.namespace,
        storage_uri=args.storage_uri,
        storage_claim=args.storage_claim,
        image_pull_policy=args.image_pull_policy,
    )
    text = to_yaml(compiled)
    if args.output and args.output != "-":
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _materialize(args: argparse.Namespace) -> int:
    partition_text = args.partition
    if args.partition_range is not None:
        if ".." not in args.partition_range:
            raise KassetError(f"--partition-range {args.partition_range!r}: expected A..B")
        partition_text = args.partition_range
    if not args.local:
        return _materialize_on_cluster(args, partition_text)
    from kasset.local.executor import run_local
    from kasset.local.loading import load_definitions
    from kasset.local.partition_keys import expand_partitions
    from kasset.plan import RunPhase

    location, defs = load_definitions(args.target)
    partitions = expand_partitions(defs.graph, args.select, partition_text)
    run = run_local(
        defs,
        location,
        selection=args.select,
        partitions=partitions,
        max_parallel=args.jobs,
        run_id=args.run_id,
        storage_dir=Path(args.storage) if args.storage else None,
    )
    if run.phase is RunPhase.SUCCEEDED:
        return EXIT_OK
    return EXIT_INTERRUPTED if run.phase is RunPhase.CANCELED else EXIT_RUN_FAILED


def _materialize_on_cluster(args: argparse.Namespace, partition_text: str | None) -> int:
    if ":" in args.target or args.target.endswith(".py"):
        raise KassetError(
            f"{args.target!r} looks like code: add --local to run it here, or "
            "name a compiled AssetGraph to run it on the cluster"
        )
    submit = _optional("kasset.submit", "cluster mode", extra="kasset[operator]")
    return int(
        submit.create_materialization(
            graph=args.target,
            selection=args.select,
            partitions=partition_text,
            namespace=args.namespace,
            max_parallel=args.jobs,
            wait=args.wait,
        )
    )


def _dev(args: argparse.Namespace) -> int:
    from kasset.local.loading import load_definitions

    location, defs = load_definitions(args.location)
    ui = _optional("kasset.ui.cli", "kasset dev", extra="kasset[ui]")
    return int(ui.run_dev(defs, location, host=args.host, port=args.port, auth=args.auth))


def _operator(rest: list[str]) -> int:
    try:
        module = _optional(
            "kasset.operator.process.main", "kasset operator", extra="kasset[operator]"
        )
    except KassetError as error:
        print(f"kasset: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return int(module.main(rest))


def _graph(args: argparse.Namespace) -> int:
    from kasset.local.loading import load_definitions

    _, defs = load_definitions(args.location)
    if args.svg:
        ui = _optional("kasset.ui.cli", "kasset graph --svg", extra="kasset[ui]")
        return int(ui.write_graph_svg(defs, args.svg, args.select))
    graph = defs.graph
    for key in graph.select(args.select):
        node = graph.nodes[key]
        parents = ", ".join(str(p) for p in graph.parents(key))
        checks = "".join(
            f"\n    check {c.name}{' (blocking)' if c.blocking else ''}" for c in node.checks
        )
        partitions = f" [{node.partitions!r}]" if node.partitions is not None else ""
        print(
            f"{key}  group={node.group}{partitions}"
            + (f"  <- {parents}" if parents else "")
            + checks
        )
    return EXIT_OK


def _runtime(rest: list[str]) -> int:
    try:
        from kasset.runtime.main import main as runtime_main
    except ModuleNotFoundError as error:
        print(f"kasset: error: the step runtime is not available ({error})", file=sys.stderr)
        return EXIT_USAGE
    return int(runtime_main(rest))


def _optional(module: str, feature: str, extra: str | None = None) -> ModuleType:
    """Imports a module a subcommand needs, or explains what to install."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing.startswith("kasset") and not module.startswith(missing):
            raise  # a bug inside kasset, not a missing feature
        hint = f"; it needs `pip install {extra}`" if extra else ""
        raise FeatureUnavailableError(
            f"{feature} is not available in this installation (no module {missing!r}{hint})"
        ) from None


def _version() -> str:
    from kasset import __version__

    return __version__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
