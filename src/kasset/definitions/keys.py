"""Asset and step keys: immutable, hashable value objects with string forms.

Input is normalised only here, at the API boundary; everything inside kasset holds
`AssetKey` and `StepKey` values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from kasset.errors import DefinitionError

__all__ = ["AssetKey", "CoercibleToAssetKey", "StepKey"]

_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_STEP = re.compile(r"^(?P<asset>[^\[\]]+)(?:\[(?P<partition>.+)\])?\Z")


@dataclass(frozen=True, order=True, slots=True, eq=True)
class AssetKey:
    """The path that names an asset, written `raw/orders`.

    >>> AssetKey(["raw", "orders"]).to_string()
    'raw/orders'
    >>> AssetKey.from_string("raw/orders") == AssetKey(["raw", "orders"])
    True
    """

    path: tuple[str, ...]
    _hash: int = field(init=False, repr=False, compare=False)

    def __init__(self, path: str | Sequence[str]) -> None:
        parts = (path,) if isinstance(path, str) else tuple(path)
        if not parts:
            raise DefinitionError("an asset key needs at least one part")
        for part in parts:
            if not isinstance(part, str) or not _PART.match(part):
                raise DefinitionError(
                    f"invalid asset key part {part!r} in {'/'.join(map(str, parts))!r}: "
                    "use letters, digits, '_', '.', '-', not starting with '.' or '-'"
                )
        object.__setattr__(self, "path", parts)
        object.__setattr__(self, "_hash", hash(parts))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def from_string(cls, text: str) -> AssetKey:
        return cls(text.strip("/").split("/"))

    @classmethod
    def from_coercible(cls, value: CoercibleToAssetKey) -> AssetKey:
        """Accepts an AssetKey, `"a/b"`, `["a", "b"]`, or anything with an `.key` AssetKey."""
        if isinstance(value, AssetKey):
            return value
        if isinstance(value, str):
            return cls.from_string(value)
        key = getattr(value, "key", None)
        if isinstance(key, AssetKey):
            return key
        if isinstance(value, Sequence):
            return cls(list(value))
        raise DefinitionError(f"cannot make an asset key of {value!r}")

    def to_string(self) -> str:
        return "/".join(self.path)

    def to_user_string(self) -> str:
        """Dagster's name for `to_string`."""
        return self.to_string()

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def prefix(self) -> tuple[str, ...]:
        return self.path[:-1]

    def with_prefix(self, prefix: Sequence[str]) -> AssetKey:
        return AssetKey([*prefix, *self.path])

    def __str__(self) -> str:
        return self.to_string()

    def __repr__(self) -> str:
        return f"AssetKey({self.to_string()!r})"


CoercibleToAssetKey: TypeAlias = "AssetKey | str | Sequence[str]"


@dataclass(frozen=True, slots=True)
class StepKey:
    """One unit of work in a run: an asset, and a partition when the asset is partitioned.

    >>> StepKey(AssetKey("orders"), "2024-01-01").to_string()
    'orders[2024-01-01]'
    """

    asset: AssetKey
    partition: str | None = None
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Steps are dict keys everywhere in a 10,000-step run: hash once.
        object.__setattr__(self, "_hash", hash((self.asset, self.partition)))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def from_string(cls, text: str) -> StepKey:
        match = _STEP.match(text)
        if not match:
            raise DefinitionError(
                f"invalid step key {text!r}: expected 'asset' or 'asset[partition]'"
            )
        return cls(AssetKey.from_string(match["asset"]), match["partition"])

    def to_string(self) -> str:
        if self.partition is None:
            return self.asset.to_string()
        return f"{self.asset.to_string()}[{self.partition}]"

    def __str__(self) -> str:
        return self.to_string()

    def __lt__(self, other: StepKey) -> bool:
        return (self.asset, self.partition or "") < (other.asset, other.partition or "")
