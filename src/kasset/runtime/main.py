"""`kasset runtime` / `python -m kasset.runtime`: the process of one step attempt.

Exit status: 0 the step succeeded, 1 it failed (the user's code, storage, a blocking
check), 2 it could not start (usage, code location, definitions), killed by SIGTERM when
terminated. The step's logs are this process's stdout and stderr.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

from kasset.errors import KassetError, StorageError, UserCodeError
from kasset.runtime.config import RuntimeConfig, UsageError, read_config
from kasset.runtime.records import OUTCOME_EVENT_TYPES, EventBuilder, EventRecord, error_payload
from kasset.runtime.sinks import (
    EventSink,
    FanoutSink,
    HttpSink,
    JsonLinesSink,
    TerminationMessageSink,
)
from kasset.runtime.user_errors import user_traceback

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_sink", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CLOSE_TIMEOUT = 30.0
"""Seconds to keep trying to deliver events after the step ended."""
BACKED_UP_CLOSE_TIMEOUT = 3.0
"""The same when the outcome is also in the termination message, which the operator
reads when the container ends: waiting longer for an unreachable operator would only
delay that."""
TERMINATED_CLOSE_TIMEOUT = 5.0
"""The same after SIGTERM: well inside the default 30 s grace period of a pod."""

logger = logging.getLogger("kasset.runtime")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Runs the step the environment (or flags) name and returns the exit status."""
    try:
        config = read_config(
            sys.argv[1:] if argv is None else argv, os.environ if environ is None else environ
        )
    except UsageError as error:
        print(f"kasset runtime: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging()
    sink = _OutcomeTracking(build_sink(config))
    builder = EventBuilder(
        config.run,
        config.step.to_string(),
        config.step.asset.to_string(),
        config.step.partition,
        config.attempt,
    )
    restore = _handle_sigterm(sink, builder)
    try:
        return _run(config, sink, builder)
    finally:
        sink.close(BACKED_UP_CLOSE_TIMEOUT if config.termination_log else CLOSE_TIMEOUT)
        restore()


def _run(config: RuntimeConfig, sink: _OutcomeTracking, builder: EventBuilder) -> int:
    from kasset.runtime.loader import load_code_location
    from kasset.runtime.step import execute_step

    try:
        defs = load_code_location(config.code, python_path=config.python_path)
        io_manager = defs.io_manager or _filesystem_io_manager(config.storage_uri)
        outcome = execute_step(
            defs,
            config.step,
            run_id=config.run,
            attempt=config.attempt,
            io_manager=io_manager,
            sink=sink,
            run_config=config.run_config,
            run_tags=dict(config.run_tags),
        )
    except KassetError as error:  # the step cannot run as configured: retrying won't help
        message = " ".join(str(error).split())
        sink.emit(builder.failed(error_payload(type(error).__name__, message, retryable=False)))
        print(f"kasset runtime: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:  # a bug of kasset's own: say so, and let it be retried
        text = traceback.format_exc()
        print(text, file=sys.stderr, end="")
        payload = error_payload("InternalError", f"{type(error).__name__}: {error}", text)
        sink.emit(builder.failed(payload))
        return EXIT_FAILED
    if outcome.success:
        return EXIT_OK
    if isinstance(outcome.error, UserCodeError):
        print(user_traceback(outcome.error.original), file=sys.stderr, end="")
    print(f"kasset runtime: step {config.step} failed: {outcome.message}", file=sys.stderr)
    return EXIT_FAILED


def _filesystem_io_manager(storage_uri: str | None) -> Any:
    from kasset.runtime.io_managers import FilesystemIOManager

    if not storage_uri:
        raise UsageError(
            "no storage: set KASSET_STORAGE_URI (or --storage), or give Definitions an io_manager"
        )
    try:
        return FilesystemIOManager(storage_uri)
    except Exception as error:  # e.g. s3:// without s3fs installed
        raise StorageError(f"cannot use the storage {storage_uri}: {error}") from error


def build_sink(config: RuntimeConfig) -> EventSink:
    """Where this process reports: a file and the termination message first (local and
    instant), then the operator over HTTP."""
    sinks: list[EventSink] = []
    if config.event_file:
        sinks.append(JsonLinesSink(config.event_file))
    if config.termination_log:
        sinks.append(TerminationMessageSink(config.termination_log))
    if config.event_url:
        sinks.append(HttpSink(config.event_url, config.event_token))
    return FanoutSink(*sinks)


def configure_logging() -> None:
    """`context.log` (the `kasset.user` logger) to stdout; kasset's own warnings to stderr."""
    user = logging.getLogger("kasset.user")
    if not user.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        user.addHandler(handler)
        user.setLevel(logging.INFO)
        user.propagate = False
    runtime = logging.getLogger("kasset.runtime")
    if not runtime.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("kasset runtime: %(levelname)s: %(message)s"))
        runtime.addHandler(handler)
        runtime.setLevel(logging.WARNING)
        runtime.propagate = False


class _OutcomeTracking:
    """Passes events on, noting whether the step's outcome has been reported."""

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self.outcome_reported = False

    def emit(self, event: EventRecord) -> None:
        self.sink.emit(event)
        if event.type in OUTCOME_EVENT_TYPES:
            self.outcome_reported = True

    def close(self, timeout: float | None = None) -> None:
        self.sink.close(timeout)


def _handle_sigterm(sink: _OutcomeTracking, builder: EventBuilder) -> Any:
    """On SIGTERM (the pod is being deleted, the run canceled): report the step failed,
    flush the sinks, then die of the signal as if unhandled. Returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def terminated(signum: int, frame: FrameType | None) -> None:
        if not sink.outcome_reported:
            message = "the step was terminated (SIGTERM) before it finished"
            error = error_payload("Terminated", message, retryable=True, interrupted=True)
            sink.emit(builder.failed(error))
        sink.close(TERMINATED_CLOSE_TIMEOUT)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, terminated)
    return lambda: signal.signal(signal.SIGTERM, previous)
