"""Step tokens and bearer-token comparison for the operator's HTTP endpoints.

A step pod proves which step it reports for with an HMAC of the step identity under the
operator's secret, so the operator stores no per-step state and a token for one step can
never report for another. The token carries its identity (a JSON array, so a `/` in a
run or step name cannot shift the fields), which lets the ingest endpoint check it before
reading the body. Tokens are compared in constant time and never logged.

>>> token = step_token(b"secret", "ns", "run-1", "raw/orders", 1)
>>> verify_step_token(b"secret", "ns", "run-1", "raw/orders", 1, token)
True
>>> read_step_token(b"secret", token)
StepIdentity(namespace='ns', run='run-1', step='raw/orders', attempt=1)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from typing import NamedTuple

__all__ = [
    "RedactTokens",
    "StepIdentity",
    "read_step_token",
    "step_token",
    "tokens_equal",
    "verify_step_token",
]

#: Longest token `read_step_token` decodes (identity names are bounded far below it).
MAX_TOKEN_LENGTH = 4096


class StepIdentity(NamedTuple):
    """The step attempt a token speaks for."""

    namespace: str
    run: str
    step: str
    attempt: int


def _step_identity(namespace: str, run: str, step: str, attempt: int) -> bytes:
    """The signed bytes: a JSON array, unambiguous whatever the names contain."""
    return json.dumps([namespace, run, step, attempt], separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(secret: bytes, identity: bytes) -> str:
    return _b64(hmac.new(secret, identity, hashlib.sha256).digest())


def step_token(secret: bytes, namespace: str, run: str, step: str, attempt: int) -> str:
    """The bearer token of one step attempt: ``<identity>.<mac>``, both base64url
    (unpadded); the identity is the JSON array ``[namespace, run, step, attempt]`` and
    the mac its HMAC-SHA256 under ``secret``."""
    identity = _step_identity(namespace, run, step, attempt)
    return f"{_b64(identity)}.{_mac(secret, identity)}"


def read_step_token(secret: bytes, token: str) -> StepIdentity | None:
    """The step attempt ``token`` was issued for, or None when it is not a valid token
    (malformed, or its mac does not match: compared in constant time)."""
    encoded, dot, mac = token.partition(".")
    if not dot or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        identity = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return None
    if not tokens_equal(_mac(secret, identity), mac):
        return None
    try:
        namespace, run, step, attempt = json.loads(identity)
    except (ValueError, TypeError):
        return None
    if not all(isinstance(name, str) for name in (namespace, run, step)):
        return None
    if not isinstance(attempt, int) or isinstance(attempt, bool):
        return None
    return StepIdentity(namespace, run, step, attempt)


def verify_step_token(
    secret: bytes, namespace: str, run: str, step: str, attempt: int, token: str
) -> bool:
    """Whether ``token`` is the step token of this attempt (constant-time comparison)."""
    return tokens_equal(step_token(secret, namespace, run, step, attempt), token)


def tokens_equal(a: str, b: str) -> bool:
    """Constant-time equality of two tokens, compared as UTF-8 bytes.

    Encoding first lets non-ASCII input be compared instead of raising, as
    `hmac.compare_digest` does for non-ASCII `str`.
    """
    return hmac.compare_digest(_utf8(a), _utf8(b))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


# `Bearer <token>` anywhere in a message, and the step token env var / header names in
# `KEY=value` or `key: value` form (e.g. a dumped environment or request headers).
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",;]+")
_NAMED = re.compile(
    r"(?i)((?:KASSET_EVENT_TOKEN|authorization)['\"]?\s*[=:]\s*['\"]?)(?!bearer\s)[^\s'\",;]+"
)
_MASK = "[REDACTED]"


def _redact(text: str) -> str:
    return _NAMED.sub(rf"\g<1>{_MASK}", _BEARER.sub(rf"\g<1>{_MASK}", text))


class RedactTokens(logging.Filter):
    """A logging filter that masks bearer tokens in log records.

    Attach it to handlers (or loggers) of the operator, e.g.
    ``logging.getLogger().handlers[0].addFilter(RedactTokens())``. The record's message is
    rendered once with its arguments and replaced by the redacted text, so a token passed as
    an argument is masked as well.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's problem, not ours
            return True
        redacted = _redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_text:
            record.exc_text = _redact(record.exc_text)
        return True
