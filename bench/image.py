"""The step image of the cluster benchmarks: `hack/build-image` (kasset on the local Debian
base), then `bench/image/Dockerfile` on top (Dagster + dagster-k8s + the bench modules),
loaded into the local cluster. Tagged by content, so a rerun reuses it."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

__all__ = ["IMAGE_FILES", "build_bench_image"]

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
IMAGE_FILES = (
    "__init__.py",
    "shapes.py",
    "kasset_side.py",
    "dagster_side.py",
    "dagster_k8s_job.py",
)


def _ca_certs() -> str:
    return "".join(
        p.read_text() for p in sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
    )


def _dagster_pins() -> tuple[str, str]:
    """The exact Dagster versions of the bench venv: the host's orchestrator and the step
    pods must agree on the serialised run."""
    from importlib import metadata

    return (
        f"dagster=={metadata.version('dagster')}",
        f"dagster-k8s=={metadata.version('dagster-k8s')}",
    )


def build_bench_image(log: Path) -> str:
    """Builds (or reuses) and loads the image; returns its reference."""
    with log.open("ab") as out:
        kasset_image = (
            subprocess.run(
                [str(REPO_ROOT / "hack/build-image")],
                stdout=subprocess.PIPE,
                stderr=out,
                check=True,
            )
            .stdout.decode()
            .strip()
            .splitlines()[-1]
        )
        pins = _dagster_pins()
        digest = hashlib.sha256(kasset_image.encode())
        digest.update(" ".join(pins).encode())
        for name in ("image/Dockerfile", *IMAGE_FILES):
            digest.update((BENCH_DIR / name).read_bytes())
        tag = f"kasset-bench:{digest.hexdigest()[:12]}"
        have = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
        if have.returncode != 0:
            subprocess.run(
                [
                    "docker",
                    "build",
                    "--network",
                    "host",
                    "-f",
                    str(BENCH_DIR / "image/Dockerfile"),
                    "--build-arg",
                    f"KASSET_IMAGE={kasset_image}",
                    "--build-arg",
                    f"EXTRA_CA_CERTS={_ca_certs()}",
                    "-t",
                    tag,
                    str(BENCH_DIR),
                ],
                stdout=out,
                stderr=out,
                check=True,
            )
        for attempt in range(3):  # containerd's import has been seen to drop the stream
            loaded = subprocess.run(
                [str(REPO_ROOT / "hack/cluster"), "load-image", tag],
                stdout=out,
                stderr=out,
                check=False,
            )
            if loaded.returncode == 0:
                break
            if attempt == 2:
                raise RuntimeError(f"could not load {tag} into the cluster; see {log}")
    return tag
