"""The few filesystem calls the IO manager makes, for local paths, on `os` directly.

Importing fsspec costs about 40 ms (it pulls in asyncio); a step pod whose storage is a
mounted volume should not pay that on every start. Other URLs go through fsspec, whose
methods of the same names this mirrors.
"""

from __future__ import annotations

import os
from typing import IO, Any

__all__ = ["LocalFileSystem", "is_local"]


def is_local(uri: str) -> bool:
    """True for plain paths and `file://` URLs (not `s3://`, `memory://`, `a::b` chains)."""
    return uri.startswith("file://") or ("://" not in uri and "::" not in uri)


class LocalFileSystem:
    """`open`, `mv`, `rm`, `exists`, `makedirs`, `ls` over local paths, as fsspec names them."""

    protocol = "file"

    @staticmethod
    def root_of(uri: str) -> str:
        path = uri.removeprefix("file://")
        return os.path.abspath(os.path.expanduser(path))

    def open(self, path: str, mode: str = "rb") -> IO[Any]:
        return open(path, mode)  # the caller closes it

    def mv(self, source: str, destination: str) -> None:
        os.replace(source, destination)  # atomic within one filesystem

    def rm(self, path: str) -> None:
        os.remove(path)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        os.makedirs(path, exist_ok=exist_ok)

    def ls(self, path: str, detail: bool = False) -> list[str]:
        return [os.path.join(path, name) for name in os.listdir(path)]

    def unstrip_protocol(self, path: str) -> str:
        return f"file://{path}"
