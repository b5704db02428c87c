"""Tokens are compared in constant time. (Every route but health/metrics/login/static
refusing a request without the token: tests/unit/ui/test_ui_auth.py and
tests/unit/operator/test_ingest.py, re-checked from the OpenAPI in test_api_fuzz.py; tokens
never logged: the operator host process at DEBUG in test_admission_fuzz.py, plus
tests/unit/operator/test_ingest.py::test_the_token_never_appears_in_logs.)"""

from __future__ import annotations

import ast
import hmac
import inspect
from pathlib import Path

import pytest

import kasset.operator.model.auth as operator_auth
import kasset.ui.auth as ui_auth
from kasset.ui.auth import AuthConfig

SRC = Path(operator_auth.__file__).resolve().parents[1]
SECRETISH = ("token", "secret", "mac", "csrf", "digest", "expected", "candidate")
#: (`present` in ui/local_runs.py, `secret_key_ref` in resources/ are not secrets)
NOT_SECRET = ("present", "secret_key_ref")


def _secret_comparisons(path: Path) -> list[str]:
    """`==`/`!=` comparisons whose operands are named like a token or MAC."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Compare) and any(
            isinstance(o, ast.Eq | ast.NotEq) for o in node.ops
        ):
            names = [ast.unparse(x).lower() for x in [node.left, *node.comparators]]
            if (
                any(any(s in n for s in SECRETISH) for n in names)
                and not any(any(x in n for x in NOT_SECRET) for n in names)
                and not any(n.startswith(("'", '"', "none", "len(")) or n.isdigit() for n in names)
            ):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_token_is_compared_with_eq_anywhere_in_the_source() -> None:
    files = [p for p in SRC.rglob("*.py")]
    found = [line for p in files for line in _secret_comparisons(p)]
    assert not found, "\n".join(found)


def test_the_comparisons_are_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (operator_auth, ui_auth):
        assert "compare_digest" in inspect.getsource(module)
    calls: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def spy(a: object, b: object) -> bool:
        calls.append((a, b))
        return real(a, b)  # type: ignore[arg-type]

    monkeypatch.setattr(hmac, "compare_digest", spy)
    token = operator_auth.step_token(b"k", "ns", "r", "s", 1)
    assert operator_auth.verify_step_token(b"k", "ns", "r", "s", 1, token)
    assert not operator_auth.verify_step_token(b"k", "ns", "r", "s", 1, token + "x")
    n = len(calls)
    assert n >= 2
    config = AuthConfig(token="the-ui-token")
    assert config.check_token("the-ui-token") and not config.check_token("nope")
    assert len(calls) >= n + 2
