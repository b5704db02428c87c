"""What `kasset runtime` is told to do: the `KASSET_*` environment of a step pod or
subprocess (docs/internals.md), overridden by command-line flags. Pure: reads only the
mappings and paths it is given."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kasset.definitions.keys import StepKey
from kasset.errors import DefinitionError, KassetError

__all__ = ["DEFAULT_TERMINATION_LOG", "RuntimeConfig", "UsageError", "read_config"]

DEFAULT_TERMINATION_LOG = "/dev/termination-log"


class UsageError(KassetError):
    """`kasset runtime` was started without what it needs (a run, a step, code)."""


@dataclass(frozen=True)
class RuntimeConfig:
    run: str
    step: StepKey
    attempt: int
    code: str
    storage_uri: str | None = None
    event_url: str | None = None
    event_token: str | None = None
    event_file: str | None = None
    termination_log: str | None = None
    python_path: tuple[str, ...] = ()
    #: The run's config (JSON, KASSET_RUN_CONFIG) and tags (JSON, KASSET_RUN_TAGS).
    run_config: str | None = None
    run_tags: tuple[tuple[str, str], ...] = ()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kasset runtime",
        description="Run one step of a run (the entrypoint of step pods). Every option "
        "defaults to its KASSET_* environment variable.",
    )
    parser.add_argument("--run", help="run id (KASSET_RUN)")
    parser.add_argument("--step", help="step key, e.g. raw/orders[2024-01-01] (KASSET_STEP)")
    parser.add_argument("--attempt", help="1-based attempt number (KASSET_ATTEMPT)")
    parser.add_argument("--code", help="code location MODULE:ATTRIBUTE (KASSET_CODE)")
    parser.add_argument("--storage", help="IO manager root URI (KASSET_STORAGE_URI)")
    parser.add_argument("--event-url", help="event ingest URL (KASSET_EVENT_URL)")
    parser.add_argument("--event-file", help="JSON-lines event file (KASSET_EVENT_FILE)")
    parser.add_argument(
        "--termination-log", help="termination message path (KASSET_TERMINATION_LOG)"
    )
    return parser


def read_config(argv: Sequence[str], environ: Mapping[str, str]) -> RuntimeConfig:
    """The configuration from flags, then the environment. Raises UsageError; argparse
    itself exits with status 2 on an unknown flag."""
    args = build_parser().parse_args(list(argv))

    def pick(flag: str | None, name: str) -> str | None:
        return flag or environ.get(name) or None

    run = pick(args.run, "KASSET_RUN")
    step_text = pick(args.step, "KASSET_STEP")
    code = pick(args.code, "KASSET_CODE")
    missing = [n for n, v in (("run", run), ("step", step_text), ("code", code)) if not v]
    if missing or run is None or step_text is None or code is None:
        raise UsageError(
            f"missing {', '.join(missing)}: set KASSET_RUN, KASSET_STEP and KASSET_CODE "
            "(or --run, --step, --code)"
        )
    try:
        step = StepKey.from_string(step_text)
    except DefinitionError as error:
        raise UsageError(str(error)) from None
    attempt_text = pick(args.attempt, "KASSET_ATTEMPT") or "1"
    if not attempt_text.isdigit() or int(attempt_text) < 1:
        raise UsageError(f"invalid attempt {attempt_text!r}: expected a number from 1")
    python_path = environ.get("KASSET_PYTHONPATH", "")
    return RuntimeConfig(
        run=run,
        step=step,
        attempt=int(attempt_text),
        code=code,
        storage_uri=pick(args.storage, "KASSET_STORAGE_URI"),
        event_url=pick(args.event_url, "KASSET_EVENT_URL"),
        event_token=environ.get("KASSET_EVENT_TOKEN") or None,
        event_file=pick(args.event_file, "KASSET_EVENT_FILE"),
        termination_log=pick(args.termination_log, "KASSET_TERMINATION_LOG")
        or _default_termination_log(),
        python_path=tuple(p for p in python_path.split(os.pathsep) if p),
        run_config=environ.get("KASSET_RUN_CONFIG") or None,
        run_tags=_tags(environ.get("KASSET_RUN_TAGS")),
    )


def _tags(text: str | None) -> tuple[tuple[str, str], ...]:
    if not text:
        return ()
    try:
        loaded = json.loads(text)
    except ValueError:
        raise UsageError("KASSET_RUN_TAGS is not a JSON object") from None
    if not isinstance(loaded, dict):
        raise UsageError("KASSET_RUN_TAGS is not a JSON object")
    return tuple(sorted((str(k), str(v)) for k, v in loaded.items()))


def _default_termination_log() -> str | None:
    # The kubelet creates the file in every container; elsewhere there is none, and
    # creating one in /dev (possible as root) would be wrong.
    path = DEFAULT_TERMINATION_LOG
    return path if os.path.isfile(path) and os.access(path, os.W_OK) else None
