"""Shared helpers for tests that run `kasset operator` as a host process against a real
cluster: the operator process itself, CRDs, hostPath storage for step pods, the e2e test
image, and waiting on Materializations.

Used by tests/e2e/operator (real pods). Stdlib + kasset only; kubectl through `kube.Kube`.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import time
import types
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kube import REPO_ROOT, Kube, KubectlError, wait_until

SECRET = "e2e-operator-secret"
#: Pods reach host processes through the CNI bridge gateway (docs/cluster.md).
HOST_FROM_PODS = os.environ.get("KASSET_TEST_HOST_IP", "10.244.0.1")
CRDS = REPO_ROOT / "crds"
ARTIFACTS = REPO_ROOT / "artifacts" / "e2e-operator"
E2E_IMAGE_SCRIPT = REPO_ROOT / "hack" / "e2e-image"
PROJECTS = REPO_ROOT / "tests" / "e2e" / "projects"
PROJECTS_PACKAGE = "e2e_projects"  # the name hack/e2e-image gives tests/e2e/projects
STORAGE_CLAIM = "kasset-storage"
VOLUMES_ROOT = Path(os.environ.get("KASSET_STATE", "/var/lib/kasset-cluster")) / "volumes"
PSA_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unused_port_on(host: str) -> int:
    """A port on `host` with nothing listening (for an unreachable event URL)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) != 0:
                return port
    raise RuntimeError(f"no unused port found on {host}")


# -- the operator ----------------------------------------------------------------------------


@dataclass
class OperatorProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    event_url: str | None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, timeout: float = 10) -> str:
        with urllib.request.urlopen(self.url(path), timeout=timeout) as response:
            return str(response.read().decode())

    def metrics(self) -> str:
        return self.get("/metrics")

    def tail(self, chars: int = 6000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError as exc:
            return f"(no operator log: {exc})"

    @property
    def instance(self) -> str:
        """How this operator signs its Kubernetes Events (`reportingInstance`)."""
        return f"{socket.gethostname()}-{self.process.pid}"

    def alive(self) -> bool:
        return self.process.poll() is None


@contextmanager
def operator(
    kubeconfig: str,
    namespace: str,
    *extra: str,
    event_url: str | bool | None = True,
    log_name: str | None = None,
) -> Iterator[OperatorProcess]:
    """`kasset operator` watching `namespace`, as a host process; yields once /readyz answers
    and stops it with SIGTERM. `event_url=True`: this process's own ingest endpoint as pods
    see it; a string: that URL; None/False: no event URL at all."""
    port = free_port()
    if event_url is True:
        url: str | None = f"http://{HOST_FROM_PODS}:{port}/api/v1/events"
    else:
        url = event_url or None
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / f"{log_name or namespace}.operator.log"
    env = {**os.environ, "KUBECONFIG": kubeconfig, "KASSET_EVENT_SECRET": SECRET}
    for inherited in ("KASSET_EVENT_URL", "POD_NAME", "POD_NAMESPACE"):
        env.pop(inherited, None)
    args = [
        sys.executable,
        "-m",
        "kasset.operator",
        "--namespace",
        namespace,
        "--no-leader-election",
        "--port",
        str(port),
        *(["--event-url", url] if url else []),
        *os.environ.get("KASSET_E2E_OPERATOR_ARGS", "").split(),
        *extra,
    ]
    with log.open("wb") as out:
        out.write(f"$ {' '.join(args)}\n".encode())
        out.flush()
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    handle = OperatorProcess(process, port, log, url)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"the operator exited ({process.returncode}):\n{handle.tail()}"
                )
            try:
                with urllib.request.urlopen(handle.url("/readyz"), timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the operator never became ready:\n{handle.tail()}")
            time.sleep(0.2)
        yield handle
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _watches_everything(args: list[str]) -> bool:
    if "operator" not in args:
        return False
    return not any(a in ("-n", "--namespace") or a.startswith("--namespace=") for a in args)


def cluster_wide_operators(kube: Kube) -> list[str]:
    """Other `kasset operator`s watching every namespace: pods (e.g. a chart test's
    Deployment) and host processes. They would reconcile our test namespaces as well."""
    found: list[str] = []
    for pod in kube.get_json("pods", "-A")["items"]:
        if pod["status"].get("phase") not in ("Pending", "Running"):
            continue
        for container in pod["spec"].get("containers", []):
            args = [*container.get("command", []), *container.get("args", [])]
            if "kasset" in container.get("image", "") and _watches_everything(args):
                found.append(f"pod {pod['metadata']['namespace']}/{pod['metadata']['name']}")
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        joined = " ".join(args)
        if ("kasset.operator" in joined or "bin/kasset operator" in joined) and _watches_everything(
            [a for a in args if a] + (["operator"] if "kasset.operator" in joined else [])
        ):
            found.append(f"process {proc.name}: {joined[:160]}")
    return found


def install_crds(kube: Kube) -> None:
    for crd in sorted(CRDS.glob("*.yaml")):
        kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd))
    for name in ("assetgraphs", "assets", "materializations"):
        kube.kubectl(
            "wait", "--for=condition=Established", f"crd/{name}.kasset.io", "--timeout=60s"
        )


# -- the test image --------------------------------------------------------------------------


def e2e_image(timeout: float = 1800) -> str:
    """`hack/e2e-image`: builds (if its content hash is new) and loads the test image;
    `$KASSET_E2E_IMAGE` names one already in the cluster instead."""
    given = os.environ.get("KASSET_E2E_IMAGE")
    if given:
        return given
    proc = subprocess.run(
        [str(E2E_IMAGE_SCRIPT)], capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"hack/e2e-image failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout.strip().splitlines()[-1]


# -- storage -------------------------------------------------------------------------------


@dataclass
class HostPathStorage:
    """A hostPath PersistentVolume pre-bound to `<namespace>/kasset-storage`, and that claim.
    The local cluster has no dynamic provisioner, and hostPath cannot be recycled: the PV
    is Retain and deleted (with its directory) by `delete()`."""

    kube: Kube
    namespace: str
    directory: Path = field(init=False)
    pv_name: str = field(init=False)

    def __post_init__(self) -> None:
        self.directory = VOLUMES_ROOT / self.namespace
        self.pv_name = f"kasset-e2e-{self.namespace}"[:253]

    def create(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o1777)  # step pods run as uid 1000; fsGroup skips hostPath
        self.kube.apply(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": self.pv_name, "labels": {"kasset.io/test": "true"}},
                "spec": {
                    "capacity": {"storage": "1Gi"},
                    "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": "",
                    "volumeMode": "Filesystem",
                    "hostPath": {"path": str(self.directory), "type": "Directory"},
                    "claimRef": {"namespace": self.namespace, "name": STORAGE_CLAIM},
                },
            }
        )
        self.kube.apply(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": STORAGE_CLAIM, "namespace": self.namespace},
                "spec": {
                    "accessModes": ["ReadWriteMany"],
                    "storageClassName": "",
                    "volumeName": self.pv_name,
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        )
        wait_until(
            lambda: (
                self.kube.kubectl(
                    "get",
                    "pvc",
                    STORAGE_CLAIM,
                    "-n",
                    self.namespace,
                    "-o",
                    "jsonpath={.status.phase}",
                ).stdout.strip()
                == "Bound"
            ),
            60,
            f"PVC {self.namespace}/{STORAGE_CLAIM} Bound",
        )

    def delete(self) -> None:
        k = self.kube
        try:
            k.kubectl(
                "delete",
                "pods",
                "--all",
                "-n",
                self.namespace,
                "--grace-period=0",
                "--force",
                "--wait=false",
                check=False,
                timeout=60,
            )
            k.kubectl(
                "delete",
                "pvc",
                STORAGE_CLAIM,
                "-n",
                self.namespace,
                "--ignore-not-found",
                "--timeout=60s",
                check=False,
                timeout=90,
            )
            k.kubectl(
                "delete",
                "pv",
                self.pv_name,
                "--ignore-not-found",
                "--wait=false",
                check=False,
                timeout=60,
            )
        except (KubectlError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.directory, ignore_errors=True)

    def path(self, asset_key: str, partition: str | None = None) -> Path:
        """The stored value's path (without suffix) of `asset_key` on the host."""
        return self.directory.joinpath(*asset_key.split("/"), partition or "__all__")

    def read(self, asset_key: str, partition: str | None = None) -> Any:
        base = self.path(asset_key, partition)
        pkl, parquet = base.with_name(base.name + ".pkl"), base.with_name(base.name + ".parquet")
        if pkl.exists():
            with pkl.open("rb") as f:
                return pickle.load(f)
        if parquet.exists():
            import pandas

            return pandas.read_parquet(parquet)
        raise FileNotFoundError(f"no stored value at {base}(.pkl|.parquet)")


def restrict_namespace(kube: Kube, namespace: str) -> None:
    """Pod Security `restricted`, enforced: every step pod must pass it to be admitted."""
    kube.kubectl(
        "label", "namespace", namespace, "--overwrite", *(f"{k}={v}" for k, v in PSA_LABELS.items())
    )


def restricted_violations(kube: Kube, namespace: str) -> str:
    """Pod Security warnings for the namespace's existing pods under `restricted`: a
    server-side dry run of re-labelling it makes the API server check every pod."""
    proc = kube.kubectl(
        "label",
        "--dry-run=server",
        "--overwrite",
        "namespace",
        namespace,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/enforce-version=v1.34",
    )
    return "\n".join(line for line in proc.stderr.splitlines() if "violat" in line.lower())


# -- projects and graphs ---------------------------------------------------------------------


def load_project(module: str) -> types.ModuleType:
    """Imports `examples.x.y` or `e2e_projects.x` on the host under the name the pod uses."""
    if module.split(".", maxsplit=1)[0] == PROJECTS_PACKAGE and PROJECTS_PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            PROJECTS_PACKAGE, PROJECTS / "__init__.py", submodule_search_locations=[str(PROJECTS)]
        )
        assert spec and spec.loader
        package = importlib.util.module_from_spec(spec)
        sys.modules[PROJECTS_PACKAGE] = package
        spec.loader.exec_module(package)
    if str(REPO_ROOT) not in sys.path:
        sys.path.append(str(REPO_ROOT))  # for `examples`
    return importlib.import_module(module)


def compile_graph(
    module: str,
    attribute: str,
    *,
    image: str,
    name: str,
    namespace: str,
    secret_env: dict[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    from kasset.compiler import compile_definitions

    defs = getattr(load_project(module), attribute)
    resource = compile_definitions(
        defs,
        image=image,
        module=module,
        attribute=attribute,
        name=name,
        namespace=namespace,
        storage_claim=STORAGE_CLAIM,
        secret_env=secret_env,
    )
    return dict(resource.to_dict())


def apply_server_side(kube: Kube, manifest: dict[str, Any] | list[dict[str, Any]]) -> None:
    items = manifest if isinstance(manifest, list) else [manifest]
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    kube.kubectl("apply", "--server-side", "--field-manager", "kasset-e2e", "-f", "-", input=body)


def materialization(
    name: str, graph: str, namespace: str, selection: str = "*", **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "kasset.io/v1alpha1",
        "kind": "Materialization",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"graph": graph, "selection": selection, "launchedBy": "e2e", **spec},
    }


def get_status(kube: Kube, namespace: str, kind: str, name: str) -> dict[str, Any]:
    return dict(kube.get_json(kind, name, namespace=namespace).get("status") or {})


def wait_run(
    kube: Kube,
    namespace: str,
    name: str,
    phases: tuple[str, ...] = ("Succeeded",),
    timeout: float = 180,
    final: tuple[str, ...] = ("Succeeded", "Failed", "Canceled"),
    diagnose: Any = None,
    guard: Any = None,
) -> dict[str, Any]:
    """Polls the Materialization until its phase is one of `phases`; fails early when it
    reaches another final phase, or when `guard()` raises (operator gone, namespace gone).
    Returns its status."""
    last: dict[str, Any] = {}

    def check() -> dict[str, Any] | None:
        nonlocal last
        if guard is not None:
            guard()
        last = get_status(kube, namespace, "materializations", name)
        phase = last.get("phase")
        if phase in phases:
            return last
        if phase in final:
            extra = diagnose() if diagnose else ""
            raise AssertionError(
                f"Materialization {name} ended {phase}, expected {phases}:\n"
                f"{json.dumps(last, indent=1)}\n{extra}"
            )
        return None

    return wait_until(
        check,
        timeout,
        f"Materialization {namespace}/{name} to be {phases}",
        interval=0.25,
        on_timeout=lambda: json.dumps(last, indent=1) + "\n" + (diagnose() if diagnose else ""),
    )


def pods(kube: Kube, namespace: str) -> list[dict[str, Any]]:
    return list(kube.get_json("pods", namespace=namespace)["items"])


def metric_samples(text: str, name: str) -> dict[str, float]:
    """`{sample line's name+labels: value}` of one metric family from /metrics text."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def histogram_quantile(text: str, name: str, q: float) -> float | None:
    """Prometheus-style quantile (linear within the bucket) of `name`, all series summed."""
    buckets: dict[float, float] = {}
    for key, value in metric_samples(text, f"{name}_bucket").items():
        le = key.split('le="', 1)[1].split('"', 1)[0]
        bound = float("inf") if le == "+Inf" else float(le)
        buckets[bound] = buckets.get(bound, 0.0) + value
    if not buckets:
        return None
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total == 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower
            width = count - below
            return lower + (bound - lower) * ((rank - below) / width if width else 1.0)
        lower, below = bound, count
    return lower
