"""Step logs archived to a graph's storage (a real directory through fsspec, as a volume
is; fsspec's in-memory filesystem stands for an object store) and read back."""

from __future__ import annotations

from pathlib import Path

import fsspec
import pytest

from kasset.errors import HistoryError
from kasset.history.logs import archive_step_log, read_step_log, step_log_path


def test_a_steps_log_is_archived_under_the_storage_root_and_read_back(tmp_path: Path) -> None:
    root = f"file://{tmp_path}/storage"
    archived = archive_step_log(root, run="nightly-1", step="raw/orders[2026-01-01]",
                                attempt=1, chunks=[b"hello\n", "wörld\n".encode()])  # fmt: skip
    assert not archived.truncated
    assert archived.original_bytes == archived.kept_bytes == len("hello\nwörld\n".encode())
    on_disk = tmp_path / "storage" / step_log_path("nightly-1", "raw/orders[2026-01-01]", 1)
    assert on_disk.read_text() == "hello\nwörld\n"
    assert archived.uri.endswith(on_disk.name)
    assert read_step_log(root, run="nightly-1", step="raw/orders[2026-01-01]",
                         attempt=1) == "hello\nwörld\n"  # fmt: skip
    assert [p.name for p in on_disk.parent.iterdir()] == ["1.log"]  # no temporary left


def test_a_log_over_the_bound_keeps_its_start_and_end_and_says_what_was_cut(
    tmp_path: Path,
) -> None:
    lines = [f"line {n:05d}\n".encode() for n in range(10_000)]  # 110,000 bytes
    archived = archive_step_log(str(tmp_path), run="r", step="s", attempt=3,
                                chunks=iter(lines), max_bytes=1000)  # fmt: skip
    assert archived.truncated
    assert (archived.original_bytes, archived.kept_bytes) == (110_000, 1000)
    text = read_step_log(str(tmp_path), run="r", step="s", attempt=3)
    assert text is not None
    assert text.startswith("line 00000\nline 00001\n")
    assert text.endswith("line 09998\nline 09999\n")
    assert (
        "[kasset: 109000 bytes of this log were cut here; the archive keeps the first 500 "
        "and the last 500 bytes of a step's log (1000 bytes per step)]"
    ) in text


def test_attempts_and_streams_are_kept_apart(tmp_path: Path) -> None:
    for attempt in (1, 2):
        archive_step_log(str(tmp_path), run="r", step="a", attempt=attempt,
                         chunks=[f"out {attempt}".encode()])  # fmt: skip
    archive_step_log(str(tmp_path), run="r", step="a", attempt=2, stream="stderr",
                     chunks=[b"err 2"])  # fmt: skip
    assert read_step_log(str(tmp_path), run="r", step="a", attempt=1) == "out 1"
    assert read_step_log(str(tmp_path), run="r", step="a", attempt=2) == "out 2"
    assert read_step_log(str(tmp_path), run="r", step="a", attempt=2, stream="stderr") == "err 2"


def test_a_log_never_archived_reads_as_none(tmp_path: Path) -> None:
    assert read_step_log(str(tmp_path), run="r", step="a", attempt=1) is None


def test_an_object_store_url_works_the_same() -> None:
    archive_step_log("memory://bucket/kasset", run="r", step="raw/x", attempt=1,
                     chunks=[b"from memory"])  # fmt: skip
    assert read_step_log("memory://bucket/kasset", run="r", step="raw/x",
                         attempt=1) == "from memory"  # fmt: skip
    fs = fsspec.filesystem("memory")
    assert fs.exists("/bucket/kasset/.kasset/logs/r/raw%2Fx/1.log")


def test_names_that_could_escape_the_log_directory_are_quoted() -> None:
    assert (
        step_log_path("../../etc", "a/../../b", 1)
        == ".kasset/logs/..%2F..%2Fetc/a%2F..%2F..%2Fb/1.log"
    )


@pytest.mark.parametrize(
    ("run", "step", "attempt", "stream", "message"),
    [
        ("r", "s", 0, "log", "no log path"),
        ("", "s", 1, "log", "no log path"),
        ("..", "s", 1, "log", "no log path"),
        ("r", ".", 1, "log", "no log path"),
        ("r", "s", 1, "stdin", "log stream is one of"),
    ],
)
def test_a_bad_log_address_is_a_clear_error(
    run: str, step: str, attempt: int, stream: str, message: str
) -> None:
    with pytest.raises(HistoryError, match=message):
        step_log_path(run, step, attempt, stream)
