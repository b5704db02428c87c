"""IO managers: how an asset's value is stored after its step and loaded by the steps
downstream. The interface is Dagster's; the default writes files through fsspec.

Storage layout: `<root>/<asset key path>/<partition or __all__><suffix>`, the suffix
naming the format (`.pkl`, or `.parquet` for pandas DataFrames when pyarrow is there).
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from kasset.definitions.keys import AssetKey, StepKey
from kasset.definitions.partitions import TEMP_NAME_MARK, UNPARTITIONED_NAME
from kasset.errors import StorageError
from kasset.runtime.localfs import LocalFileSystem, is_local

__all__ = [
    "ALL_PARTITIONS",
    "FilesystemIOManager",
    "IOManager",
    "InMemoryIOManager",
    "InputContext",
    "OutputContext",
    "OutputNotFoundError",
]

logger = logging.getLogger("kasset.runtime")

ALL_PARTITIONS = UNPARTITIONED_NAME
"""The file name (before its suffix) of an unpartitioned asset's value."""
_PICKLE, _PARQUET = ".pkl", ".parquet"
_TEMP_MARK = TEMP_NAME_MARK
_Writer = Callable[[Any, IO[bytes]], dict[str, Any]]


class OutputNotFoundError(StorageError):
    """Nothing is stored for an asset (partition): it was never materialized here."""


@dataclass(slots=True)
class OutputContext:
    """What `handle_output` knows of the value it stores. The manager may record where
    it put it (`uri`) and add metadata (`add_output_metadata`), both reported with the
    materialization."""

    asset_key: AssetKey
    partition_key: str | None
    run_id: str
    step: StepKey
    definition_metadata: Mapping[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    uri: str | None = None

    def add_output_metadata(self, metadata: Mapping[str, Any]) -> None:
        self.metadata.update(metadata)


@dataclass(slots=True)
class InputContext:
    """What `load_input` must load: the value of the upstream `asset_key` (at
    `partition_key` when that asset is partitioned). When an unpartitioned asset gathers
    a partitioned one, each partition is loaded in turn and `upstream_partition_keys`
    lists all of them."""

    asset_key: AssetKey
    partition_key: str | None = None
    upstream_partition_keys: tuple[str, ...] = ()
    downstream_asset_key: AssetKey | None = None
    run_id: str | None = None


class IOManager(ABC):
    """Stores and loads asset values. Subclass it to keep values in a database, a
    warehouse, or a format of your own, and pass it as `Definitions(io_manager=...)`.

    `load_input` raises `OutputNotFoundError` (or FileNotFoundError/KeyError) when nothing
    is stored; other failures are best raised as `StorageError`.
    """

    @abstractmethod
    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Stores `obj`, the value of `context.asset_key` (partition `context.partition_key`)."""

    @abstractmethod
    def load_input(self, context: InputContext) -> Any:
        """Returns the stored value of `context.asset_key` (partition `context.partition_key`)."""

    def has_output(self, context: InputContext) -> bool:
        """Optional: whether a value is stored, without loading it. Without it, kasset
        tries `load_input` and treats "not found" as absent."""
        raise NotImplementedError

    def stored_partitions(self, context: InputContext) -> Collection[str] | None:
        """Optional: every stored partition of `context.asset_key` in one call (a listing),
        so gathering thousands of partitions needs no call per partition. None: unknown."""
        return None


class InMemoryIOManager(IOManager):
    """Keeps values in a dict, by reference: the default of in-process `materialize()`."""

    def __init__(self) -> None:
        self.values: dict[tuple[AssetKey, str | None], Any] = {}

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        self.values[(context.asset_key, context.partition_key)] = obj

    def load_input(self, context: InputContext) -> Any:
        try:
            return self.values[(context.asset_key, context.partition_key)]
        except KeyError:
            raise OutputNotFoundError(_not_found(context, "in memory")) from None

    def has_output(self, context: InputContext) -> bool:
        return (context.asset_key, context.partition_key) in self.values

    def stored_partitions(self, context: InputContext) -> Collection[str] | None:
        return {p for (k, p) in self.values if k == context.asset_key and p is not None}


class FilesystemIOManager(IOManager):
    """Pickles values (DataFrames as Parquet) under `base_uri`: a local path, or any fsspec
    URL such as `s3://bucket/prefix` or `memory://x` (`storage_options` go to fsspec).

    Writes are atomic: the value goes to `<path>.tmp-<uuid>`, which is then moved into
    place, so a reader sees the old value or the new one, never a partial one. Locally the
    move is a rename; on object stores it is a copy and a delete, and the copy makes the
    new object appear whole. A crashed write leaves only a temporary file behind.
    """

    def __init__(self, base_uri: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.base_uri = base_uri
        if is_local(base_uri) and not storage_options:
            self.fs: Any = LocalFileSystem()
            self.root = LocalFileSystem.root_of(base_uri)
        else:
            import fsspec.core

            self.fs, self.root = fsspec.core.url_to_fs(base_uri, **(storage_options or {}))
            self.root = self.root.rstrip("/")

    def path_for(self, asset_key: AssetKey, partition_key: str | None, suffix: str) -> str:
        return "/".join([self.root, *asset_key.path, (partition_key or ALL_PARTITIONS) + suffix])

    def uri_for(self, path: str) -> str:
        return str(self.fs.unstrip_protocol(path))

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        writers = _writers_for(obj)
        for index, (writer, suffix) in enumerate(writers):
            path = self.path_for(context.asset_key, context.partition_key, suffix)
            other = _PARQUET if suffix == _PICKLE else _PICKLE
            stale = self.path_for(context.asset_key, context.partition_key, other)
            try:
                metadata = self._write(path, obj, writer, stale)
            except Exception as error:
                if index + 1 < len(writers):  # e.g. a DataFrame Parquet cannot hold
                    logger.warning(
                        "asset '%s': cannot store the value as %s (%s); trying %s instead",
                        context.asset_key,
                        suffix,
                        _reason(error),
                        writers[index + 1][1],
                    )
                    continue
                raise StorageError(
                    f"cannot store the value of asset '{context.asset_key}' at "
                    f"{self.uri_for(path)}: {_reason(error)}"
                ) from error
            context.uri = self.uri_for(path)
            context.add_output_metadata(metadata)
            return

    def _write(self, path: str, obj: Any, writer: _Writer, stale: str) -> dict[str, Any]:
        """Writes a temporary file, then moves it to `path`. A value stored in the other
        format (`stale`) is removed first, or it could shadow the new one."""
        temp = f"{path}{_TEMP_MARK}{uuid.uuid4().hex}"
        try:
            self.fs.makedirs(path.rpartition("/")[0], exist_ok=True)
            with self.fs.open(temp, "wb") as file:
                metadata = writer(obj, file)
                metadata["bytes"] = file.tell()
            _remove_quietly(self.fs, stale)
            self.fs.mv(temp, path)
        except BaseException:
            _remove_quietly(self.fs, temp)
            raise
        return metadata

    def load_input(self, context: InputContext) -> Any:
        for suffix, reader in ((_PICKLE, pickle.load), (_PARQUET, _read_parquet)):
            path = self.path_for(context.asset_key, context.partition_key, suffix)
            try:
                with self.fs.open(path, "rb") as file:
                    return reader(file)
            except FileNotFoundError:
                continue
            except Exception as error:
                raise StorageError(
                    f"cannot load the value of asset '{context.asset_key}' from "
                    f"{self.uri_for(path)}: {_reason(error)}"
                ) from error
        where = self.uri_for(self.path_for(context.asset_key, context.partition_key, ""))
        raise OutputNotFoundError(_not_found(context, f"at {where}(.pkl|.parquet)"))

    def has_output(self, context: InputContext) -> bool:
        return any(
            self.fs.exists(self.path_for(context.asset_key, context.partition_key, suffix))
            for suffix in (_PICKLE, _PARQUET)
        )

    def stored_partitions(self, context: InputContext) -> Collection[str] | None:
        directory = "/".join([self.root, *context.asset_key.path])
        try:
            entries = self.fs.ls(directory, detail=False)
        except FileNotFoundError:
            return set()
        names = (str(entry).rstrip("/").rpartition("/")[2] for entry in entries)
        return {
            name.rpartition(".")[0]
            for name in names
            if _TEMP_MARK not in name and name.endswith((_PICKLE, _PARQUET))
        } - {ALL_PARTITIONS}


def _writers_for(obj: Any) -> list[tuple[_Writer, str]]:
    """The formats to try, best first."""
    # Only a value whose type comes from pandas makes us import pandas.
    module = type(obj).__module__
    if (module == "pandas" or module.startswith("pandas.")) and _has_pyarrow():
        import pandas

        if isinstance(obj, pandas.DataFrame):
            return [(_write_parquet, _PARQUET), (_write_pickle, _PICKLE)]
    return [(_write_pickle, _PICKLE)]


def _write_pickle(obj: Any, file: IO[bytes]) -> dict[str, Any]:
    pickle.dump(obj, file, protocol=pickle.HIGHEST_PROTOCOL)
    return {"format": "pickle"}


def _write_parquet(obj: Any, file: IO[bytes]) -> dict[str, Any]:
    obj.to_parquet(file)
    return {"format": "parquet", "rows": len(obj), "columns": len(obj.columns)}


def _read_parquet(file: IO[bytes]) -> Any:
    import pandas

    return pandas.read_parquet(file)


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _remove_quietly(fs: Any, path: str) -> None:
    with contextlib.suppress(OSError):  # FileNotFoundError included
        fs.rm(path)


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _not_found(context: InputContext, where: str) -> str:
    part = f" partition '{context.partition_key}'" if context.partition_key is not None else ""
    return f"asset '{context.asset_key}'{part} has no stored value {where}: was it materialized?"
