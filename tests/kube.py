"""Tiny helpers for tests that talk to a real cluster through kubectl (stdlib only).

The `kube` fixture in tests/conftest.py returns a :class:`Kube`; everything here works with
any cluster (the local one from ``hack/cluster`` or whatever ``KUBECONFIG`` points at).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent
HACK_CLUSTER = REPO_ROOT / "hack" / "cluster"

T = TypeVar("T")


def read_versions() -> dict[str, str]:
    """KEY=value pins from hack/versions.env."""
    out: dict[str, str] = {}
    for raw in (REPO_ROOT / "hack" / "versions.env").read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip().strip('"')
    return out


def cache_dir() -> Path:
    if os.environ.get("KASSET_CACHE"):
        return Path(os.environ["KASSET_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kasset"


def cached_kubectl() -> Path:
    return cache_dir() / "k8s" / read_versions()["K8S_VERSION"] / "bin" / "kubectl"


def state_dir() -> Path:
    return Path(os.environ.get("KASSET_STATE", "/var/lib/kasset-cluster"))


def local_kubeconfig() -> Path:
    return state_dir() / "admin.kubeconfig"


def base_image() -> str:
    return read_versions()["BASE_IMAGE"]


class KubectlError(RuntimeError):
    pass


@dataclass
class Kube:
    """Handle on the cluster under test."""

    kubeconfig: str
    local: bool
    tier: str  # "full", "control-plane" (local tiers) or "external"
    kubectl_bin: str = field(default="kubectl")

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster (text mode). Raises KubectlError if check fails."""
        cmd = [self.kubectl_bin, "--kubeconfig", self.kubeconfig, *args]
        proc = subprocess.run(
            cmd, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise KubectlError(
                f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        return proc

    # -- conveniences -------------------------------------------------------------------

    def apply(
        self, manifest: str | dict[str, Any] | list[dict[str, Any]], namespace: str | None = None
    ) -> None:
        if not isinstance(manifest, str):
            items = manifest if isinstance(manifest, list) else [manifest]
            manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
        ns = ["-n", namespace] if namespace else []
        self.kubectl("apply", *ns, "-f", "-", input=manifest)

    def get_json(self, *args: str, namespace: str | None = None) -> Any:
        ns = ["-n", namespace] if namespace else []
        return json.loads(self.kubectl("get", *ns, *args, "-o", "json").stdout)

    def wait_pod_phase(
        self,
        name: str,
        namespace: str,
        phases: tuple[str, ...] = ("Succeeded",),
        timeout: float = 120,
    ) -> str:
        """Wait until the pod is in one of `phases` (fails fast on Failed unless expected)."""

        def phase() -> str | None:
            p = self.kubectl(
                "get", "pod", name, "-n", namespace, "-o", "jsonpath={.status.phase}", check=False
            ).stdout.strip()
            if p in phases:
                return p
            if p == "Failed":
                raise AssertionError(
                    f"pod {namespace}/{name} Failed:\n{self.describe_pod(name, namespace)}"
                )
            return None

        return wait_until(
            phase,
            timeout,
            f"pod {namespace}/{name} to reach {phases}",
            on_timeout=lambda: self.describe_pod(name, namespace),
        )

    def wait_pod_ready(self, name: str, namespace: str, timeout: float = 120) -> None:
        proc = self.kubectl(
            "wait",
            "-n",
            namespace,
            "--for=condition=Ready",
            f"pod/{name}",
            f"--timeout={int(timeout)}s",
            check=False,
            timeout=timeout + 30,
        )
        if proc.returncode != 0:
            raise AssertionError(
                f"pod {namespace}/{name} not Ready after {timeout}s: {proc.stderr}\n"
                f"{self.describe_pod(name, namespace)}"
            )

    def describe_pod(self, name: str, namespace: str) -> str:
        return self.kubectl("describe", "pod", name, "-n", namespace, check=False).stdout[-3000:]

    def logs(self, name: str, namespace: str, *args: str) -> str:
        return self.kubectl("logs", name, "-n", namespace, *args).stdout


def wait_until(
    fn: Callable[[], T | None],
    timeout: float,
    what: str,
    interval: float = 0.5,
    on_timeout: Callable[[], str] | None = None,
) -> T:
    """Poll `fn` until it returns something truthy; raise TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while True:
        try:
            value = fn()
            if value:
                return value
        except (KubectlError, subprocess.TimeoutExpired) as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            extra = on_timeout() if on_timeout else ""
            raise TimeoutError(
                f"timed out after {timeout}s waiting for {what}; last error: {last_exc}\n{extra}"
            )
        time.sleep(interval)


def find_kubectl(local: bool) -> str:
    if local or not shutil.which("kubectl"):
        k = cached_kubectl()
        if k.exists():
            return str(k)
    found = shutil.which("kubectl")
    if not found:
        raise RuntimeError("kubectl not found on PATH (and no cached local build)")
    return found
