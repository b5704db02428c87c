"""Wraps an exception raised by user code (an asset, a check, a custom IO manager) in a
`UserCodeError` that keeps the original and its traceback, bounded for reporting."""

from __future__ import annotations

import builtins
import traceback

from kasset.errors import UserCodeError
from kasset.runtime.records import (
    ErrorRecord,
    RetryRequestRecord,
    error_payload,
    truncate_traceback,
)

__all__ = [
    "error_type_name",
    "safe_str",
    "user_code_error",
    "user_error_payload",
    "user_traceback",
]


def user_code_error(error: BaseException, where: str) -> UserCodeError:
    """`error`, raised in `where` (e.g. "asset 'orders'"), as a UserCodeError. The frame
    that called the user's code is left out of the traceback: it is kasset's, not theirs.

    Call it inside the `except` block, or on an exception whose traceback is intact.
    """
    text = truncate_traceback(user_traceback(error))
    wrapped = UserCodeError(
        f"{where} raised {error_type_name(error)}: {safe_str(error)}",
        original=error,
        traceback_text=text,
    )
    wrapped.__cause__ = error
    return wrapped


def user_traceback(error: BaseException) -> str:
    """The whole traceback of `error`, less its first frame (kasset's call of user code)."""
    tb = error.__traceback__
    return "".join(traceback.format_exception(type(error), error, tb.tb_next if tb else None))


def user_error_payload(
    error: UserCodeError,
    *,
    retryable: bool = True,
    retry_requested: RetryRequestRecord | None = None,
) -> ErrorRecord:
    """The `error` of a STEP_FAILED event: the original exception's type and message
    (for RetryRequested raised `from` an error, that error's)."""
    original = error.original
    if retry_requested is not None and original.__cause__ is not None:
        original = original.__cause__
    return error_payload(
        error_type_name(original),
        safe_str(original),
        error.traceback_text,
        retryable=retryable,
        retry_requested=retry_requested,
    )


def error_type_name(error: BaseException) -> str:
    """`ValueError` for builtins, `module.Name` for everything else."""
    kind = type(error)
    name: str = kind.__name__
    if getattr(builtins, name, None) is kind:
        return name
    return f"{kind.__module__}.{kind.__qualname__}"


def safe_str(error: BaseException) -> str:
    """`str(error)`, even when the exception's own `__str__` is broken."""
    try:
        text: str = str(error)
    except Exception:
        return f"<{type(error).__name__} with an unprintable message>"
    return text
