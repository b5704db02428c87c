"""What an asset function gave back, read the way Dagster reads it: a plain value, an
`Output`, a `MaterializeResult`, or a generator yielding those along with
`AssetMaterialization`s, `AssetObservation`s and `AssetCheckResult`s.

Pure: it collects; the step reports.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kasset.definitions.keys import AssetKey
from kasset.definitions.results import (
    NO_VALUE,
    AssetCheckResult,
    AssetMaterialization,
    AssetObservation,
    MaterializeResult,
    Output,
)
from kasset.errors import DefinitionError

__all__ = ["Returned", "collect", "is_event"]


@dataclass
class Returned:
    """Everything the function produced for its asset."""

    value: Any = NO_VALUE
    metadata: dict[str, Any] = field(default_factory=dict)
    data_version: str | None = None
    check_results: list[AssetCheckResult] = field(default_factory=list)
    observations: list[AssetObservation] = field(default_factory=list)
    has_result: bool = False

    def add(self, item: Any, key: AssetKey) -> None:
        """Takes one returned or yielded item, or one logged with `context.log_event`."""
        if isinstance(item, Output):
            self._result(item.value, item.metadata, item.data_version, "Output")
        elif isinstance(item, MaterializeResult):
            if item.asset_key is not None and item.asset_key != key:
                raise DefinitionError(
                    f"asset '{key}' returned a MaterializeResult for '{item.asset_key}': an "
                    "@asset reports only its own key (several keys need @multi_asset)"
                )
            self._result(item.value, item.metadata, item.data_version, "MaterializeResult")
            self.check_results.extend(item.check_results)
        elif isinstance(item, AssetCheckResult):
            self.check_results.append(item)
        elif isinstance(item, AssetObservation):
            self.observations.append(item)
        elif isinstance(item, AssetMaterialization):
            if item.asset_key != key:
                raise DefinitionError(
                    f"asset '{key}' logged an AssetMaterialization of '{item.asset_key}': "
                    "kasset records materializations only of the asset that runs; report "
                    "another asset with AssetObservation"
                )
            self.metadata.update(item.metadata)
            if item.description:
                self.metadata.setdefault("description", item.description)
        else:
            self._result(item, {}, None, type(item).__name__)

    def _result(self, value: Any, metadata: Any, data_version: str | None, what: str) -> None:
        if self.has_result:
            raise DefinitionError(
                f"the asset produced a second result ({what}): an @asset yields one "
                "Output or MaterializeResult"
            )
        self.has_result = True
        self.value = value
        self.metadata.update(metadata)
        self.data_version = data_version


def is_event(item: Any) -> bool:
    return isinstance(item, AssetMaterialization | AssetObservation | AssetCheckResult)


def collect(result: Any, key: AssetKey, into: Returned) -> Returned:
    """Reads what the function returned into `into` (which may already hold the events
    logged during the call); drains a generator, raising what the generator raised."""
    if inspect.isgenerator(result):
        items: Iterator[Any] = result
        for item in items:
            into.add(item, key)
        return into
    if inspect.isawaitable(result) or inspect.isasyncgen(result):
        raise DefinitionError(f"asset '{key}' is async: kasset runs plain functions")
    into.add(result, key)
    return into
