"""Kubernetes object names and label values derived from kasset identities.

Pure and deterministic, so the operator, the CLI and the UI derive the same name for the same
thing. Derived names end in 8 hex digits of a sha256 of their unambiguous inputs: two distinct
inputs never share a name, however sanitising or trimming folded their readable parts.

>>> asset_object_name("demo", "raw/orders")
'demo-raw-orders-2ca6c6c1'
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

__all__ = [
    "MAX_NAME_LENGTH",
    "asset_object_name",
    "is_dns1123_label",
    "is_label_value",
    "label_value",
    "schedule_run_name",
    "step_pod_name",
]

#: Pod names, label values and DNS-1123 labels are limited to 63 characters.
MAX_NAME_LENGTH = 63
_HASH_LENGTH = 8

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_INVALID_RUN = re.compile(r"[^a-z0-9]+")


def is_dns1123_label(name: str) -> bool:
    """Whether ``name`` is a valid DNS-1123 label (pod names, most object names)."""
    return len(name) <= MAX_NAME_LENGTH and _DNS1123_LABEL.fullmatch(name) is not None


def is_label_value(value: str) -> bool:
    """Whether ``value`` is a valid Kubernetes label value (the empty string is one)."""
    return len(value) <= MAX_NAME_LENGTH and _LABEL_VALUE.fullmatch(value) is not None


def asset_object_name(graph: str, key: str) -> str:
    """The name of the Asset object for asset ``key`` (``a/b`` form) of AssetGraph ``graph``.

    >>> asset_object_name("demo", "raw/orders")
    'demo-raw-orders-2ca6c6c1'
    """
    return _derive(f"{graph}-{key}", identity=(graph, key))


def step_pod_name(run: str, step: str, attempt: int) -> str:
    """The name of the pod running ``attempt`` (1-based) of step ``step`` of run ``run``.

    >>> step_pod_name("nightly", "raw/orders[2024-01-01]", 1)
    'nightly-raw-orders-2024-01-01-1-299987ee'
    """
    if attempt < 1:
        raise ValueError(f"attempt is 1-based, got {attempt}")
    return _derive(f"{run}-{step}", identity=(run, step, str(attempt)), suffix=str(attempt))


def schedule_run_name(graph: str, schedule: str, tick: datetime) -> str:
    """The name of the Materialization a schedule creates for ``tick`` (timezone-aware).

    One name per tick makes creating it idempotent: a second attempt gets a 409.

    >>> from datetime import datetime, UTC
    >>> schedule_run_name("demo", "daily", datetime(2024, 1, 2, 2, 0, tzinfo=UTC))
    'demo-daily-202401020200-a3e270ed'
    """
    if tick.tzinfo is None:
        raise ValueError("tick must be timezone-aware")
    utc_tick = tick.astimezone(UTC)
    stamp = utc_tick.strftime("%Y%m%d%H%M")
    return _derive(
        f"{graph}-{schedule}", identity=(graph, schedule, utc_tick.isoformat()), suffix=stamp
    )


def label_value(value: str) -> str:
    """``value`` itself when it is a valid label value, else a derived one of at most 63 chars.

    >>> label_value("demo")
    'demo'
    >>> label_value("raw/orders")
    'raw-orders-2459fca4'
    """
    if is_label_value(value):
        return value
    return _derive(value, identity=(value,))


def _derive(readable: str, *, identity: tuple[str, ...], suffix: str = "") -> str:
    """``<readable prefix>[-<suffix>]-<hash>`` within MAX_NAME_LENGTH, a valid DNS-1123 label."""
    digest = hashlib.sha256("\n".join(identity).encode()).hexdigest()[:_HASH_LENGTH]
    tail = f"{suffix}-{digest}" if suffix else digest
    room = MAX_NAME_LENGTH - len(tail) - 1
    prefix = _INVALID_RUN.sub("-", readable.lower())[:room].strip("-")
    return f"{prefix}-{tail}" if prefix else tail
