"""Helpers of the reliability tests (issue 8, "Faults" and "Load"): an operator host process
that can be SIGKILLed and restarted on the same port, a TCP proxy that can be switched off
and on (an event endpoint that goes away and comes back), control-plane components killed
under their supervisor, marker files and kwok fake nodes.

Built on tests/operator_harness.py (owned elsewhere); nothing here changes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_E2E_OPERATOR = Path(__file__).resolve().parents[1] / "e2e" / "operator"
if str(_E2E_OPERATOR) not in sys.path:
    sys.path.insert(0, str(_E2E_OPERATOR))

from e2e_world import E2E  # noqa: E402

from kube import Kube, wait_until  # noqa: E402
from operator_harness import (  # noqa: E402
    ARTIFACTS,
    HOST_FROM_PODS,
    SECRET,
    OperatorProcess,
    free_port,
)

STATE = Path(os.environ.get("KASSET_STATE", "/var/lib/kasset-cluster"))
RUN_DIR = STATE / "run"
REPO_ROOT = Path(__file__).resolve().parents[2]
HACK_KWOK = REPO_ROOT / "hack" / "kwok"


# -- an operator that can be killed and restarted ------------------------------------------


@dataclass
class OperatorRunner:
    """`python -m kasset.operator` for one namespace on a fixed port: `start()` launches it
    (optionally waiting for /readyz), `kill()` sends SIGKILL, `stop()` SIGTERM. Every start
    appends to the same log. Leader election: pass `leader=True` (POD_NAMESPACE is set to the
    namespace, POD_NAME left unset: identity `<hostname>-<pid>`, no pod to label)."""

    kubeconfig: str
    namespace: str
    name: str
    event_url: str | None = None  # None: this process's own port as pods see it
    extra: tuple[str, ...] = ()
    leader: bool = False
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    def __post_init__(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log = ARTIFACTS / f"{self.namespace}-{self.name}.operator.log"
        self.log.write_bytes(b"")
        if self.event_url is None:
            self.event_url = f"http://{HOST_FROM_PODS}:{self.port}/api/v1/events"

    def args(self) -> list[str]:
        election = ["--no-leader-election"] if not self.leader else []
        return [
            sys.executable,
            "-m",
            "kasset.operator",
            "--namespace",
            self.namespace,
            *election,
            "--port",
            str(self.port),
            "--event-url",
            str(self.event_url),
            *self.extra,
        ]

    def start(self, wait_ready: bool = True, timeout: float = 60) -> OperatorProcess:
        env = {**os.environ, "KUBECONFIG": self.kubeconfig, "KASSET_EVENT_SECRET": SECRET}
        for inherited in ("KASSET_EVENT_URL", "POD_NAME", "POD_NAMESPACE"):
            env.pop(inherited, None)
        if self.leader:
            env["POD_NAMESPACE"] = self.namespace
        args = self.args()
        with self.log.open("ab") as out:
            out.write(f"\n$ [{datetime.now(UTC):%H:%M:%S.%f}] {' '.join(args)}\n".encode())
            out.flush()
            self.process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.starts += 1
        if wait_ready:
            self.wait_ready(timeout)
        return self.handle

    @property
    def handle(self) -> OperatorProcess:
        assert self.process is not None
        return OperatorProcess(self.process, self.port, self.log, self.event_url)

    @property
    def identity(self) -> str:
        assert self.process is not None
        return f"{socket.gethostname()}-{self.process.pid}"

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/readyz", timeout=1
            ) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def active(self) -> bool:
        """Serving as the operator, not as a standby (a standby answers /readyz 200 too, and
        its /metrics only has `kasset_operator_leader 0`)."""
        try:
            return "kasset_running_steps" in self.metrics()
        except OSError:
            return False

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the operator exited ({self.process.returncode}):\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"the operator never became ready:\n{self.tail()}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, and reap it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.kills += 1
        with self.log.open("ab") as out:
            out.write(f"\n### [{datetime.now(UTC):%H:%M:%S.%f}] SIGKILL #{self.kills}\n".encode())

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as r:
            return str(r.read().decode())

    def tail(self, chars: int = 6000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError as exc:
            return f"(no operator log: {exc})"


# -- a switchable TCP proxy ----------------------------------------------------------------


class TcpProxy:
    """Listens on 0.0.0.0:`port` (pods reach it at HOST_FROM_PODS) and forwards each
    connection to the first backend port on 127.0.0.1 that accepts one (a Service in front
    of the leader, in effect). `down()` closes the listener and every open connection, so
    clients get "connection refused"; `up()` listens again on the same port."""

    def __init__(self, backends: Iterable[int], port: int | None = None) -> None:
        self.backends = list(backends)
        self.port = port or free_port()
        self.connections = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{HOST_FROM_PODS}:{self.port}/api/v1/events"

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = None
            for port in self.backends:
                try:
                    upstream = socket.create_connection(("127.0.0.1", port), timeout=2)
                    upstream.settimeout(None)
                    break
                except OSError:
                    continue
            if upstream is None:
                client.close()
                continue
            self.connections += 1
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)


# -- cluster components ------------------------------------------------------------------


def component_pid(name: str) -> int:
    return int((RUN_DIR / f"{name}.pid").read_text().strip())


def kill_component(name: str) -> int:
    """SIGKILLs a component of the local cluster (hack/lib/supervise.sh restarts it)."""
    pid = component_pid(name)
    os.kill(pid, signal.SIGKILL)
    return pid


def restarted(name: str, old_pid: int) -> bool:
    """The supervisor started a new `name` process (a new pid that is alive)."""
    try:
        pid = component_pid(name)
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return pid != old_pid


def kubelet_healthy() -> bool:
    try:
        with urllib.request.urlopen("http://127.0.0.1:10248/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def apiserver_ready(kube: Kube) -> bool:
    try:
        proc = kube.kubectl("get", "--raw", "/readyz", check=False, timeout=5)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "ok"


def node_ready(kube: Kube, node: str = "kasset-node") -> bool:
    try:
        proc = kube.kubectl(
            "get",
            "node",
            node,
            "-o",
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
            check=False,
            timeout=5,
        )
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "True"


def host_processes_with_env(wanted: dict[str, str]) -> list[int]:
    """PIDs (host PID namespace) whose environment holds every `wanted` pair."""
    found = []
    needles = [f"{k}={v}".encode() for k, v in wanted.items()]
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if all(n in environ for n in needles):
            found.append(int(proc.name))
    return found


# -- what ran ---------------------------------------------------------------------------


def markers(directory: Path) -> Counter[tuple[str, str, int]]:
    """(run, asset, attempt) -> executions, from tests/e2e/projects/faults/marks.py."""
    counts: Counter[tuple[str, str, int]] = Counter()
    root = directory / "_markers"
    if root.exists():
        for path in root.iterdir():
            run, asset, attempt, _ = path.name.split("__")
            counts[(run, asset.replace(".", "/"), int(attempt))] += 1
    return counts


def pods_by_attempt(kube: Kube, namespace: str, run: str) -> dict[tuple[str, int], list[str]]:
    items = kube.get_json("pods", "-l", f"kasset.io/run={run}", namespace=namespace)["items"]
    out: dict[tuple[str, int], list[str]] = {}
    for pod in items:
        annotations = pod["metadata"].get("annotations") or {}
        key = (annotations["kasset.io/step"], int(annotations["kasset.io/attempt"]))
        out.setdefault(key, []).append(pod["metadata"]["name"])
    return out


def events(kube: Kube, namespace: str, reason: str | None = None) -> list[dict[str, Any]]:
    items = kube.get_json("events", namespace=namespace)["items"]
    return [e for e in items if reason is None or e.get("reason") == reason]


def metric_total(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        key, _, value = line.rpartition(" ")
        rest = key[len(name) :]
        if rest and not rest.startswith("{"):
            continue
        if all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += float(value)
    return total


# -- posting events as a runtime would ---------------------------------------------------


def post_event(
    port: int, namespace: str, run: str, step: str, attempt: int, kind: str, event_id: str = ""
) -> tuple[int, float]:
    """POSTs one event with the step token to the operator; returns (status, seconds)."""
    from kasset.operator.model.auth import step_token

    body = {
        "events": [
            {
                "id": event_id or str(uuid.uuid4()),
                "type": kind,
                "run": run,
                "step": step,
                "asset": step,
                "attempt": attempt,
                "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "payload": {},
            }
        ]
    }
    token = step_token(SECRET.encode(), namespace, run, step, attempt)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/events?namespace={namespace}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# -- kwok fake nodes -----------------------------------------------------------------------


def kwok_running() -> bool:
    return (
        subprocess.run([str(HACK_KWOK), "status"], capture_output=True, check=False).returncode == 0
    )


def ensure_kwok() -> None:
    """The kwok controller (hack/kwok, shared with the benchmarks) running; starts it (with
    one of its own fake nodes) if it is not."""
    if kwok_running():
        return
    proc = subprocess.run(
        [str(HACK_KWOK), "up", "1"], capture_output=True, text=True, timeout=900, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"hack/kwok up failed:\n{proc.stderr[-3000:]}")


def fake_nodes(kube: Kube, label: str, names: list[str]) -> None:
    """Fake nodes of our own, managed by the kwok controller (annotation), tainted like
    hack/kwok's, and labelled `kasset.io/reliability=<label>` only: hack/kwok down (which
    deletes `type=kwok` nodes) leaves them alone, and only our pods select them."""
    items = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
                "labels": {
                    "kasset.io/reliability": label,
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                },
            },
            "spec": {
                "taints": [{"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}]
            },
            "status": {
                "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
                "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
                "nodeInfo": {
                    "architecture": "amd64",
                    "kubeletVersion": "fake",
                    "operatingSystem": "linux",
                },
                "phase": "Running",
            },
        }
        for name in names
    ]
    kube.kubectl(
        "apply",
        "--validate=false",
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}),
    )

    def ready() -> bool:
        nodes = kube.get_json("nodes", "-l", f"kasset.io/reliability={label}")["items"]
        ok = [
            n
            for n in nodes
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in n.get("status", {}).get("conditions", [])
            )
        ]
        return len(ok) >= len(names)

    wait_until(ready, 120, f"{len(names)} kwok fake nodes Ready")


def delete_fake_nodes(kube: Kube, label: str) -> None:
    kube.kubectl(
        "delete", "nodes", "-l", f"kasset.io/reliability={label}", "--wait=false", check=False
    )


# -- the test's world ---------------------------------------------------------------------


class World(E2E):
    """An `E2E` world plus operators that can be SIGKILLed and restarted (`runner`)."""

    runners: list[OperatorRunner]

    def runner(self, name: str = "op", **kwargs: Any) -> OperatorRunner:
        runner = OperatorRunner(self.kube.kubeconfig, self.namespace, name, **kwargs)
        self.runners.append(runner)
        self._stack.callback(runner.stop)
        return runner

    def diagnose(self) -> str:
        text = super().diagnose()
        for runner in self.runners:
            text += f"\n--- operator log {runner.log} (tail)\n{runner.tail(4000)}"
        return text
