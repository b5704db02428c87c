"""One marker file per execution of an asset body, in the shared storage volume:
`<storage root>/_markers/<run>__<asset>__<attempt>__<random>`. The reliability tests count
them to prove that each step attempt executed exactly once."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from kasset import AssetExecutionContext


def storage_root() -> Path:
    uri = os.environ.get("KASSET_STORAGE_URI", "file:///tmp/kasset-storage")
    return Path(uri.removeprefix("file://"))


def mark(context: AssetExecutionContext) -> None:
    directory = storage_root() / "_markers"
    directory.mkdir(parents=True, exist_ok=True)
    name = context.asset_key.to_string().replace("/", ".")
    path = directory / f"{context.run_id}__{name}__{context.attempt}__{uuid.uuid4().hex[:8]}"
    path.write_text(os.environ.get("HOSTNAME", ""))
