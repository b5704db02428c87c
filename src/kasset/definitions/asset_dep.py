"""`AssetDep`: an upstream an asset depends on without loading its value, with the
partition mapping that relates their partitions (`deps=[AssetDep("raw", partition_mapping=
LastPartitionMapping())]`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kasset.definitions.keys import AssetKey, CoercibleToAssetKey
from kasset.definitions.partition_mappings import PartitionMapping

__all__ = ["AssetDep"]


@dataclass(frozen=True)
class AssetDep:
    """`AssetDep(asset, partition_mapping=None)`: `asset` is a key or an asset."""

    asset: CoercibleToAssetKey | object
    partition_mapping: PartitionMapping | None = None
    key: AssetKey = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", AssetKey.from_coercible(self.asset))  # type: ignore[arg-type]
