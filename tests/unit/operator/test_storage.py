"""Graphs without storage get the installation's; graphs with storage keep theirs."""

from __future__ import annotations

from kasset.operator.model.storage import StorageDefaults, effective_storage
from kasset.resources import AssetGraphSpec

CHART = StorageDefaults(
    uri="file:///var/lib/kasset/storage",
    claim="kasset-storage",
    mount_path="/var/lib/kasset/storage",
    namespace="kasset-system",
)


def _spec(**extra: object) -> AssetGraphSpec:
    return AssetGraphSpec.model_validate(
        {"image": "x:1", "codeLocation": {"module": "m"}, "assets": [{"key": "a"}], **extra}
    )


def test_a_graph_without_storage_in_the_release_namespace_mounts_the_release_claim() -> None:
    storage = effective_storage(_spec(), "kasset-system", CHART)
    assert storage.volume is not None and storage.volume.claim_name == "kasset-storage"
    assert storage.uri == "file:///var/lib/kasset/storage"


def test_the_claim_is_not_offered_to_other_namespaces() -> None:
    storage = effective_storage(_spec(), "team-a", CHART)
    assert storage.volume is None


def test_an_object_store_default_applies_everywhere_with_its_credentials() -> None:
    defaults = StorageDefaults(uri="s3://bucket/kasset", secret="s3-creds", namespace="ks")
    storage = effective_storage(_spec(), "team-a", defaults)
    assert (storage.uri, storage.secret_name, storage.volume) == (
        "s3://bucket/kasset",
        "s3-creds",
        None,
    )


def test_a_graph_that_sets_storage_keeps_it() -> None:
    own = {"uri": "s3://own/prefix"}
    assert effective_storage(_spec(storage=own), "kasset-system", CHART).uri == "s3://own/prefix"


def test_defaults_come_from_the_charts_environment() -> None:
    env = {
        "KASSET_STORAGE_URI": "file:///data",
        "KASSET_STORAGE_CLAIM": "c",
        "KASSET_STORAGE_MOUNT_PATH": "/data",
        "POD_NAMESPACE": "ns",
    }
    assert StorageDefaults.from_env(env) == StorageDefaults(
        "file:///data", "c", "/data", None, "ns"
    )
