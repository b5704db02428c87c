"""The kasset image: it builds, stays small, starts fast as uid 1000, keeps the runtime free
of operator dependencies, and runs under Pod Security `restricted` with a read-only root.

The image is built with ``hack/build-image`` (Docker's layer cache makes a rebuild take
seconds) unless ``KASSET_TEST_IMAGE`` names one already available to Docker and the cluster.
Measurements (size, start-up) are printed and attached to the test report as properties.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kube import HACK_CLUSTER, REPO_ROOT, Kube

pytestmark = pytest.mark.cluster

BUILD_IMAGE = REPO_ROOT / "hack" / "build-image"
USER_IMAGE_DIR = REPO_ROOT / "examples" / "user-image"
OPERATOR_ONLY_MODULES = (
    "kopf",
    "kubernetes",
    "fastapi",
    "starlette",
    "uvicorn",
    "prometheus_client",
    "jinja2",
    "aiohttp",
)
MAX_IMAGE_BYTES = 600_000_000  # 390 MB measured; the kubernetes client alone is ~128 MB
MAX_CODE_LAYER_BYTES = 10_000_000
RecordProperty = Callable[[str, object], None]


def docker(
    *args: str, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def _docker_or_skip() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker client")
    if docker("version", check=False, timeout=30).returncode != 0:
        if os.geteuid() != 0:
            pytest.skip("no Docker engine reachable (and not root to start one)")
        subprocess.run(
            [str(HACK_CLUSTER), "docker", "start"], check=True, timeout=600, capture_output=True
        )


@pytest.fixture(scope="session")
def image() -> str:
    """The image under test, as Docker knows it."""
    _docker_or_skip()
    given = os.environ.get("KASSET_TEST_IMAGE")
    if given:
        return given
    proc = subprocess.run(
        [str(BUILD_IMAGE)], capture_output=True, text=True, timeout=1800, check=False
    )
    assert proc.returncode == 0, f"hack/build-image failed:\n{proc.stderr[-4000:]}"
    return proc.stdout.strip().splitlines()[-1]


def _load_into_cluster(kube: Kube, ref: str) -> None:
    if os.environ.get("KASSET_TEST_IMAGE"):
        return  # the caller made it available to the cluster
    if not kube.local:
        pytest.skip("set KASSET_TEST_IMAGE to an image the external cluster can pull")
    errors = []
    for _ in range(2):  # one retry: containerd imports racing with other sessions can fail
        proc = subprocess.run(
            [str(HACK_CLUSTER), "load-image", ref],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if proc.returncode == 0:
            return
        errors.append(proc.stderr[-2000:])
    raise AssertionError(f"hack/cluster load-image {ref} failed:\n" + "\n---\n".join(errors))


@pytest.fixture(scope="session")
def cluster_image(kube: Kube, image: str) -> str:
    """The image, imported into the cluster's container runtime."""
    _load_into_cluster(kube, image)
    return image


@pytest.fixture(scope="session")
def user_image(kube: Kube, image: str) -> str:
    """examples/user-image built on the image under test, imported into the cluster."""
    if os.environ.get("KASSET_TEST_IMAGE"):
        pytest.skip("building the example on a given image needs it pushed somewhere")
    ref = f"kasset-user-example:{image.rsplit(':', 1)[1]}"
    docker(
        "build",
        "--network",
        "host",
        "--build-arg",
        f"KASSET_IMAGE={image}",
        "-t",
        ref,
        str(USER_IMAGE_DIR),
    )
    _load_into_cluster(kube, ref)
    return ref


def measure(record_property: RecordProperty, name: str, value: object) -> None:
    record_property(name, value)
    print(f"\n[measure] {name} = {value}")


# ---- the image as Docker runs it ---------------------------------------------------------


def test_the_image_is_tagged_with_a_version_never_latest(image: str) -> None:
    if os.environ.get("KASSET_TEST_IMAGE"):
        pytest.skip("tag chosen by the caller")
    assert re.fullmatch(r"kasset:\d+\.\d+\.\d+[^:]*-dev\.[0-9a-f]{12}", image), image


def test_runtime_help_works_and_starts_fast_on_a_read_only_root(
    image: str, record_property: RecordProperty
) -> None:
    proc = docker("run", "--rm", "--read-only", image, "runtime", "--help")
    assert "KASSET_RUN" in proc.stdout

    # Timed inside the container, so Docker's own start-up is not counted.
    script = (
        "import subprocess, time\n"
        "times = []\n"
        "for _ in range(5):\n"
        "    start = time.perf_counter()\n"
        "    subprocess.run(['kasset', 'runtime', '--help'], capture_output=True, check=True)\n"
        "    times.append(time.perf_counter() - start)\n"
        "print(sorted(times)[len(times) // 2])\n"
    )
    timed = docker("run", "--rm", "--read-only", "--entrypoint", "python", image, "-c", script)
    median = float(timed.stdout.strip())
    measure(record_property, "runtime_help_seconds_median", round(median, 3))
    assert median < 3.0


def test_the_image_runs_as_uid_1000_from_its_home(image: str) -> None:
    config = json.loads(docker("image", "inspect", image).stdout)[0]["Config"]
    assert config["User"] == "1000:1000"  # numeric: kubelet can check runAsNonRoot
    assert config["WorkingDir"] == "/home/kasset"
    assert config["Entrypoint"] == ["kasset"]
    assert config["Cmd"] == ["operator"]

    ids = docker("run", "--rm", "--entrypoint", "id", image).stdout
    assert ids.startswith("uid=1000(kasset) gid=1000(kasset)")


def test_importing_the_runtime_pulls_in_no_operator_or_ui_dependency(image: str) -> None:
    script = (
        "import sys, kasset, kasset.runtime.main\n"
        f"print(sorted(m for m in {OPERATOR_ONLY_MODULES!r} if m in sys.modules))\n"
    )
    proc = docker("run", "--rm", "--read-only", "--entrypoint", "python", image, "-c", script)
    assert proc.stdout.strip() == "[]"


def test_the_image_has_the_operator_extras_but_not_pandas(image: str) -> None:
    script = (
        "import importlib.util as u\n"
        "print([m for m in ('kopf', 'fastapi', 'uvicorn', 'prometheus_client', 'jinja2',"
        " 'pandas', 'pyarrow') if u.find_spec(m)])\n"
    )
    proc = docker("run", "--rm", "--entrypoint", "python", image, "-c", script)
    assert proc.stdout.strip() == "['kopf', 'fastapi', 'uvicorn', 'prometheus_client', 'jinja2']"


def test_the_image_is_small_and_kasset_is_its_own_thin_layer(
    image: str, record_property: RecordProperty
) -> None:
    size = int(docker("image", "inspect", "-f", "{{.Size}}", image).stdout)
    layers = [
        int(line)
        for line in docker(
            "history", "--human=false", "--format", "{{.Size}}", image
        ).stdout.split()
        if line != "0"
    ]
    measure(record_property, "image_bytes", size)
    measure(record_property, "code_layer_bytes", layers[0])
    assert size < MAX_IMAGE_BYTES
    # The newest non-empty layer is kasset itself: a code change ships only this much.
    assert layers[0] < MAX_CODE_LAYER_BYTES


# ---- the image in the cluster ------------------------------------------------------------


def restricted_pod(
    name: str,
    image: str,
    args: list[str],
    *,
    command: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A pod as the operator makes step pods: everything Pod Security `restricted` asks for,
    plus a read-only root filesystem and no service account token."""
    container: dict[str, Any] = {
        "name": "main",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
    }
    if command is not None:
        container["command"] = command
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
            "volumes": [{"name": "scratch", "emptyDir": {}}],
        },
    }


def enforce_restricted(kube: Kube, namespace: str) -> None:
    kube.kubectl(
        "label",
        "namespace",
        namespace,
        "--overwrite",
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/enforce-version=latest",
    )
    # Prove the policy is enforced: a pod without the restricted settings is rejected.
    lax = restricted_pod(f"lax-{secrets.token_hex(3)}", "kasset-base:bookworm-py311", ["true"])
    del lax["spec"]["securityContext"], lax["spec"]["containers"][0]["securityContext"]
    proc = kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(lax), check=False)
    assert proc.returncode != 0 and "PodSecurity" in proc.stderr, proc.stderr


def run_pod(kube: Kube, namespace: str, pod: dict[str, Any], timeout: float = 180) -> float:
    """Creates the pod, waits for it to succeed, and returns the seconds that took."""
    start = time.monotonic()
    kube.apply(pod, namespace=namespace)
    kube.wait_pod_phase(pod["metadata"]["name"], namespace, timeout=timeout)
    return time.monotonic() - start


def test_the_image_runs_under_pod_security_restricted_with_a_read_only_root(
    kube: Kube, namespace: str, cluster_image: str, record_property: RecordProperty
) -> None:
    enforce_restricted(kube, namespace)
    script = (
        "import os, sys, kasset, kasset.runtime.main\n"
        "print('version', kasset.__version__, 'uid', os.getuid())\n"
        f"print('operator modules', sorted(m for m in {OPERATOR_ONLY_MODULES!r}"
        " if m in sys.modules))\n"
    )
    pod = restricted_pod("import-check", cluster_image, ["-c", script], command=["python"])

    seconds = run_pod(kube, namespace, pod)

    logs = kube.logs("import-check", namespace)
    assert "version 0.1.0 uid 1000" in logs
    assert "operator modules []" in logs
    measure(record_property, "pod_created_to_succeeded_seconds", round(seconds, 2))


def test_the_runtime_runs_a_step_of_a_user_image_in_a_restricted_pod(
    kube: Kube, namespace: str, user_image: str, record_property: RecordProperty
) -> None:
    enforce_restricted(kube, namespace)
    env = {
        "KASSET_RUN": "image-test",
        "KASSET_STEP": "numbers",
        "KASSET_ATTEMPT": "1",
        "KASSET_CODE": "my_assets.definitions:defs",
        "KASSET_STORAGE_URI": "file:///scratch/storage",
    }
    pod = restricted_pod("step", user_image, ["runtime"], env=env)

    seconds = run_pod(kube, namespace, pod)

    status = kube.get_json("pod", "step", namespace=namespace)["status"]
    message = status["containerStatuses"][0]["state"]["terminated"].get("message", "")
    outcome = json.loads(message)
    assert [e["type"] for e in outcome["events"]][-1] == "STEP_SUCCEEDED", message
    measure(record_property, "step_pod_created_to_succeeded_seconds", round(seconds, 2))
