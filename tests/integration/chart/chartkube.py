"""Helpers of the chart's integration tests: the local cluster's environment, kubectl and
helm with that environment, throw-away namespaces."""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "kasset"


class CommandError(Exception):
    """A command exited non-zero; the message has its command line, stderr and stdout."""


def cluster_env() -> tuple[dict[str, str], str] | None:
    """(environment with KUBECONFIG and PATH, tier) when `hack/cluster status` says up, else None.

    KUBECONFIG already set in the environment (e.g. kind) wins when KASSET_USE_CONTEXT=1.
    """
    if os.environ.get("KASSET_USE_CONTEXT") == "1":
        return dict(os.environ), "full"
    status = subprocess.run(
        [str(REPO / "hack/cluster"), "status"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if status.returncode != 0:
        return None
    m = re.search(r"tier=(\S+)", status.stdout)
    tier = m.group(1) if m else "unknown"
    out = subprocess.run(
        [str(REPO / "hack/cluster"), "env"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    env = dict(os.environ)
    for line in out.splitlines():
        m = re.match(r"export (\w+)=(.*)$", line.strip())
        if m:
            env[m.group(1)] = m.group(2).replace("$PATH", os.environ.get("PATH", ""))
    return env, tier


@dataclass
class Kube:
    """kubectl and helm against one cluster."""

    env: dict[str, str]
    helm_bin: str
    tier: str
    home: Path
    created_namespaces: list[str] = field(default_factory=list)

    def run(
        self, cmd: list[str], *, input: str | None = None, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            cmd,
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise CommandError(f"{' '.join(cmd)}\n{proc.stderr}\n{proc.stdout}")
        return proc

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 300
    ) -> str:
        return self.run(["kubectl", *args], input=input, check=check, timeout=timeout).stdout

    def helm(self, *args: str, check: bool = True, timeout: float = 600) -> str:
        proc = self.run([self.helm_bin, *args], check=check, timeout=timeout)
        return proc.stdout

    def get(
        self,
        kind: str,
        name: str | None = None,
        namespace: str | None = None,
        selector: str | None = None,
    ) -> Any:
        args = ["get", kind, "-o", "yaml"]
        if name:
            args.insert(2, name)
        if namespace:
            args += ["-n", namespace]
        if selector:
            args += ["-l", selector]
        return yaml.safe_load(self.kubectl(*args))

    def exists(self, kind: str, name: str, namespace: str | None = None) -> bool:
        args = ["get", kind, name, "--ignore-not-found", "-o", "name"]
        if namespace:
            args += ["-n", namespace]
        return bool(self.kubectl(*args).strip())

    def new_namespace(self, prefix: str = "kasset-chart") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.kubectl("create", "namespace", name)
        self.kubectl("label", "namespace", name, "kasset.io/test=chart")
        self.created_namespaces.append(name)
        return name

    def cleanup(self) -> None:
        for ns in self.created_namespaces:
            self.kubectl(
                "delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False
            )
        self.created_namespaces.clear()


def wait_until(
    what: str, predicate: Callable[[], Any], timeout: float = 120, interval: float = 0.5
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def helm_binary() -> str:
    """$KASSET_HELM, else the path hack/helm prints (building helm on first use)."""
    if os.environ.get("KASSET_HELM"):
        return os.environ["KASSET_HELM"]
    out = subprocess.run(
        [str(REPO / "hack/helm")], capture_output=True, text=True, timeout=900, check=False
    )
    if out.returncode != 0:
        raise CommandError(f"hack/helm failed:\n{out.stderr[-4000:]}")
    return out.stdout.strip().splitlines()[-1]


def hostpath_release(
    kube: Kube, release: str, ns: str, add_finalizer: Callable[[Callable[[], None]], None]
) -> Path:
    """A directory for the release's hostPath storage volume (`storage.hostPath`), writable
    by step pods (uid 1000; hostPath ignores fsGroup); the release, its claim and volume
    are removed after the test."""
    from operator_harness import VOLUMES_ROOT

    volume = VOLUMES_ROOT / f"chart-{ns}"
    volume.mkdir(parents=True, exist_ok=True)
    os.chmod(volume, 0o1777)

    def cleanup() -> None:
        kube.helm("uninstall", release, "-n", ns, "--wait", "--ignore-not-found", check=False)
        kube.kubectl("delete", "pvc", "--all", "-n", ns, "--wait=false", check=False)
        pv = f"{release}-{ns}-storage"
        kube.kubectl("delete", "pv", pv, "--ignore-not-found", "--wait=false", check=False)

    add_finalizer(cleanup)
    return volume
