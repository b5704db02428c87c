from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from kasset.definitions.keys import AssetKey, StepKey
from kasset.errors import StorageError
from kasset.runtime.io_managers import (
    FilesystemIOManager,
    InMemoryIOManager,
    InputContext,
    OutputContext,
    OutputNotFoundError,
)

ORDERS = AssetKey(["raw", "orders"])


def output(partition: str | None = None, key: AssetKey = ORDERS) -> OutputContext:
    return OutputContext(key, partition, "run-1", StepKey(key, partition))


def store(manager: Any, value: Any, partition: str | None = None) -> OutputContext:
    context = output(partition)
    manager.handle_output(context, value)
    return context


def test_values_are_stored_under_the_asset_key_path_and_partition(tmp_path: Path) -> None:
    manager = FilesystemIOManager(str(tmp_path))
    whole = store(manager, {"a": 1})
    part = store(manager, [1, 2], "2024-01-01")
    assert (tmp_path / "raw" / "orders" / "__all__.pkl").is_file()
    assert (tmp_path / "raw" / "orders" / "2024-01-01.pkl").is_file()
    assert whole.uri == f"file://{tmp_path}/raw/orders/__all__.pkl"
    assert part.metadata["bytes"] == (tmp_path / "raw/orders/2024-01-01.pkl").stat().st_size
    assert manager.load_input(InputContext(ORDERS)) == {"a": 1}
    assert manager.load_input(InputContext(ORDERS, "2024-01-01")) == [1, 2]


def test_file_urls_and_fsspec_urls_work_alike(tmp_path: Path) -> None:
    for uri in (f"file://{tmp_path}", f"memory://kasset-{uuid.uuid4().hex}"):
        manager = FilesystemIOManager(uri)
        context = store(manager, 42, "eu")
        assert manager.load_input(InputContext(ORDERS, "eu")) == 42
        assert manager.has_output(InputContext(ORDERS, "eu"))
        assert not manager.has_output(InputContext(ORDERS, "us"))
        assert context.uri is not None and context.uri.endswith("/raw/orders/eu.pkl")


def test_memory_urls_go_through_fsspec() -> None:
    manager = FilesystemIOManager(f"memory://kasset-{uuid.uuid4().hex}")
    assert type(manager.fs).__module__.startswith("fsspec")
    assert store(manager, 1).uri is not None


def test_an_unpicklable_value_is_a_storage_error_naming_the_asset(tmp_path: Path) -> None:
    manager = FilesystemIOManager(str(tmp_path))
    with pytest.raises(StorageError) as raised:
        store(manager, {"lock": threading.Lock()})
    message = str(raised.value)
    assert message.startswith("cannot store the value of asset 'raw/orders' at file://")
    assert "TypeError: cannot pickle '_thread.lock' object" in message
    assert list((tmp_path / "raw" / "orders").iterdir()) == []  # no temporary left


def test_a_failed_write_keeps_the_previous_value(tmp_path: Path) -> None:
    manager = FilesystemIOManager(str(tmp_path))
    store(manager, "old")
    with pytest.raises(StorageError):
        store(manager, ["x" * 1_000_000, threading.Lock()])  # fails halfway through
    assert manager.load_input(InputContext(ORDERS)) == "old"


class _DieWhilePickled:
    def __reduce__(self) -> Any:
        os._exit(137)  # as if OOM-killed in the middle of the write


def test_crashed_write_leaves_no_readable_value(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent.parent.parent.parent)!r})
        from tests.unit.runtime.test_io_managers import ORDERS, _DieWhilePickled, output
        from kasset.runtime.io_managers import FilesystemIOManager
        manager = FilesystemIOManager({str(tmp_path)!r})
        manager.handle_output(output(), ["x" * 1_000_000, _DieWhilePickled()])
    """)
    process = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True
    )
    assert process.returncode == 137, process.stderr
    leftovers = list((tmp_path / "raw" / "orders").iterdir())
    assert [p.name.split(".tmp-")[0] for p in leftovers] == ["__all__.pkl"]  # a temp only
    assert leftovers[0].stat().st_size > 0  # it was written to
    manager = FilesystemIOManager(str(tmp_path))
    assert not manager.has_output(InputContext(ORDERS))
    with pytest.raises(OutputNotFoundError, match="was it materialized"):
        manager.load_input(InputContext(ORDERS))
    assert manager.stored_partitions(InputContext(ORDERS)) == set()


def test_loading_what_was_never_stored_says_so(tmp_path: Path) -> None:
    manager = FilesystemIOManager(str(tmp_path))
    with pytest.raises(OutputNotFoundError) as raised:
        manager.load_input(InputContext(ORDERS, "2024-01-01"))
    assert "asset 'raw/orders' partition '2024-01-01' has no stored value" in str(raised.value)


def test_a_corrupt_file_is_a_storage_error(tmp_path: Path) -> None:
    manager = FilesystemIOManager(str(tmp_path))
    (tmp_path / "raw" / "orders").mkdir(parents=True)
    (tmp_path / "raw" / "orders" / "__all__.pkl").write_bytes(b"not a pickle")
    with pytest.raises(StorageError, match="cannot load the value of asset 'raw/orders'"):
        manager.load_input(InputContext(ORDERS))


def test_stored_partitions_lists_the_asset_directory_once(tmp_path: Path) -> None:
    manager = FilesystemIOManager(str(tmp_path))
    for partition in ("eu", "us"):
        store(manager, partition, partition)
    (tmp_path / "raw" / "orders" / "apac.pkl.tmp-123").write_bytes(b"partial")
    assert manager.stored_partitions(InputContext(ORDERS)) == {"eu", "us"}
    assert manager.stored_partitions(InputContext(AssetKey("other"))) == set()


def test_dataframes_are_stored_as_parquet_with_their_row_count(tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    manager = FilesystemIOManager(str(tmp_path))
    frame = pandas.DataFrame({"country": ["fr", "de"], "population": [68, 84]})
    context = store(manager, frame)
    assert context.uri is not None and context.uri.endswith("/raw/orders/__all__.parquet")
    assert context.metadata["rows"] == 2 and context.metadata["format"] == "parquet"
    pandas.testing.assert_frame_equal(manager.load_input(InputContext(ORDERS)), frame)


def test_a_dataframe_parquet_cannot_hold_is_pickled(tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    manager = FilesystemIOManager(str(tmp_path))
    frame = pandas.DataFrame({1: [object()], 2: ["x"]})  # int column names, object values
    context = store(manager, frame)
    assert context.metadata["format"] == "pickle"
    assert list(manager.load_input(InputContext(ORDERS)).columns) == [1, 2]


def test_a_value_of_another_format_does_not_shadow_the_new_one(tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    manager = FilesystemIOManager(str(tmp_path))
    store(manager, {"old": "dict"})
    store(manager, pandas.DataFrame({"a": [1]}))
    assert isinstance(manager.load_input(InputContext(ORDERS)), pandas.DataFrame)
    store(manager, {"new": "dict"})
    assert manager.load_input(InputContext(ORDERS)) == {"new": "dict"}


def test_pickles_are_plain_pickle_files(tmp_path: Path) -> None:
    manager = FilesystemIOManager(str(tmp_path))
    store(manager, [1, 2, 3])
    assert pickle.loads((tmp_path / "raw/orders/__all__.pkl").read_bytes()) == [1, 2, 3]


def test_in_memory_io_manager_keeps_values_by_reference() -> None:
    manager = InMemoryIOManager()
    value = [1]
    store(manager, value, "eu")
    assert manager.load_input(InputContext(ORDERS, "eu")) is value
    assert manager.stored_partitions(InputContext(ORDERS)) == {"eu"}
    with pytest.raises(OutputNotFoundError):
        manager.load_input(InputContext(ORDERS, "us"))


def test_output_context_collects_metadata_from_the_manager() -> None:
    context = output()
    context.add_output_metadata({"a": 1})
    context.add_output_metadata({"b": 2})
    assert context.metadata == {"a": 1, "b": 2}
