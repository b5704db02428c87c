"""Loads the upstream values a step's function receives, mapping partitions as Dagster
does: a partitioned upstream through the edge's partition mapping (the value itself when
it maps to one partition, a dict by key when to several), a whole unpartitioned value to
every partition, and every stored partition (as a dict) to an unpartitioned downstream.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kasset.definitions.definitions import Definitions
from kasset.definitions.keys import AssetKey
from kasset.definitions.partition_mappings import infer_partition_mapping
from kasset.definitions.partitions import PartitionsDefinition
from kasset.errors import StorageError, UserCodeError
from kasset.runtime.io_managers import InputContext, OutputNotFoundError
from kasset.runtime.user_errors import user_code_error

__all__ = ["FanInKeys", "InputLoader"]

FanInKeys = Callable[[AssetKey, PartitionsDefinition], Sequence[str]]
"""The partition keys of an upstream asset that an unpartitioned asset gathers."""

_NOT_FOUND = (OutputNotFoundError, FileNotFoundError, KeyError)


@dataclass(frozen=True)
class InputLoader:
    """Loads upstream values for the steps of one run from one IO manager."""

    defs: Definitions
    io_manager: Any
    run_id: str
    fan_in_keys: FanInKeys
    #: The IO manager of an upstream asset (its `io_manager_key`); default: `io_manager`.
    io_manager_of: Callable[[AssetKey], Any] | None = None
    now: Callable[[], datetime] | None = None

    def load_inputs(
        self, by_param: Mapping[str, AssetKey], downstream: AssetKey, partition: str | None
    ) -> dict[str, Any]:
        """`{param: value}` for each upstream parameter. Raises StorageError, or
        UserCodeError when a custom IO manager raised something else."""
        return {
            param: self.load_value(upstream, downstream, partition)
            for param, upstream in by_param.items()
        }

    def load_value(self, upstream: AssetKey, downstream: AssetKey, partition: str | None) -> Any:
        """The value of `upstream` as seen by `downstream` at `partition`."""
        manager = self.io_manager_of(upstream) if self.io_manager_of else self.io_manager
        upstream_partitions = self.defs.assets[upstream].partitions_def
        if upstream_partitions is None:
            context = InputContext(upstream, None, (), downstream, self.run_id)
            return _load(manager, context)
        if self.defs.assets[downstream].partitions_def is not None and partition is not None:
            mapped = self.mapped_keys(upstream, downstream, partition)
            if len(mapped) == 1:
                context = InputContext(upstream, mapped[0], (), downstream, self.run_id)
                return _load(manager, context)
            context = InputContext(upstream, None, tuple(mapped), downstream, self.run_id)
            return {key: _load(manager, _for_partition(context, key)) for key in mapped}
        keys = tuple(self.fan_in_keys(upstream, upstream_partitions))
        context = InputContext(upstream, None, keys, downstream, self.run_id)
        return dict(_gather(manager, context))

    def mapped_keys(self, upstream: AssetKey, downstream: AssetKey, partition: str) -> list[str]:
        """The partitions of `upstream` that `downstream`'s `partition` reads."""
        mine = self.defs.assets[downstream].partitions_def
        theirs = self.defs.assets[upstream].partitions_def
        if mine is None or theirs is None:
            return []
        given = self.defs.partition_mappings(downstream).get(upstream)
        mapping = infer_partition_mapping(theirs, mine, given)
        now = self.now() if self.now is not None else None
        return mapping.upstream_keys(mine, [partition], theirs, now)


def _gather(io_manager: Any, context: InputContext) -> list[tuple[str, Any]]:
    """Every stored partition of the upstream asset, in key order. One listing when the
    IO manager can list, else one `has_output` (or load attempt) per key."""
    stored = _listing(io_manager, context)
    if stored is not None:
        candidates = [key for key in context.upstream_partition_keys if key in stored]
    else:
        candidates = [
            key for key in context.upstream_partition_keys if _may_exist(io_manager, context, key)
        ]
    found = []
    for key in candidates:
        try:
            found.append((key, _load(io_manager, _for_partition(context, key), missing_ok=True)))
        except _MissingError:
            continue
    return found


def _listing(io_manager: Any, context: InputContext) -> Collection[str] | None:
    method = getattr(io_manager, "stored_partitions", None)
    if method is None:
        return None
    try:
        stored: Collection[str] | None = _call(method, context)
    except NotImplementedError:
        return None
    return stored


def _may_exist(io_manager: Any, context: InputContext, key: str) -> bool:
    has_output = getattr(io_manager, "has_output", None)
    if has_output is None:
        return True
    try:
        return bool(_call(has_output, _for_partition(context, key)))
    except NotImplementedError:
        return True  # no cheap test: loading will tell


def _for_partition(context: InputContext, key: str) -> InputContext:
    return InputContext(
        context.asset_key,
        key,
        context.upstream_partition_keys,
        context.downstream_asset_key,
        context.run_id,
    )


class _MissingError(Exception):
    """A fan-in partition that turned out not to be stored."""


def _load(io_manager: Any, context: InputContext, *, missing_ok: bool = False) -> Any:
    try:
        return io_manager.load_input(context)
    except _NOT_FOUND as error:
        if missing_ok:
            raise _MissingError from error
        if isinstance(error, OutputNotFoundError):
            raise
        raise OutputNotFoundError(
            f"cannot load the value of asset '{context.asset_key}': {type(error).__name__}: {error}"
        ) from error
    except StorageError:
        raise
    except Exception as error:
        raise user_code_error(
            error, f"the IO manager, loading asset '{context.asset_key}'"
        ) from error


def _call(method: Any, context: InputContext) -> Any:
    """Calls an optional IO manager method; NotImplementedError passes through, anything
    else raised is the custom IO manager's failure."""
    try:
        return method(context)
    except (NotImplementedError, StorageError, UserCodeError):
        raise
    except Exception as error:
        raise user_code_error(
            error, f"the IO manager, looking for asset '{context.asset_key}'"
        ) from error
