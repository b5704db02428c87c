"""The one module that talks to the Kubernetes API server.

Everything the operator sends goes through `KubeClient`: requests are built as plain JSON
(no generated models: their deserialisation costs milliseconds per pod), sent by the
`kubernetes` package's authenticated HTTP pool in a small thread pool, rate limited,
retried with backoff on 429/5xx/connection errors, and counted per verb and resource.
The controller sees the `Kube` Protocol only; unit tests pass an in-memory fake.

Why threads and not an async client: `kubernetes` handles every kubeconfig and in-cluster
auth flavour (exec plugins, token refresh); a thread hop costs ~0.1 ms against a request's
several, and a pool of 16 keeps dozens of writes in flight.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol
from urllib.parse import quote

from kasset.operator.kube.ratelimit import Priority, PriorityLimiter, ShedError, TokenBucket
from kasset.resources import API_VERSION

__all__ = ["ApiError", "Kube", "KubeClient", "RawApi"]

logger = logging.getLogger(__name__)

GROUP_PATH = f"/apis/{API_VERSION}"
MERGE_PATCH = "application/merge-patch+json"
_RETRY_STATUSES = frozenset({0, 429, 500, 502, 503, 504})
_WRITE_VERBS = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}


class ApiError(Exception):
    """A request the API server refused (status) or that never got an answer (status 0)."""

    def __init__(self, status: int, reason: str, body: Any = None) -> None:
        self.status = status
        self.reason = reason
        self.body = body
        self.headers: dict[str, str] = {}
        detail = body.get("message") if isinstance(body, dict) else None
        super().__init__(f"{status} {reason}" + (f": {detail}" if detail else ""))

    @property
    def message(self) -> str:
        detail = self.body.get("message") if isinstance(self.body, dict) else None
        return str(detail or self.reason)


class Kube(Protocol):
    """What the controller asks of the API server."""

    async def create_pod(self, namespace: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Creates the pod; on 409 returns the existing one. The bool: whether we created it."""
        ...

    async def delete_pod(self, namespace: str, name: str, grace_seconds: int = 5) -> None: ...

    async def list_pods(self, namespace: str, selector: str) -> list[dict[str, Any]]: ...

    async def read_pod_log(
        self, namespace: str, name: str, tail_lines: int | None = None
    ) -> str: ...

    async def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None: ...

    async def list_objects(
        self, plural: str, namespace: str, selector: str | None = None
    ) -> list[dict[str, Any]]: ...

    async def create_object(
        self, plural: str, namespace: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Creates a kasset object; None when it already exists (409)."""
        ...

    async def patch_object(
        self, plural: str, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Merge-patches a kasset object; None when it is gone (404)."""
        ...

    async def patch_status(
        self, plural: str, namespace: str, name: str, status: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Merge-patches the status subresource; None when the object is gone (404)."""
        ...

    async def delete_object(self, plural: str, namespace: str, name: str) -> None: ...

    async def create_event(self, namespace: str, body: dict[str, Any]) -> None: ...


class RawApi:
    """Synchronous JSON requests with auth, retries and write counting (one instance per
    process; used from threads)."""

    def __init__(
        self,
        api_client: Any,
        on_write: Callable[[str, str], None] | None = None,
        retries: int = 5,
        timeout: float = 30.0,
    ) -> None:
        self.api_client = api_client
        self.on_write = on_write
        self.retries = retries
        self.timeout = timeout

    @classmethod
    def from_environment(cls, kubeconfig: str | None = None, **kwargs: Any) -> RawApi:
        """In-cluster credentials when in a pod, else the kubeconfig."""
        from kubernetes import client, config

        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except config.ConfigException:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, client_configuration=configuration
            )
        configuration.connection_pool_maxsize = 32
        return cls(client.ApiClient(configuration), **kwargs)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
        raw: bool = False,
    ) -> Any:
        """Sends one request; returns the decoded JSON (or text with raw). Raises ApiError."""
        headers = {"Accept": "*/*" if raw else "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        resource = _resource_of(path)
        delay = 0.05
        for attempt in range(self.retries + 1):
            if method in _WRITE_VERBS and self.on_write is not None:
                self.on_write(_WRITE_VERBS[method], resource)
            try:
                return self._send(method, path, body, query, headers, raw)
            except ApiError as error:
                if error.status not in _RETRY_STATUSES or attempt == self.retries:
                    raise
                wait = _retry_after(error) or delay * (1 + random.random())
                logger.debug("%s %s: %s; retrying in %.2fs", method, path, error, wait)
                time.sleep(min(wait, 10.0))
                delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    def _send(
        self,
        method: str,
        path: str,
        body: Any,
        query: dict[str, str] | None,
        headers: dict[str, str],
        raw: bool,
    ) -> Any:
        client = self.api_client
        try:
            _, url, header_params, serialized, _ = client.param_serialize(
                method,
                path,
                query_params=list((query or {}).items()) or None,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = client.call_api(
                method,
                url,
                header_params=header_params,
                body=serialized,
                _request_timeout=self.timeout,
            )
            data = response.read()
        except ApiError:
            raise
        except Exception as error:  # urllib3/SSL/socket errors: no answer at all
            raise ApiError(0, f"{type(error).__name__}: {error}") from error
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data or "")
        if not 200 <= response.status < 300:
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = {"message": text[:500]}
            refused = ApiError(response.status, str(response.reason or ""), parsed)
            refused.headers = dict(response.getheaders() or {})
            raise refused
        if raw:
            return text
        return json.loads(text) if text else None


class KubeClient:
    """The `Kube` Protocol over `RawApi`, async via a thread pool, rate limited."""

    def __init__(
        self,
        raw: RawApi,
        qps: float = 100.0,
        burst: int = 200,
        threads: int = 16,
        on_event_dropped: Callable[[], None] | None = None,
    ) -> None:
        self.raw = raw
        self._limiter = PriorityLimiter(TokenBucket(qps, burst), on_drop=on_event_dropped)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kube")

    async def _call(
        self, method: str, path: str, priority: Priority = Priority.CRITICAL, **kwargs: Any
    ) -> Any:
        await self._limiter.acquire(priority)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, lambda: self.raw.request(method, path, **kwargs)
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def create_pod(self, namespace: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        path = f"/api/v1/namespaces/{namespace}/pods"
        try:
            return await self._call("POST", path, body=body), True
        except ApiError as error:
            if error.status != 409:
                raise
        existing = await self._call("GET", f"{path}/{quote(body['metadata']['name'])}")
        return existing, False

    async def delete_pod(self, namespace: str, name: str, grace_seconds: int = 5) -> None:
        body = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "gracePeriodSeconds": grace_seconds,
            "propagationPolicy": "Background",
        }
        try:
            await self._call(
                "DELETE", f"/api/v1/namespaces/{namespace}/pods/{quote(name)}", body=body
            )
        except ApiError as error:
            if error.status != 404:
                raise

    async def list_pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        result = await self._call(
            "GET", f"/api/v1/namespaces/{namespace}/pods", query={"labelSelector": selector}
        )
        return list(result.get("items") or [])

    async def read_pod_log(self, namespace: str, name: str, tail_lines: int | None = None) -> str:
        query = {"container": "step"}
        if tail_lines is not None:
            query["tailLines"] = str(tail_lines)
        text: str = await self._call(
            "GET", f"/api/v1/namespaces/{namespace}/pods/{quote(name)}/log", query=query, raw=True
        )
        return text

    async def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._call("GET", _custom(plural, namespace, name))
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return result

    async def list_objects(
        self, plural: str, namespace: str, selector: str | None = None
    ) -> list[dict[str, Any]]:
        query = {"labelSelector": selector} if selector else None
        result = await self._call("GET", _custom(plural, namespace), query=query)
        return list(result.get("items") or [])

    async def create_object(
        self, plural: str, namespace: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._call("POST", _custom(plural, namespace), body=body)
        except ApiError as error:
            if error.status == 409:
                return None
            raise
        return result

    async def patch_object(
        self, plural: str, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any] | None:
        return await self._patch(_custom(plural, namespace, name), patch)

    async def patch_status(
        self, plural: str, namespace: str, name: str, status: dict[str, Any]
    ) -> dict[str, Any] | None:
        # A run's status carries the plan's progress; an Asset's can wait behind pods.
        priority = Priority.CRITICAL if plural == "materializations" else Priority.NORMAL
        path = _custom(plural, namespace, name) + "/status"
        return await self._patch(path, {"status": status}, priority)

    async def _patch(
        self, path: str, patch: dict[str, Any], priority: Priority = Priority.NORMAL
    ) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._call(
                "PATCH", path, priority, body=patch, content_type=MERGE_PATCH
            )
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return result

    async def delete_object(self, plural: str, namespace: str, name: str) -> None:
        try:
            await self._call(
                "DELETE", _custom(plural, namespace, name), body={"propagationPolicy": "Background"}
            )
        except ApiError as error:
            if error.status != 404:
                raise

    async def create_event(self, namespace: str, body: dict[str, Any]) -> None:
        """Sent after every other kind of request; shed when too many wait (counted)."""
        try:
            await self._call(
                "POST", f"/api/v1/namespaces/{namespace}/events", Priority.LOW, body=body
            )
        except ShedError:
            return
        except ApiError as error:
            if error.status != 409:
                raise


def _custom(plural: str, namespace: str, name: str | None = None) -> str:
    """The path of kasset objects; an empty namespace lists across all namespaces."""
    path = (
        f"{GROUP_PATH}/namespaces/{namespace}/{plural}" if namespace else f"{GROUP_PATH}/{plural}"
    )
    return f"{path}/{quote(name)}" if name else path


def _resource_of(path: str) -> str:
    parts = [p for p in path.split("?", maxsplit=1)[0].split("/") if p]
    if "namespaces" in parts:
        index = parts.index("namespaces") + 2
        resource = parts[index] if index < len(parts) else "namespaces"
        if parts[-1] in ("status", "log"):
            return f"{resource}/{parts[-1]}"
        return resource
    return parts[-1] if parts else ""


def _retry_after(error: ApiError) -> float | None:
    headers = error.headers
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value else None
    except ValueError:
        return None
