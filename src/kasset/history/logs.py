"""Step logs that outlive their pods: archived to the graph's storage (the fsspec URL its
IO manager uses: a volume, S3, GCS...) when a step ends, and read back from there.

Bounded per step: a log longer than `max_bytes` keeps its beginning and its end (where
the error usually is) and says, in the archived file itself, how much was cut. The
log is read as a stream of chunks, so a huge log never sits in memory whole.

Layout: `<storage root>/.kasset/logs/<run>/<step>/<attempt>.log` (or
`<attempt>.stderr.log` for a separate stream); `.kasset`
cannot be an asset key part, so it never collides with stored values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import fsspec.core

from kasset.errors import HistoryError

__all__ = [
    "DEFAULT_MAX_LOG_BYTES",
    "ArchivedLog",
    "archive_step_log",
    "read_step_log",
    "step_log_path",
    "truncation_notice",
]

DEFAULT_MAX_LOG_BYTES = 4 * 1024 * 1024
_STREAMS = ("log", "stdout", "stderr")


@dataclass(frozen=True, slots=True)
class ArchivedLog:
    uri: str
    original_bytes: int
    kept_bytes: int

    @property
    def truncated(self) -> bool:
        return self.kept_bytes < self.original_bytes


def step_log_path(run: str, step: str, attempt: int, stream: str = "log") -> str:
    """Where a step attempt's log goes, relative to the storage root.

    >>> step_log_path("nightly-1", "raw/orders[2024-01-01]", 2)
    '.kasset/logs/nightly-1/raw%2Forders%5B2024-01-01%5D/2.log'
    """
    if stream not in _STREAMS:
        raise HistoryError(f"log stream is one of {', '.join(_STREAMS)}, not {stream!r}")
    if attempt < 1 or run in ("", ".", "..") or step in ("", ".", ".."):
        raise HistoryError(f"no log path for run {run!r}, step {step!r}, attempt {attempt}")
    name = f"{attempt}.log" if stream == "log" else f"{attempt}.{stream}.log"
    return f".kasset/logs/{quote(run, safe='')}/{quote(step, safe='')}/{name}"


def truncation_notice(cut: int, head: int, tail: int, limit: int) -> bytes:
    return (
        f"\n[kasset: {cut} bytes of this log were cut here; the archive keeps the first "
        f"{head} and the last {tail} bytes of a step's log ({limit} bytes per step)]\n"
    ).encode()


def archive_step_log(
    storage_uri: str,
    *,
    run: str,
    step: str,
    attempt: int,
    chunks: Iterable[bytes],
    stream: str = "log",
    max_bytes: int = DEFAULT_MAX_LOG_BYTES,
    storage_options: Mapping[str, Any] | None = None,
) -> ArchivedLog:
    """Writes one attempt's log (atomically: a reader sees none or all of it)."""
    if max_bytes < 2:
        raise HistoryError(f"max_bytes must be at least 2, not {max_bytes}")
    head_limit, tail_limit = max_bytes // 2, max_bytes - max_bytes // 2
    head = bytearray()
    tail = bytearray()
    total = 0
    for chunk in chunks:
        total += len(chunk)
        room = max(0, head_limit - len(head))
        head += chunk[:room]
        rest = chunk[room:]
        if rest:
            tail += rest
            if len(tail) > 2 * tail_limit:  # trim now and then, not on every chunk
                del tail[: len(tail) - tail_limit]
    if len(tail) > tail_limit:
        del tail[: len(tail) - tail_limit]
    kept = len(head) + len(tail)
    body = bytes(head)
    if kept < total:
        body += truncation_notice(total - kept, len(head), len(tail), max_bytes)
    body += bytes(tail)
    fs, root = fsspec.core.url_to_fs(storage_uri, **(storage_options or {}))
    path = f"{root.rstrip('/')}/{step_log_path(run, step, attempt, stream)}"
    temp = f"{path}.tmp-{uuid.uuid4().hex}"
    try:
        fs.makedirs(path.rpartition("/")[0], exist_ok=True)
        fs.pipe_file(temp, body)
        fs.mv(temp, path)
    except OSError as error:
        raise HistoryError(f"cannot archive the log of {step} to {storage_uri}: {error}") from None
    return ArchivedLog(uri=str(fs.unstrip_protocol(path)), original_bytes=total, kept_bytes=kept)


def read_step_log(
    storage_uri: str,
    *,
    run: str,
    step: str,
    attempt: int,
    stream: str = "log",
    storage_options: Mapping[str, Any] | None = None,
) -> str | None:
    """The archived log of a step attempt, or None if none was archived."""
    fs, root = fsspec.core.url_to_fs(storage_uri, **(storage_options or {}))
    path = f"{root.rstrip('/')}/{step_log_path(run, step, attempt, stream)}"
    try:
        data: bytes = fs.cat_file(path)
    except FileNotFoundError:
        return None
    return data.decode("utf-8", errors="replace")
