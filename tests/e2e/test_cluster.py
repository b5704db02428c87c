"""Behaviour of the test cluster itself (hack/cluster, issue 2).

Runs against the local cluster (brought up by the `kube` fixture) or any cluster named by
KUBECONFIG; tests that depend on local-only features (the locally built base image,
`hack/cluster` subcommands) are skipped on external clusters.

The down/up cycle test is marked `disruptive`: it empties the shared cluster, so `make test`
runs it alone, after every other test (`-m disruptive`).
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from kube import HACK_CLUSTER, Kube, base_image, cache_dir, state_dir, wait_until

pytestmark = pytest.mark.cluster

# Any image with python3 (and `sleep`); on kind e.g. KASSET_TEST_PY_IMAGE=python:3.11-slim.
PY_IMAGE = os.environ.get("KASSET_TEST_PY_IMAGE") or base_image()


def _pod(
    name: str,
    command: list[str],
    *,
    restart: str = "Never",
    labels: dict[str, str] | None = None,
    image: str = PY_IMAGE,
    security: dict | None = None,
) -> dict:
    container: dict = {
        "name": "main",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
    }
    if security is not None:
        container["securityContext"] = security
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "restartPolicy": restart,
            "terminationGracePeriodSeconds": 1,
            "containers": [container],
        },
    }


def _sleeper(
    kube: Kube, namespace: str, name: str = "sleeper", labels: dict[str, str] | None = None
) -> str:
    kube.apply(_pod(name, ["sleep", "3600"], restart="Always", labels=labels), namespace)
    kube.wait_pod_ready(name, namespace)
    return name


def _exec_py(kube: Kube, namespace: str, pod: str, code: str, timeout: float = 60) -> str:
    return kube.kubectl(
        "exec", "-n", namespace, pod, "--", "python3", "-c", code, timeout=timeout
    ).stdout


def _require_local(kube: Kube) -> None:
    if not kube.local:
        pytest.skip("needs the local hack/cluster cluster")


# --- control plane and node ---------------------------------------------------------------


def test_api_server_is_ready_and_serves_kubernetes_1_34(kube: Kube) -> None:
    assert kube.kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"
    version = json.loads(kube.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"].startswith("v1.34.")
    if kube.local:
        assert version["clientVersion"]["gitVersion"] == version["serverVersion"]["gitVersion"]


def test_node_is_ready(kube: Kube) -> None:
    nodes = kube.get_json("nodes")["items"]
    assert nodes, "no nodes registered"
    for node in nodes:
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
        assert ready == "True", node["metadata"]["name"]


# --- pods, logs, exec ---------------------------------------------------------------------


def test_pod_from_local_base_image_prints_42(kube: Kube, namespace: str) -> None:
    _require_local(kube)
    kube.apply(_pod("answer", ["python3", "-c", "print(42)"]), namespace)
    kube.wait_pod_phase("answer", namespace, ("Succeeded",))
    assert kube.logs("answer", namespace).strip() == "42"


def test_base_image_has_python_3_11_and_venv(kube: Kube, namespace: str) -> None:
    _require_local(kube)
    _sleeper(kube, namespace)
    out = _exec_py(
        kube,
        namespace,
        "sleeper",
        "import sys, venv, ensurepip, ssl; print('%d.%d' % sys.version_info[:2])",
    )
    assert out.strip() == "3.11"


def test_exec_runs_commands_in_a_running_pod(kube: Kube, namespace: str) -> None:
    _sleeper(kube, namespace)
    out = kube.kubectl(
        "exec", "-n", namespace, "sleeper", "--", "python3", "-c", "print(6 * 7)"
    ).stdout
    assert out.strip() == "42"
    # stdin is forwarded too
    out = kube.kubectl(
        "exec",
        "-i",
        "-n",
        namespace,
        "sleeper",
        "--",
        "python3",
        "-",
        input="print('from stdin')\n",
    ).stdout
    assert out.strip() == "from stdin"


def test_logs_follow_a_running_container(kube: Kube, namespace: str) -> None:
    kube.apply(
        _pod(
            "ticker",
            [
                "python3",
                "-c",
                "import time\nfor i in range(3): print('tick', i); time.sleep(0.2)\n"
                "time.sleep(3600)",
            ],
            restart="Always",
        ),
        namespace,
    )
    kube.wait_pod_ready("ticker", namespace)

    def ticked() -> str | None:
        out = kube.logs("ticker", namespace)
        return out if "tick 2" in out else None

    logs = wait_until(ticked, 30, "three ticks in the log")
    assert logs.splitlines()[:3] == ["tick 0", "tick 1", "tick 2"]


# --- networking ---------------------------------------------------------------------------


def test_clusterip_service_routes_to_a_pod(kube: Kube, namespace: str) -> None:
    kube.apply(
        _pod(
            "web", ["python3", "-m", "http.server", "8080"], restart="Always", labels={"app": "web"}
        ),
        namespace,
    )
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        namespace,
    )
    kube.wait_pod_ready("web", namespace)
    _sleeper(kube, namespace, "client")
    cluster_ip = kube.kubectl(
        "get", "svc", "web", "-n", namespace, "-o", "jsonpath={.spec.clusterIP}"
    ).stdout
    code = (
        "import sys, time, urllib.request\n"
        "for attempt in range(40):\n"
        "    try:\n"
        "        print(urllib.request.urlopen(sys.argv[1], timeout=3).status); break\n"
        "    except Exception as exc:\n"
        "        err = exc; time.sleep(0.5)\n"
        "else:\n"
        "    print('failed', err)\n"
    )
    for url in (
        f"http://{cluster_ip}/",
        f"http://web.{namespace}.svc.cluster.local/",
        "http://web/",
    ):
        out = kube.kubectl(
            "exec", "-n", namespace, "client", "--", "python3", "-c", code, url
        ).stdout
        assert out.strip() == "200", f"{url}: {out}"
    # hairpin: a pod reaching itself through its own service (FQDN: inside the pod, the bare
    # name "web" is its own hostname in /etc/hosts)
    out = kube.kubectl(
        "exec",
        "-n",
        namespace,
        "web",
        "--",
        "python3",
        "-c",
        code,
        f"http://web.{namespace}.svc.cluster.local/",
    ).stdout
    assert out.strip() == "200", out


def test_port_forward_reaches_a_pod(kube: Kube, namespace: str) -> None:
    kube.apply(_pod("web", ["python3", "-m", "http.server", "8080"], restart="Always"), namespace)
    kube.wait_pod_ready("web", namespace)
    proc = subprocess.Popen(
        [
            kube.kubectl_bin,
            "--kubeconfig",
            kube.kubeconfig,
            "port-forward",
            "-n",
            namespace,
            "pod/web",
            ":8080",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "Forwarding from 127.0.0.1:PORT -> 8080"
        assert "Forwarding from 127.0.0.1:" in line, line
        port = int(line.split("127.0.0.1:")[1].split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert resp.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_kubernetes_default_resolves_inside_a_pod(kube: Kube, namespace: str) -> None:
    _sleeper(kube, namespace)
    kubernetes_ip = kube.kubectl(
        "get", "svc", "kubernetes", "-n", "default", "-o", "jsonpath={.spec.clusterIP}"
    ).stdout
    out = _exec_py(
        kube,
        namespace,
        "sleeper",
        "import socket; print(socket.gethostbyname('kubernetes.default.svc.cluster.local'))",
    )
    assert out.strip() == kubernetes_ip


def test_pods_reach_the_api_server_with_their_service_account(kube: Kube, namespace: str) -> None:
    _sleeper(kube, namespace)
    code = (
        "import ssl, urllib.request, urllib.error\n"
        "d = '/var/run/secrets/kubernetes.io/serviceaccount/'\n"
        "ctx = ssl.create_default_context(cafile=d + 'ca.crt')\n"
        "req = urllib.request.Request('https://kubernetes.default.svc/api',"
        " headers={'Authorization': 'Bearer ' + open(d + 'token').read()})\n"
        "print(urllib.request.urlopen(req, context=ctx, timeout=10).status)\n"
    )
    assert _exec_py(kube, namespace, "sleeper", code).strip() == "200"


def test_dns_answers_only_cluster_names(kube: Kube, namespace: str) -> None:
    """CoreDNS forwards nothing: an outside name fails fast instead of leaving the machine."""
    _require_local(kube)
    _sleeper(kube, namespace)
    code = (
        "import socket, time\n"
        "t = time.monotonic()\n"
        "try:\n"
        "    socket.getaddrinfo('kasset-e2e-does-not-exist.example', 80); print('resolved')\n"
        "except socket.gaierror:\n"
        "    print('nxdomain', round(time.monotonic() - t, 1))\n"
    )
    verdict, seconds = _exec_py(kube, namespace, "sleeper", code).split()
    assert verdict == "nxdomain"
    assert float(seconds) < 5


def test_pods_have_no_default_route(kube: Kube, namespace: str) -> None:
    """Pods only get routes for the pod and service ranges (read from /proc, sends nothing)."""
    _require_local(kube)
    _sleeper(kube, namespace)
    routes = _exec_py(kube, namespace, "sleeper", "print(open('/proc/net/route').read())")
    destinations = [line.split()[1] for line in routes.splitlines()[1:] if line.strip()]
    assert destinations, routes
    assert "00000000" not in destinations, routes


def test_missing_images_are_never_pulled_from_outside(kube: Kube, namespace: str) -> None:
    """Every registry resolves to a closed loopback port: the pull fails locally, at once."""
    _require_local(kube)
    kube.apply(_pod("nopull", ["true"], image="registry.kasset-e2e.invalid/none:1"), namespace)

    def failed_pull() -> str | None:
        out = kube.kubectl(
            "get",
            "events",
            "-n",
            namespace,
            "--field-selector",
            "reason=Failed",
            "-o",
            "jsonpath={.items[*].message}",
        ).stdout
        return out or None

    message = wait_until(failed_pull, 60, "a failed pull event")
    assert "127.0.0.1:9" in message, message


# --- admission ----------------------------------------------------------------------------


def test_restricted_namespace_rejects_a_privileged_pod(kube: Kube, namespace: str) -> None:
    kube.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    proc = kube.kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        check=False,
        input=json.dumps(_pod("priv", ["sleep", "1"], security={"privileged": True})),
    )
    assert proc.returncode != 0
    assert "violates PodSecurity" in proc.stderr
    # ... while a compliant pod is admitted
    compliant = _pod(
        "ok",
        ["python3", "-c", "print('ok')"],
        security={
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    )
    kube.apply(compliant, namespace)
    if kube.local:
        kube.wait_pod_phase("ok", namespace, ("Succeeded",))


# --- harness commands (local only) --------------------------------------------------------


def _hack(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HACK_CLUSTER), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_status_reports_the_full_tier(kube: Kube) -> None:
    _require_local(kube)
    proc = _hack("status")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tier=full" in proc.stdout


def test_env_prints_kubeconfig_and_path(kube: Kube) -> None:
    _require_local(kube)
    out = _hack("env").stdout
    assert f"export KUBECONFIG={kube.kubeconfig}" in out.splitlines()
    assert str(Path(kube.kubectl_bin).parent) in out


def test_load_image_makes_a_docker_image_runnable(kube: Kube, namespace: str) -> None:
    _require_local(kube)
    if os.environ.get("KASSET_E2E_SKIP_DOCKER") == "1":
        pytest.skip("KASSET_E2E_SKIP_DOCKER=1")
    proc = _hack("docker")
    assert proc.returncode == 0, proc.stderr
    tag = "kasset-e2e/loaded:1"
    dockerfile = (
        f'FROM {PY_IMAGE}\nRUN echo \'print("loaded")\' > /hello.py\nCMD ["python3", "/hello.py"]\n'
    )
    build = subprocess.run(
        ["docker", "build", "--network", "host", "-t", tag, "-"],
        input=dockerfile,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    proc = _hack("load-image", tag)
    assert proc.returncode == 0, proc.stderr
    pod = _pod("loaded", ["python3", "/hello.py"], image=tag)
    pod["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    kube.apply(pod, namespace)
    kube.wait_pod_phase("loaded", namespace, ("Succeeded",))
    assert kube.logs("loaded", namespace).strip() == "loaded"


# --- down / up cycle (disruptive; opt-in) -------------------------------------------------


def _leftovers() -> list[str]:
    problems = []
    state = str(state_dir())
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if line.split()[4].startswith(state):
            problems.append(f"mount {line.split()[4]}")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    for line in links.splitlines():
        name = line.split(": ")[1].split("@")[0]
        if name == "cni0" or name.startswith("veth"):
            problems.append(f"link {name}")
    for table in ("filter", "nat", "mangle", "raw"):
        rules = subprocess.run(
            ["iptables", "-w", "-t", table, "-S"], capture_output=True, text=True, check=False
        ).stdout
        problems += [
            f"iptables {table}: {r}"
            for r in rules.splitlines()
            if any(c in r for c in ("KUBE-", "CNI-", "KASSET-"))
        ]
    # processes of ours: a cluster binary (or our supervisor) run with the state dir; clients
    # of the cluster that merely use its kubeconfig (kwok, operators, ...) don't count
    ours = (str(cache_dir()) + "/k8s/", str(cache_dir()) + "/pkgs/", str(cache_dir()) + "/coredns/")
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            cmd = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            exe = os.readlink(pid_dir / "exe")
        except OSError:
            continue
        if state + "/" in cmd and (exe.startswith(ours) or "supervise.sh" in cmd):
            problems.append(f"process {pid_dir.name}: {cmd[:120]}")
    return problems


@pytest.mark.disruptive
def test_down_leaves_nothing_behind_and_up_works_again(kube: Kube, namespace: str) -> None:
    _require_local(kube)
    _sleeper(kube, namespace)  # something with a netns, veth, mounts and cgroups
    down = _hack("down")
    assert down.returncode == 0, down.stderr
    assert _leftovers() == []
    assert _hack("status").returncode != 0
    up = _hack("up", timeout=900)
    assert up.returncode == 0, up.stderr
    assert kube.kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"
    kube.kubectl("create", "namespace", namespace)  # the cluster starts empty after down
    wait_until(
        lambda: kube.kubectl("get", "sa", "default", "-n", namespace, check=False).returncode == 0,
        60,
        "default service account",
    )
    kube.apply(_pod("again", ["python3", "-c", "print(42)"]), namespace)
    kube.wait_pod_phase("again", namespace, ("Succeeded",))
    assert kube.logs("again", namespace).strip() == "42"
