"""Step tokens, constant-time comparison and token redaction in logs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

import pytest

from kasset.operator.model import auth
from kasset.operator.model.auth import RedactTokens, step_token, tokens_equal, verify_step_token

SECRET = b"operator-secret"


def test_step_token_is_unpadded_base64url_hmac_of_the_step_identity() -> None:
    expected = (
        base64.urlsafe_b64encode(
            hmac.new(SECRET, b"ns/run-1/raw/orders[2024-01-01]/2", hashlib.sha256).digest()
        )
        .rstrip(b"=")
        .decode()
    )

    token = step_token(SECRET, "ns", "run-1", "raw/orders[2024-01-01]", 2)

    assert token == expected
    assert "=" not in token and "+" not in token and "/" not in token


def test_token_verifies_for_its_own_step_attempt_only() -> None:
    token = step_token(SECRET, "ns", "run-1", "raw/orders", 1)

    assert verify_step_token(SECRET, "ns", "run-1", "raw/orders", 1, token)
    assert not verify_step_token(SECRET, "other", "run-1", "raw/orders", 1, token)
    assert not verify_step_token(SECRET, "ns", "run-2", "raw/orders", 1, token)
    assert not verify_step_token(SECRET, "ns", "run-1", "raw/customers", 1, token)
    assert not verify_step_token(SECRET, "ns", "run-1", "raw/orders", 2, token)
    assert not verify_step_token(b"another-secret", "ns", "run-1", "raw/orders", 1, token)


def test_verification_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    compare_digest = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    token = step_token(SECRET, "ns", "run", "a", 1)

    assert verify_step_token(SECRET, "ns", "run", "a", 1, token)
    assert calls == [(token.encode(), token.encode())]


def test_tokens_equal_handles_any_text_without_raising() -> None:
    assert tokens_equal("abc", "abc")
    assert not tokens_equal("abc", "abd")
    assert not tokens_equal("abc", "ab")
    assert tokens_equal("päss", "päss")
    assert not tokens_equal("päss", "pass")
    assert not tokens_equal("\udcff", "x")


def _captured(caplog: pytest.LogCaptureFixture, message: str, *args: object) -> str:
    logger = logging.getLogger("kasset.test.redact")
    handler_filter = RedactTokens()
    logger.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info(message, *args)
    finally:
        logger.removeFilter(handler_filter)
    return caplog.text


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("request headers: Authorization: Bearer %s", ()),
        ("got %s", ("Bearer {token}",)),
        ("env KASSET_EVENT_TOKEN=%s", ()),
        ("headers {'authorization': 'bearer %s'}", ()),
    ],
)
def test_redact_tokens_masks_bearer_tokens_in_log_records(
    caplog: pytest.LogCaptureFixture, message: str, args: tuple[str, ...]
) -> None:
    token = step_token(SECRET, "ns", "run", "a", 1)
    if args:
        text = _captured(caplog, message, *(a.format(token=token) for a in args))
    else:
        text = _captured(caplog, message, token)

    assert token not in text
    assert "[REDACTED]" in text


def test_redact_tokens_leaves_other_messages_alone(caplog: pytest.LogCaptureFixture) -> None:
    text = _captured(caplog, "step %s of run %s started", "raw/orders", "run-1")

    assert "step raw/orders of run run-1 started" in text
