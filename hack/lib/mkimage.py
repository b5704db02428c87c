#!/usr/bin/env python3
"""Write a `docker save`-format image archive from a root filesystem tarball (stdlib only).

    mkimage.py --rootfs ROOTFS.tar --tag NAME:TAG --out IMAGE.tar \
        [--entrypoint JSON] [--cmd JSON] [--env K=V ...] [--workdir DIR]

The archive loads with `docker load` and `ctr -n k8s.io images import`, so neither a registry
nor a running Docker engine is needed to get an image into the cluster.
"""

import argparse
import datetime
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rootfs", required=True, help="uncompressed tar of the root filesystem")
    ap.add_argument("--tag", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--entrypoint", type=json.loads)
    ap.add_argument("--cmd", type=json.loads)
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--workdir", default="/")
    a = ap.parse_args()

    diff_id = sha256_file(a.rootfs)
    created = datetime.datetime.fromtimestamp(
        os.stat(a.rootfs).st_mtime, datetime.timezone.utc
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    cfg = {"Env": a.env, "WorkingDir": a.workdir}
    if a.entrypoint is not None:
        cfg["Entrypoint"] = a.entrypoint
    if a.cmd is not None:
        cfg["Cmd"] = a.cmd
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
        "history": [{"created": created, "created_by": "kasset hack/lib/mkimage.py"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_id = hashlib.sha256(config_bytes).hexdigest()
    manifest = [
        {"Config": config_id + ".json", "RepoTags": [a.tag], "Layers": [diff_id + "/layer.tar"]}
    ]
    repositories = {a.tag.rsplit(":", 1)[0]: {a.tag.rsplit(":", 1)[1]: diff_id}}

    tmp = a.out + ".tmp"
    with tarfile.open(tmp, "w") as out:

        def add_bytes(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            out.addfile(ti, io.BytesIO(data))

        d = tarfile.TarInfo(diff_id)
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        out.addfile(d)
        out.add(a.rootfs, arcname=diff_id + "/layer.tar")
        add_bytes(config_id + ".json", config_bytes)
        add_bytes("manifest.json", json.dumps(manifest).encode())
        add_bytes("repositories", json.dumps(repositories).encode())
    os.replace(tmp, a.out)
    print(a.out)


if __name__ == "__main__":
    main()
