"""The base of every partitions definition: ordered keys, ranges, static and dynamic keys.

Time windows (`time_partitions`) and products of dimensions (`multi_partitions`) build on
it; `partitions` is the module the rest of kasset imports, re-exporting them all, so that
the kinds can rebuild each other from a spec without an import circle.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from kasset.errors import PartitionError

__all__ = [
    "RANGE_SEPARATOR",
    "TEMP_NAME_MARK",
    "UNPARTITIONED_NAME",
    "DynamicPartitionsDefinition",
    "PartitionKeyRange",
    "PartitionsDefinition",
    "StaticPartitionsDefinition",
]

#: Names the filesystem IO manager gives its own files: the value of an unpartitioned
#: asset, and the temporary file a value is written to before it moves into place. A
#: partition key named so would be stored but never found again.
UNPARTITIONED_NAME = "__all__"
TEMP_NAME_MARK = ".tmp-"
_STATIC_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:+-]{0,62}\Z")
RANGE_SEPARATOR = ".."


class PartitionKeyRange(NamedTuple):
    """The keys from `start` to `end`, both included, in the definition's order."""

    start: str
    end: str


class PartitionsDefinition(ABC):
    """An ordered set of partition keys."""

    kind: str

    def count(self, now: datetime | None = None) -> int:
        """How many keys exist at `now`."""
        return len(self.keys(now))

    # Dagster's names for the same questions.

    def get_partition_keys(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> list[str]:
        return self.keys(current_time)

    def get_partition_keys_in_range(
        self, partition_key_range: PartitionKeyRange, dynamic_partitions_store: Any = None
    ) -> list[str]:
        return self.key_range(partition_key_range.start, partition_key_range.end)

    def get_first_partition_key(self, current_time: datetime | None = None) -> str | None:
        return self.key_at(0) if self.count(current_time) else None

    def get_last_partition_key(self, current_time: datetime | None = None) -> str | None:
        count = self.count(current_time)
        return self.key_at(count - 1) if count else None

    def has_partition_key(self, partition_key: str, current_time: datetime | None = None) -> bool:
        try:
            self.index_of(partition_key)
        except PartitionError:
            return False
        return True

    @abstractmethod
    def keys(self, now: datetime | None = None) -> list[str]:
        """Every key that exists at `now` (time windows: the windows that have closed)."""

    @abstractmethod
    def index_of(self, key: str) -> int:
        """The position of `key` in the definition's order; PartitionError if not a key."""

    @abstractmethod
    def key_at(self, index: int) -> str:
        """The key at a position (the inverse of `index_of`)."""

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """The JSON form stored in the AssetGraph resource."""

    def validate_key(self, key: str) -> str:
        self.index_of(key)
        return key

    def key_range(self, first: str, last: str) -> list[str]:
        """Keys from `first` to `last`, both included, in order."""
        start, end = self.index_of(first), self.index_of(last)
        if start > end:
            raise PartitionError(
                f"partition range {first}..{last} is empty: {first} comes after {last}"
            )
        return [self.key_at(i) for i in range(start, end + 1)]

    def to_ranges(self, keys: Iterable[str]) -> str:
        """Compacts keys into `a..c,e` over the definition's order."""
        indexes = sorted({self.index_of(k) for k in keys})
        items: list[str] = []
        run_start = prev = None
        for index in [*indexes, None]:
            if prev is not None and index == prev + 1:
                prev = index
                continue
            if run_start is not None and prev is not None:
                first, last = self.key_at(run_start), self.key_at(prev)
                items.append(first if run_start == prev else f"{first}{RANGE_SEPARATOR}{last}")
            run_start = prev = index
        return ",".join(items)

    def from_ranges(self, text: str) -> list[str]:
        """Expands `a..c,e` back into keys."""
        keys: list[str] = []
        for item in filter(None, (part.strip() for part in text.split(","))):
            first, sep, last = item.partition(RANGE_SEPARATOR)
            keys.extend(self.key_range(first, last) if sep else [self.validate_key(first)])
        return keys

    def _identity(self) -> str:
        """The spec as text, computed once: definitions do not change after creation."""
        cached: str | None = self.__dict__.get("_identity_text")
        if cached is None:
            cached = repr(sorted(self.spec().items()))
            self.__dict__["_identity_text"] = cached
        return cached

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        return isinstance(other, PartitionsDefinition) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())


class StaticPartitionsDefinition(PartitionsDefinition):
    """A fixed list of keys, e.g. regions: `StaticPartitionsDefinition(["eu", "us"])`."""

    kind = "static"

    def __init__(self, partition_keys: Sequence[str]) -> None:
        keys = list(partition_keys)
        if not keys:
            raise PartitionError("StaticPartitionsDefinition needs at least one key")
        for key in keys:
            _check_static_key(key)
        if len(set(keys)) != len(keys):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            raise PartitionError(f"duplicate partition keys: {', '.join(dupes)}")
        self._keys = keys
        self._index = {key: i for i, key in enumerate(keys)}

    def keys(self, now: datetime | None = None) -> list[str]:
        return list(self._keys)

    def index_of(self, key: str) -> int:
        try:
            return self._index[key]
        except KeyError:
            raise PartitionError(f"unknown partition key {key!r}") from None

    def key_at(self, index: int) -> str:
        return self._keys[index]

    def spec(self) -> dict[str, Any]:
        return {"type": self.kind, "keys": list(self._keys)}

    def __repr__(self) -> str:
        return f"StaticPartitionsDefinition({self._keys!r})"


class DynamicPartitionsDefinition(PartitionsDefinition):
    """Keys added while the graph lives: `DynamicPartitionsDefinition(name="files")`.

    The keys live in a store: here the process's (what `materialize()`, `--local` and
    `kasset dev` use; `materialize(partition_key=...)` adds the key it is given); a compiled
    graph carries the keys known when it was compiled.
    """

    kind = "dynamic"

    def __init__(self, partition_fn: Any = None, name: str | None = None) -> None:
        if partition_fn is not None:
            raise PartitionError(
                "DynamicPartitionsDefinition(partition_fn=...) is deprecated in Dagster and "
                "not supported: give name= and add keys"
            )
        if not name or not _STATIC_KEY.match(name):
            raise PartitionError(f"DynamicPartitionsDefinition needs a name, got {name!r}")
        self.name = name

    @property
    def _keys(self) -> list[str]:
        return _DYNAMIC_KEYS.setdefault(self.name, [])

    def add_keys(self, keys: Iterable[str]) -> None:
        """Adds keys (at the end of the order); keys already there stay where they are."""
        known = self._keys
        for key in keys:
            _check_static_key(key)
            if key not in known:
                known.append(key)

    def delete_keys(self, keys: Iterable[str]) -> None:
        gone = set(keys)
        self._keys[:] = [k for k in self._keys if k not in gone]

    def build_add_request(self, partition_keys: Sequence[str]) -> dict[str, Any]:
        return {"partitions_def_name": self.name, "add": list(partition_keys)}

    def build_delete_request(self, partition_keys: Sequence[str]) -> dict[str, Any]:
        return {"partitions_def_name": self.name, "delete": list(partition_keys)}

    def keys(self, now: datetime | None = None) -> list[str]:
        return list(self._keys)

    def index_of(self, key: str) -> int:
        try:
            return self._keys.index(key)
        except ValueError:
            raise PartitionError(
                f"unknown partition key {key!r} of dynamic partitions '{self.name}': add it first"
            ) from None

    def key_at(self, index: int) -> str:
        return self._keys[index]

    def spec(self) -> dict[str, Any]:
        return {"type": self.kind, "dynamicName": self.name, "keys": list(self._keys) or None}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DynamicPartitionsDefinition) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("dynamic", self.name))

    def __repr__(self) -> str:
        return f"DynamicPartitionsDefinition(name={self.name!r})"


_DYNAMIC_KEYS: dict[str, list[str]] = {}
"""The process's store of dynamic partition keys, by definition name."""


def _check_static_key(key: object) -> None:
    if not isinstance(key, str) or not _STATIC_KEY.match(key):
        raise PartitionError(
            f"invalid partition key {key!r}: use up to 63 letters, digits, '_', '.', "
            "':', '+', '-', not starting with a symbol"
        )
    if key == UNPARTITIONED_NAME or TEMP_NAME_MARK in key:
        raise PartitionError(
            f"invalid partition key {key!r}: '{UNPARTITIONED_NAME}' and keys "
            f"containing '{TEMP_NAME_MARK}' are reserved for kasset's storage files"
        )
