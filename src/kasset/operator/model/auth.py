"""Step tokens and bearer-token comparison for the operator's HTTP endpoints.

A step pod proves which step it reports for with an HMAC of the step identity under the
operator's secret, so the operator stores no per-step state and a token for one step can
never report for another. Tokens are compared in constant time and never logged.

>>> token = step_token(b"secret", "ns", "run-1", "raw/orders", 1)
>>> verify_step_token(b"secret", "ns", "run-1", "raw/orders", 1, token)
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re

__all__ = ["RedactTokens", "step_token", "tokens_equal", "verify_step_token"]


def _step_identity(namespace: str, run: str, step: str, attempt: int) -> bytes:
    return f"{namespace}/{run}/{step}/{attempt}".encode()


def step_token(secret: bytes, namespace: str, run: str, step: str, attempt: int) -> str:
    """The bearer token of one step attempt: base64url (unpadded) HMAC-SHA256 of
    ``namespace/run/step/attempt`` under ``secret``."""
    digest = hmac.new(secret, _step_identity(namespace, run, step, attempt), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")


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
