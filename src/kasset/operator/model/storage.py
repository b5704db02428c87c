"""Where a graph's steps keep asset values when the graph does not say.

A graph compiled without storage options leaves `spec.storage` unset; the operator then
applies the defaults its installation gives it (the chart's `KASSET_STORAGE_*`): a URL
and credentials anywhere, and the release's volume claim in the release's namespace
(a claim cannot be mounted from another namespace).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kasset.resources import AssetGraphSpec, Storage, StorageVolume

__all__ = ["StorageDefaults", "effective_storage"]

DEFAULT_MOUNT_PATH = "/var/lib/kasset/storage"


@dataclass(frozen=True)
class StorageDefaults:
    uri: str | None = None
    claim: str | None = None
    mount_path: str = DEFAULT_MOUNT_PATH
    secret: str | None = None
    namespace: str | None = None  # where `claim` lives

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StorageDefaults:
        return cls(
            uri=env.get("KASSET_STORAGE_URI") or None,
            claim=env.get("KASSET_STORAGE_CLAIM") or None,
            mount_path=env.get("KASSET_STORAGE_MOUNT_PATH") or DEFAULT_MOUNT_PATH,
            secret=env.get("KASSET_STORAGE_SECRET") or None,
            namespace=env.get("POD_NAMESPACE") or None,
        )


def effective_storage(
    spec: AssetGraphSpec, namespace: str, defaults: StorageDefaults | None
) -> Storage:
    """The graph's own storage when it sets one, else the installation's defaults."""
    if "storage" in spec.model_fields_set or defaults is None:
        return spec.storage
    volume = None
    uri = defaults.uri
    if defaults.claim and defaults.namespace == namespace:
        volume = StorageVolume(claim_name=defaults.claim, mount_path=defaults.mount_path)
        uri = uri or f"file://{defaults.mount_path}"
    if uri and uri.startswith("file://") and volume is None:
        uri = None  # the release's volume is not mountable here: keep the graph's default
    return Storage(uri=uri or spec.storage.uri, volume=volume, secret_name=defaults.secret)
