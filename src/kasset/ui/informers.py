"""Informers for the cluster UI: one list-then-watch thread per kind (and namespace)
keeping an `ObjectCache` of parsed resources current, so page views cost no API call.

`ObjectCache` is pure (fed list results and watch events), tested without a cluster.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from kasset.resources import GROUP, VERSION, KassetModel, KindInfo

__all__ = ["Informer", "ObjectCache", "short_error"]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=KassetModel)
_WATCH_SECONDS = 300
_BACKOFF_SECONDS = (1, 2, 5, 10, 30)


class ObjectCache(Generic[M]):
    """The objects of one kind by (namespace, name), parsed into their model. Pure: the
    informer feeds it list results and watch events."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._items: dict[tuple[str, str], M] = {}
        self._lock = threading.Lock()

    def replace(self, bodies: list[dict[str, Any]], namespace: str | None = None) -> None:
        """A fresh list: the objects of `namespace` (None: all) become exactly these."""
        parsed = {key: obj for key, obj in map(self._parse, bodies) if key is not None}
        with self._lock:
            kept = {
                k: v for k, v in self._items.items() if namespace is not None and k[0] != namespace
            }
            self._items = {**kept, **parsed}  # type: ignore[dict-item]

    def apply(self, kind: str, body: dict[str, Any]) -> tuple[str, str] | None:
        """One watch event (ADDED, MODIFIED, DELETED); returns the key it changed."""
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace") or "default"), str(meta.get("name") or ""))
        if kind == "DELETED":
            with self._lock:
                self._items.pop(key, None)
            return key
        _, obj = self._parse(body)
        if obj is None:
            return None
        with self._lock:
            self._items[key] = obj
        return key

    def get(self, namespace: str, name: str) -> M | None:
        with self._lock:
            return self._items.get((namespace, name))

    def values(self) -> list[M]:
        with self._lock:
            return list(self._items.values())

    def _parse(self, body: dict[str, Any]) -> tuple[tuple[str, str] | None, M | None]:
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace") or "default"), str(meta.get("name") or ""))
        try:
            return key, self.model.from_dict(body)
        except ValueError as error:
            log.warning(
                "skipping %s %s/%s: %s", self.model.__name__, *key, str(error).splitlines()[0]
            )
            return None, None


class Informer:
    """List, then watch from that resourceVersion; relist when the watch ends or the
    version expired (410). One thread, with backoff on API errors."""

    def __init__(
        self,
        api: Any,
        kind: KindInfo,
        namespace: str | None,
        cache: ObjectCache[Any],
        changed: Callable[[tuple[str, str] | None], None],
        stopping: threading.Event,
    ) -> None:
        self.api = api
        self.kind = kind
        self.namespace = namespace
        self.cache = cache
        self.changed = changed
        self.stopping = stopping
        self.synced = threading.Event()
        self.thread = threading.Thread(
            target=self._run, daemon=True, name=f"kasset-ui-watch-{kind.plural}"
        )

    def _list(self, **options: Any) -> Any:
        if self.namespace is None:
            return self.api.list_cluster_custom_object(GROUP, VERSION, self.kind.plural, **options)
        return self.api.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, self.kind.plural, **options
        )

    def _run(self) -> None:
        from kubernetes import watch

        failures = 0
        while not self.stopping.is_set():
            try:
                listing = self._list()
                self.cache.replace(listing.get("items", []), self.namespace)
                self.synced.set()
                self.changed(None)
                version = listing.get("metadata", {}).get("resourceVersion")
                watcher: Any = cast(Any, watch).Watch()
                for event in watcher.stream(
                    self._list,
                    resource_version=version,
                    timeout_seconds=_WATCH_SECONDS,
                    allow_watch_bookmarks=True,
                ):
                    if self.stopping.is_set():
                        watcher.stop()
                        return
                    kind, body = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        break  # usually 410 Gone: relist
                    if kind in ("ADDED", "MODIFIED", "DELETED"):
                        self.changed(self.cache.apply(str(kind), body))
                failures = 0
            except Exception as error:
                delay = _BACKOFF_SECONDS[min(failures, len(_BACKOFF_SECONDS) - 1)]
                failures += 1
                log.warning(
                    "watching %s failed (%s); retrying in %ss",
                    self.kind.plural,
                    short_error(error),
                    delay,
                )
                self.stopping.wait(delay)


def short_error(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]
