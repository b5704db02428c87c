"""`E2E`: one operator end-to-end test's world (namespace, storage, image, operators)."""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

from kasset import naming
from kube import Kube, wait_until
from operator_harness import (
    HostPathStorage,
    OperatorProcess,
    apply_server_side,
    compile_graph,
    get_status,
    materialization,
    operator,
    pods,
    wait_run,
)


class E2E:
    """One test's world: namespace, storage, image, and the operators it started."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        image: str,
        storage: HostPathStorage,
        stack: ExitStack,
        name: str,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.image = image
        self.storage = storage
        self._stack = stack
        self._name = name
        self.operators: list[OperatorProcess] = []
        self.seen_pods: set[str] = set()

    # -- operator --------------------------------------------------------------------------
    def start_operator(self, *extra: str, event_url: str | bool | None = True) -> OperatorProcess:
        log_name = f"{self.namespace}-{len(self.operators)}"
        handle = self._stack.enter_context(
            operator(
                self.kube.kubeconfig, self.namespace, *extra, event_url=event_url, log_name=log_name
            )
        )
        self.operators.append(handle)
        return handle

    @property
    def op(self) -> OperatorProcess:
        return self.operators[-1]

    # -- resources -------------------------------------------------------------------------
    def apply_graph(
        self,
        module: str,
        attribute: str = "defs",
        name: str = "g",
        secret_env: dict[str, tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        manifest = compile_graph(
            module,
            attribute,
            image=self.image,
            name=name,
            namespace=self.namespace,
            secret_env=secret_env,
        )
        apply_server_side(self.kube, manifest)
        self.wait_graph_ready(name)
        return manifest

    def wait_graph_ready(self, name: str, timeout: float = 60) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            status = get_status(self.kube, self.namespace, "assetgraphs", name)
            conditions = {c["type"]: c for c in status.get("conditions", [])}
            if conditions.get("Invalid", {}).get("status") == "True":
                raise AssertionError(f"AssetGraph {name} Invalid: {conditions['Invalid']}")
            return status if conditions.get("Ready", {}).get("status") == "True" else None

        return wait_until(
            ready, timeout, f"AssetGraph {name} Ready", interval=0.25, on_timeout=self.diagnose
        )

    def submit(self, name: str, graph: str = "g", selection: str = "*", **spec: Any) -> float:
        """Creates a Materialization; returns the monotonic time it was submitted."""
        started = time.monotonic()
        apply_server_side(
            self.kube, materialization(name, graph, self.namespace, selection, **spec)
        )
        return started

    def wait_run(
        self, name: str, phases: tuple[str, ...] = ("Succeeded",), timeout: float = 180
    ) -> dict[str, Any]:
        return wait_run(
            self.kube,
            self.namespace,
            name,
            phases,
            timeout,
            diagnose=self.diagnose,
            guard=self.guard,
        )

    def guard(self) -> None:
        """Fails at once, saying why, when waiting further is pointless: one of our
        operators exited, or the namespace vanished (someone reset the shared cluster)."""
        for handle in self.operators:
            if not handle.alive():
                raise AssertionError(
                    f"the operator exited ({handle.process.returncode}):\n{handle.tail()}"
                )
        proc = self.kube.kubectl("get", "namespace", self.namespace, check=False)
        if "NotFound" in proc.stderr:
            raise AssertionError(
                f"namespace {self.namespace} is gone: was the shared cluster reset "
                f"(hack/cluster down/up)? {proc.stderr.strip()}"
            )

    def status(self, kind: str, name: str) -> dict[str, Any]:
        return get_status(self.kube, self.namespace, kind, name)

    def pods(self) -> list[dict[str, Any]]:
        items = pods(self.kube, self.namespace)
        self.seen_pods.update(p["metadata"]["name"] for p in items)
        return items

    def pod_names(self) -> set[str]:
        return {p["metadata"]["name"] for p in self.pods()}

    def asset_status(self, graph: str, key: str) -> dict[str, Any]:
        return self.status("assets", naming.asset_object_name(graph, key))

    # -- diagnostics -----------------------------------------------------------------------
    def foreign_operators(self) -> set[str]:
        """Instances other than ours that reported Events here: an operator elsewhere
        watching every namespace (e.g. a chart test's) reconciles our runs too."""
        ours = {handle.instance for handle in self.operators}
        items = self.kube.get_json("events", namespace=self.namespace)["items"]
        return {
            e.get("reportingInstance", "")
            for e in items
            if e.get("reportingComponent", "").startswith("kasset.io/")
            and e.get("reportingInstance") not in ours
        }

    def diagnose(self) -> str:
        parts = []
        try:
            foreign = self.foreign_operators()
        except Exception as exc:
            foreign = {f"(cannot tell: {exc})"}
        if foreign:
            parts.append(f"!!! other kasset operators acted in this namespace: {sorted(foreign)}")
        for args in (
            ("get", "mat,assets,pods", "-o", "wide"),
            ("get", "events", "--sort-by=.lastTimestamp"),
        ):
            proc = self.kube.kubectl(*args, "-n", self.namespace, check=False)
            parts.append(f"$ kubectl {' '.join(args)}\n{proc.stdout[-4000:]}{proc.stderr[-500:]}")
        for handle in self.operators:
            parts.append(f"--- operator log {handle.log} (tail)\n{handle.tail(4000)}")
        return "\n".join(parts)
