"""The `context` an asset or check function may ask for by naming a parameter `context`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kasset.definitions.keys import AssetKey
from kasset.errors import PartitionError

__all__ = ["AssetExecutionContext"]


@dataclass
class AssetExecutionContext:
    """What a running step knows about itself.

    `context.log.info(...)` writes to the step's log; `context.add_output_metadata({...})`
    attaches metadata to the materialization, like returning a MaterializeResult.
    """

    run_id: str
    asset_key: AssetKey
    partition_key_or_none: str | None
    attempt: int = 1
    metadata: Mapping[str, Any] = field(default_factory=dict)
    partition_time_window: tuple[datetime, datetime] | None = None
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("kasset.user"))
    output_metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def has_partition_key(self) -> bool:
        return self.partition_key_or_none is not None

    @property
    def partition_key(self) -> str:
        if self.partition_key_or_none is None:
            raise PartitionError(
                f"asset {self.asset_key} is not partitioned: it has no partition key"
            )
        return self.partition_key_or_none

    def add_output_metadata(self, metadata: Mapping[str, Any]) -> None:
        self.output_metadata.update(metadata)
