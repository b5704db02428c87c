"""The bench's edge to the local cluster: kubectl, the API server's write counters, a pod
watcher with millisecond timestamps, and the operator as a measured host process.

Everything here talks to a real cluster; what it returns is plain data that the sections
summarise. The cluster itself belongs to `hack/cluster` and is never started or stopped.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "HOST_FROM_PODS",
    "WRITE_VERBS",
    "OperatorProcess",
    "PodWatcher",
    "apiserver_writes",
    "available",
    "ensure_crds",
    "kubeconfig",
    "kubectl",
    "namespace",
    "parse_write_counts",
    "process_cpu_seconds",
    "server_version",
    "success_time",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_KUBECONFIG = "/var/lib/kasset-cluster/admin.kubeconfig"
#: Pods reach host processes through the CNI bridge gateway (docs/cluster.md).
HOST_FROM_PODS = os.environ.get("KASSET_BENCH_HOST_IP", "10.244.0.1")
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY"})
_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def success_time(termination_message: str | None) -> float | None:
    """The STEP_SUCCEEDED timestamp of a kasset termination message, as Unix seconds."""
    from datetime import datetime

    try:
        document = json.loads(termination_message or "")
        for event in document.get("events") or []:
            if event.get("type") == "STEP_SUCCEEDED":
                stamp = str(event["timestamp"]).replace("Z", "+00:00")
                return datetime.fromisoformat(stamp).timestamp()
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return None


def kubeconfig() -> str:
    return os.environ.get("KUBECONFIG") or LOCAL_KUBECONFIG


def _kubectl_binary() -> str:
    from shutil import which

    found = which("kubectl")
    if found:
        return found
    for candidate in sorted(Path.home().glob(".cache/kasset/k8s/*/bin/kubectl")):
        return str(candidate)
    return "kubectl"


def kubectl(*args: str, input: str | None = None, check: bool = True, timeout: float = 300) -> str:
    out = subprocess.run(
        [_kubectl_binary(), "--kubeconfig", kubeconfig(), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and out.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args[:3])} failed: {out.stderr.strip()[-800:]}")
    return out.stdout


def available() -> str | None:
    """None when the cluster answers, else why not."""
    if not Path(kubeconfig()).exists():
        return f"no kubeconfig at {kubeconfig()} (is `hack/cluster up` running?)"
    try:
        kubectl("get", "--raw", "/readyz", timeout=10)
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as error:
        return f"the API server does not answer: {error}"
    return None


def ensure_crds() -> None:
    """kasset's CRDs, applied idempotently: a cluster that was reset has none."""
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(REPO_ROOT / "crds"))


def server_version() -> str | None:
    try:
        data = json.loads(kubectl("version", "-o", "json", timeout=10))
    except (RuntimeError, subprocess.TimeoutExpired, OSError, ValueError):
        return None
    return str(data.get("serverVersion", {}).get("gitVersion") or "") or None


def parse_write_counts(metrics_text: str) -> Counter[tuple[str, str]]:
    """`apiserver_request_total` of write verbs, summed by (verb, resource[/subresource])."""
    counts: Counter[tuple[str, str]] = Counter()
    for line in metrics_text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        verb = labels.get("verb", "")
        if verb not in WRITE_VERBS:
            continue
        resource = labels.get("resource", "")
        if labels.get("subresource"):
            resource += "/" + labels["subresource"]
        counts[(verb, resource)] += int(float(match["value"]))
    return counts


def apiserver_writes() -> Counter[tuple[str, str]]:
    return parse_write_counts(kubectl("get", "--raw", "/metrics", timeout=60))


@contextmanager
def namespace(name: str) -> Iterator[str]:
    """A fresh namespace, deleted (without waiting) afterwards."""
    kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=true", timeout=600)
    kubectl("create", "namespace", name)
    kubectl("label", "namespace", name, "kasset.io/bench=true")
    for _ in range(100):  # the service account controller is asynchronous
        if kubectl("-n", name, "get", "serviceaccount", "default", check=False):
            break
        time.sleep(0.1)
    try:
        yield name
    finally:
        kubectl("delete", "namespace", name, "--wait=false", check=False)


@dataclass
class PodRecord:
    name: str
    labels: dict[str, str]
    annotations: dict[str, str]
    added: float | None = None
    running: float | None = None
    terminated: float | None = None
    phase: str = "Pending"
    succeeded_at: float | None = None
    """When the step reported success, in its own clock (the same host's): kasset's
    STEP_SUCCEEDED event in the termination message, or Dagster's STEP_SUCCESS record."""


@dataclass
class PodWatcher:
    """Watches a namespace's pods from this host and stamps, in host time (the pods run
    on this host, so one clock), when each was first seen, seen running, and seen
    finished (container terminated or pod phase Succeeded/Failed)."""

    namespace: str
    pods: dict[str, PodRecord] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _process: subprocess.Popen[str] | None = None
    restarts: int = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._read, daemon=True, name="pod-watch")
        self._thread.start()
        while self._process is None:
            time.sleep(0.01)

    def _spawn(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                _kubectl_binary(),
                "--kubeconfig",
                kubeconfig(),
                "-n",
                self.namespace,
                "get",
                "pods",
                "--watch",
                "--output-watch-events",
                "-o",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def _read(self) -> None:
        # The API server closes watchers that fall behind ("Forcing pods watcher close due
        # to unresponsiveness"), which a niced kubectl on a loaded machine does at hundreds
        # of pods: watch again. Pods already seen keep their first times; `restarts` says
        # how often it happened, since pods created meanwhile are stamped late.
        while not self._stop.is_set():
            self._process = process = self._spawn()
            assert process.stdout is not None
            # With --output-watch-events, kubectl prints one compact JSON event per line.
            for line in process.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    self._fold(event, time.time())
            process.wait()
            if not self._stop.is_set():
                self.restarts += 1

    def _fold(self, event: dict[str, Any], now: float) -> None:
        pod = event.get("object") or {}
        meta = pod.get("metadata") or {}
        name = meta.get("name")
        if not name:
            return
        record = self.pods.get(name)
        if record is None:
            record = self.pods[name] = PodRecord(
                name, dict(meta.get("labels") or {}), dict(meta.get("annotations") or {})
            )
        record.added = record.added or now
        status = pod.get("status") or {}
        record.phase = status.get("phase") or record.phase
        for container in status.get("containerStatuses") or []:
            state = container.get("state") or {}
            if "running" in state and record.running is None:
                record.running = now
            if "terminated" in state and record.terminated is None:
                record.terminated = now
                record.succeeded_at = success_time(state["terminated"].get("message"))
        if record.phase in ("Succeeded", "Failed") and record.terminated is None:
            record.terminated = now

    def wait_finished(self, count: int, timeout: float = 60) -> bool:
        """Waits until `count` pods have been seen finished: the watch can trail the API
        server by seconds on a loaded machine, and a run is over before its last events
        reach us."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(1 for p in list(self.pods.values()) if p.terminated) >= count:
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        self._stop.set()
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)


def process_cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def operator_python() -> str:
    """The project's own venv when there is one: the operator as tested, without the
    bench venv's Dagster (whose dagster-k8s pins an older kubernetes client)."""
    project = REPO_ROOT / ".venv/bin/python"
    return str(project) if project.exists() else sys.executable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OperatorProcess:
    """`python -m kasset.operator` for one namespace, as a host process: started, probed
    for readiness, sampled for memory, scraped for metrics, stopped."""

    def __init__(self, namespace: str, log: Path, *extra: str, python: str | None = None):
        self.namespace = namespace
        self.log = log
        self.port = _free_port()
        self.extra = extra
        self.python = python or operator_python()
        self.process: subprocess.Popen[bytes] | None = None
        self.peak_rss = 0
        self._sampler: threading.Thread | None = None
        self._stop = threading.Event()

    def __enter__(self) -> OperatorProcess:
        env = {**os.environ, "KUBECONFIG": kubeconfig(), "KASSET_EVENT_SECRET": "bench-secret"}
        args = [
            self.python,
            "-m",
            "kasset.operator",
            "--namespace",
            self.namespace,
            "--no-leader-election",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--event-url",
            f"http://{HOST_FROM_PODS}:{self.port}/api/v1/events",
            *self.extra,
        ]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while not self._ready():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the operator exited ({self.process.returncode}); see {self.log}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"the operator never became ready; see {self.log}")
            time.sleep(0.2)
        self._sampler = threading.Thread(target=self._sample, daemon=True, name="rss")
        self._sampler.start()
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def rss(self) -> int:
        """Resident set size now, in bytes."""
        return self._status_field("VmRSS")

    def _status_field(self, name: str) -> int:
        if self.process is None:
            return 0
        try:
            with open(f"/proc/{self.process.pid}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith(name + ":"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            self.peak_rss = max(self.peak_rss, self.rss())

    def cpu_seconds(self) -> float:
        """User + system CPU time the operator has used so far."""
        return process_cpu_seconds(self.process.pid) if self.process is not None else 0.0

    def reset_peak(self) -> None:
        self.peak_rss = self.rss()

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as r:
            return str(r.read().decode())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
