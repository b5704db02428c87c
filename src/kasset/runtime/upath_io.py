"""`UPathIOManager`: a custom IO manager that only says how to write and read one file.

Subclass it with `dump_to_path(context, obj, path)` and `load_from_path(context, path)`;
the base class picks the path (`<base_path>/<asset key path>/<partition or __all__><extension>`),
creates the directories and loads every partition for a fan-in. Paths are
`universal_pathlib.UPath`s when that package is installed (so s3:// works), else
`pathlib.Path`s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kasset.runtime.io_managers import ALL_PARTITIONS, InputContext, IOManager, OutputContext

__all__ = ["UPathIOManager"]


def _path_class() -> Any:
    try:
        from upath import UPath  # type: ignore[import-not-found]
    except ImportError:
        return Path
    return UPath


class UPathIOManager(IOManager):
    """Stores each asset (partition) as one file under `base_path`."""

    extension: str = ""

    def __init__(self, base_path: str | os.PathLike[str] | None = None) -> None:
        self._base_path = _path_class()(base_path if base_path is not None else ".")

    @property
    def base_path(self) -> Any:
        return self._base_path

    def dump_to_path(self, context: OutputContext, obj: Any, path: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement dump_to_path")

    def load_from_path(self, context: InputContext, path: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement load_from_path")

    def path_for(self, asset_key: Any, partition_key: str | None) -> Any:
        path = self.base_path.joinpath(*asset_key.path)
        return path / f"{partition_key or ALL_PARTITIONS}{self.extension}"

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        path = self.path_for(context.asset_key, context.partition_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.dump_to_path(context, obj, path)
        context.uri = str(path)
        context.add_output_metadata({"path": path})

    def load_input(self, context: InputContext) -> Any:
        path = self.path_for(context.asset_key, context.partition_key)
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        return self.load_from_path(context, path)

    def has_output(self, context: InputContext) -> bool:
        return bool(self.path_for(context.asset_key, context.partition_key).exists())
