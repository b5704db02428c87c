"""The cluster backend: AssetGraphs, Assets and Materializations read through the
Kubernetes API, kept in memory by one list-then-watch thread per kind (and namespace),
so a page view costs no API call. Step logs stream from the step pods; launching creates
a Materialization, canceling patches `spec.cancel: true`.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from kasset.errors import KassetError
from kasset.naming import step_pod_name
from kasset.resources import (
    ASSET_GRAPH_KIND,
    ASSET_KIND,
    GROUP,
    MATERIALIZATION_KIND,
    VERSION,
    AssetGraphResource,
    AssetResource,
    KassetModel,
    KindInfo,
    MaterializationResource,
    PartitionSelection,
    RunPhase,
    StepPhase,
)
from kasset.ui.backend import (
    ChangeFeed,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    select_runs,
    watch_object,
)
from kasset.ui.informers import Informer, ObjectCache, short_error
from kasset.ui.launching import (
    build_materialization,
    new_run_name,
    partition_keys,
    rerun_request,
)
from kasset.ui.lineage import prewarm
from kasset.ui.model import graph_of
from kasset.ui.schedules import ScheduleView, schedule_views

__all__ = ["KubeBackend", "ObjectCache"]

log = logging.getLogger(__name__)

_LOG_WAIT_SECONDS = 1.0
_LOG_WAIT_TRIES = 120
_MERGE_PATCH = "application/merge-patch+json"


class KubeBackend:
    """Reads from watch-fed caches; writes through the API."""

    mode = "cluster"

    def __init__(self, custom_api: Any, core_api: Any, namespaces: list[str] | None = None) -> None:
        self.custom = custom_api
        self.core = core_api
        self.namespaces = namespaces
        self.feed = ChangeFeed()
        self.graph_cache: ObjectCache[AssetGraphResource] = ObjectCache(AssetGraphResource)
        self.asset_cache: ObjectCache[AssetResource] = ObjectCache(AssetResource)
        self.run_cache: ObjectCache[MaterializationResource] = ObjectCache(MaterializationResource)
        self._stopping = threading.Event()
        self._informers: list[Informer] = []

    @classmethod
    def from_environment(cls, namespaces: list[str] | None = None) -> KubeBackend:
        """In a pod, its service account; elsewhere, the kubeconfig."""
        from kubernetes import client
        from kubernetes import config as kube_config

        loader: Any = kube_config
        try:
            loader.load_incluster_config()
        except loader.ConfigException:
            loader.load_kube_config()
        return cls(client.CustomObjectsApi(), client.CoreV1Api(), namespaces)

    def start(self) -> None:
        caches: list[tuple[KindInfo, ObjectCache[Any], str]] = [
            (ASSET_GRAPH_KIND, self.graph_cache, "graphs"),
            (ASSET_KIND, self.asset_cache, "assets"),
            (MATERIALIZATION_KIND, self.run_cache, "runs"),
        ]
        scopes: list[str | None] = [*self.namespaces] if self.namespaces else [None]
        for kind, cache, topic in caches:
            for namespace in scopes:
                informer = Informer(
                    self.custom, kind, namespace, cache, self._notifier(topic), self._stopping
                )
                self._informers.append(informer)
                informer.thread.start()

    def _notifier(self, topic: str) -> Callable[[tuple[str, str] | None], None]:
        def changed(key: tuple[str, str] | None) -> None:
            self.feed.bump(topic)
            if key is not None and topic == "runs":
                self.feed.bump(("run", *key))
            if topic == "graphs":
                self._prewarm(key)

        return changed

    def _prewarm(self, key: tuple[str, str] | None) -> None:
        """Lays out new or changed graphs in the background: the first view is cached."""
        chosen = self.graphs() if key is None else [g for g in [self.graph_cache.get(*key)] if g]
        for resource in chosen:
            try:
                prewarm(graph_of(resource))
            except KassetError:
                continue  # an invalid graph: its page says why

    def wait_synced(self, timeout: float = 10.0) -> bool:
        return all(i.synced.wait(timeout) for i in self._informers)

    def close(self) -> None:
        self._stopping.set()

    # Reads.

    def graphs(self) -> list[AssetGraphResource]:
        return sorted(self.graph_cache.values(), key=_ns_name)

    def graph(self, namespace: str, name: str) -> AssetGraphResource:
        found = self.graph_cache.get(namespace, name)
        if found is None:
            raise NotFoundError(f"no asset graph {namespace}/{name}")
        return found

    def assets(self, namespace: str | None = None, graph: str | None = None) -> list[AssetResource]:
        return [
            a
            for a in self.asset_cache.values()
            if (namespace is None or a.metadata.namespace == namespace)
            and (graph is None or a.spec.graph == graph)
        ]

    def asset(self, namespace: str, name: str) -> AssetResource:
        found = self.asset_cache.get(namespace, name)
        if found is None:
            raise NotFoundError(f"no asset {namespace}/{name}")
        return found

    def runs(
        self,
        namespace: str | None = None,
        graph: str | None = None,
        phase: RunPhase | None = None,
        limit: int = 200,
    ) -> list[MaterializationResource]:
        return select_runs(self.run_cache.values(), namespace, graph, phase, limit)

    def run(self, namespace: str, name: str) -> MaterializationResource:
        found = self.run_cache.get(namespace, name)
        if found is None:
            raise NotFoundError(f"no run {namespace}/{name}")
        return found

    def watch_run(self, namespace: str, name: str) -> AsyncIterator[MaterializationResource]:
        self.run(namespace, name)
        return watch_object(self.feed, ("run", namespace, name), lambda: self.run(namespace, name))

    async def step_logs(
        self, namespace: str, run: str, step: str, attempt: int | None = None, follow: bool = False
    ) -> AsyncIterator[str]:
        resource = self.run(namespace, run)
        detail = next(
            (s for s in (resource.status.steps if resource.status else []) if s.key == step), None
        )
        attempt = attempt or (detail.attempts if detail and detail.attempts else 1)
        pod = step_pod_name(run, step, attempt)
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[str | None] = asyncio.Queue()
        stop = threading.Event()
        thread = threading.Thread(
            target=self._pump_logs,
            name=f"kasset-ui-logs-{pod}",
            daemon=True,
            args=(
                loop,
                chunks,
                stop,
                namespace,
                pod,
                follow,
                lambda: self._step_live(namespace, run, step),
            ),
        )
        thread.start()
        try:
            while (chunk := await chunks.get()) is not None:
                yield chunk
        finally:
            stop.set()

    def _step_live(self, namespace: str, run: str, step: str) -> bool:
        found = self.run_cache.get(namespace, run)
        if found is None or found.status is None or found.status.phase.finished:
            return False
        detail = next((s for s in found.status.steps if s.key == step), None)
        return detail is None or detail.phase in (
            StepPhase.PENDING,
            StepPhase.RUNNING,
            StepPhase.WAITING_RETRY,
        )

    def _pump_logs(
        self,
        loop: asyncio.AbstractEventLoop,
        chunks: asyncio.Queue[str | None],
        stop: threading.Event,
        namespace: str,
        pod: str,
        follow: bool,
        live: Callable[[], bool],
    ) -> None:
        from kubernetes.client.exceptions import ApiException

        def put(item: str | None) -> None:
            loop.call_soon_threadsafe(chunks.put_nowait, item)

        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        try:
            for _ in range(_LOG_WAIT_TRIES):
                try:
                    response = self.core.read_namespaced_pod_log(
                        pod, namespace, follow=follow, _preload_content=False
                    )
                except ApiException as error:
                    waiting = error.status == 400 or (error.status == 404 and follow)
                    if follow and waiting and live() and not stop.is_set():
                        stop.wait(_LOG_WAIT_SECONDS)  # the container has not started yet
                        continue
                    put(_log_error(pod, error))
                    return
                try:
                    for data in response.stream(4096):
                        if stop.is_set():
                            break
                        put(decoder.decode(data))
                finally:
                    response.release_conn()
                put(decoder.decode(b"", final=True))
                return
        except Exception as error:
            put(f"\n(log stream of {pod} failed: {short_error(error)})\n")
        finally:
            put(None)

    def schedules(self) -> list[ScheduleView]:
        return schedule_views(self.graphs(), datetime.now(UTC))

    # Writes.

    def launch(
        self,
        namespace: str,
        graph: str,
        selection: str,
        partitions: PartitionSelection | None,
        launched_by: str,
    ) -> str:
        resource = self.graph(namespace, graph)
        selection = selection.strip() or "*"
        try:
            pure = graph_of(resource)
            pure.select(selection)
        except KassetError as error:
            raise InvalidRequestError(str(error)) from None
        partition_keys(pure, selection, partitions)  # a bad key fails here, inline
        body = build_materialization(
            name=new_run_name(graph),
            namespace=namespace,
            graph=graph,
            selection=selection,
            partitions=partitions,
            launched_by=launched_by,
        ).to_dict()
        created = self._call(
            self.custom.create_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            MATERIALIZATION_KIND.plural,
            body,
        )
        name = str(created.get("metadata", {}).get("name") or body["metadata"]["name"])
        self.run_cache.apply("ADDED", created)  # visible at once, before the watch says so
        self.feed.bump("runs")
        return name

    def cancel(self, namespace: str, run: str) -> None:
        current = self.run(namespace, run)
        if current.status is not None and current.status.phase.finished:
            raise ConflictError(f"run {run} has already finished")
        self._call(
            self.custom.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            MATERIALIZATION_KIND.plural,
            run,
            {"spec": {"cancel": True}},
            _content_type=_MERGE_PATCH,
        )

    def rerun_failed(self, namespace: str, run: str) -> str:
        current = self.run(namespace, run)
        resource = self.graph(namespace, current.spec.graph)
        selection, partitions = rerun_request(current, graph_of(resource))
        return self.launch(namespace, current.spec.graph, selection, partitions, f"ui:rerun:{run}")

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException

        try:
            return method(*args, **kwargs)
        except ApiException as error:
            message = _api_message(error)
            if error.status == 404:
                raise NotFoundError(message) from None
            if error.status == 409:
                raise ConflictError(message) from None
            if error.status in (400, 422):
                raise InvalidRequestError(message) from None
            raise


def _ns_name(obj: KassetModel) -> tuple[str, str]:
    meta = getattr(obj, "metadata", None)
    return (str(getattr(meta, "namespace", "") or ""), str(getattr(meta, "name", "") or ""))


def _api_message(error: Any) -> str:
    try:
        body = json.loads(error.body or "{}")
    except (TypeError, ValueError):
        body = {}
    return str(body.get("message") or error.reason or error)


def _log_error(pod: str, error: Any) -> str:
    if getattr(error, "status", None) == 404:
        return (
            f"(pod {pod} no longer exists, so its logs are gone: pods are deleted with "
            "their run or by the janitor)\n"
        )
    return f"(no logs from pod {pod}: {_api_message(error)})\n"
