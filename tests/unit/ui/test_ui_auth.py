"""Authentication and CSRF: a token on every route but health, metrics, login and
static files; cookie sessions need a same-origin request and the CSRF token to mutate."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount
from ui_testkit import NS, TOKEN, client, demo_backend, login

from kasset.ui.app import create_app
from kasset.ui.auth import COOKIE_NAME, AuthConfig, TokenRedactingFilter, is_loopback, safe_next
from kasset.ui.cli import run_dev

PUBLIC = {"/healthz", "/metrics", "/login"}
APP = create_app(demo_backend(), auth=AuthConfig(token=TOKEN))
SAMPLE = {"namespace": NS, "name": "run-failed", "step": "raw/orders[2024-01-05]"}


def _flat(routes: list[Any]) -> list[Any]:
    # Newer FastAPI keeps included routers as one entry; older ones inline their routes.
    flat: list[Any] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        flat.extend(_flat(inner.routes) if inner is not None else [route])
    return flat


def _routes() -> list[tuple[str, str]]:
    found = []
    for route in _flat(APP.routes):
        if isinstance(route, APIRoute) or hasattr(route, "methods"):
            path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE[m.group(1)], route.path)
            found.extend((method, path) for method in sorted(route.methods or ()))
        elif isinstance(route, Mount):
            found.append(("GET", f"{route.path}/kasset.css"))
    return [r for r in found if r[0] != "HEAD"]


PROTECTED = [r for r in _routes() if r[1] not in PUBLIC and not r[1].startswith("/static")]


def test_every_route_is_listed() -> None:
    paths = {path for _, path in _routes()}
    assert {"/api/v1/runs", "/lineage", "/api/openapi.json", "/static/kasset.css"} <= paths
    assert len(PROTECTED) >= 25


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_route_needs_the_token(method: str, path: str) -> None:
    anonymous = client(bearer=False)
    response = anonymous.request(method, path)
    if method == "GET" and not path.startswith("/api/"):
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    else:
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["detail"]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_a_wrong_bearer_token_is_refused_everywhere(method: str, path: str) -> None:
    response = client(bearer=False).request(method, path, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "path", ["/healthz", "/metrics", "/login", "/static/kasset.css", "/static/kasset.js"]
)
def test_health_metrics_login_and_static_files_are_public(path: str) -> None:
    assert client(bearer=False).get(path).status_code == 200


def test_the_bearer_token_opens_pages_and_api() -> None:
    c = client()
    assert c.get("/assets").status_code == 200
    assert c.get("/api/v1/graphs").json()[0]["metadata"]["name"] == "shop"


def test_login_sets_a_strict_httponly_session_cookie_not_the_token() -> None:
    c = client(bearer=False)
    response = c.post(
        "/login", data={"token": TOKEN, "next": "/runs"}, headers={"Origin": "http://testserver"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/runs"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=v1.")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http in tests
    assert TOKEN not in cookie
    assert c.get("/runs").status_code == 200


def test_the_cookie_is_secure_behind_https() -> None:
    c = client(bearer=False, base_url="https://kasset.example")
    response = c.post("/login", data={"token": TOKEN}, headers={"Origin": "https://kasset.example"})
    assert "Secure" in response.headers["set-cookie"]


def test_a_wrong_token_does_not_log_in() -> None:
    c = client(bearer=False)
    response = c.post("/login", data={"token": "guess"}, headers={"Origin": "http://testserver"})
    assert response.status_code == 401
    assert "Wrong token" in response.text
    assert "set-cookie" not in response.headers


def test_a_login_form_posted_from_another_site_is_refused() -> None:
    response = client(bearer=False).post(
        "/login", data={"token": TOKEN}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_the_login_link_only_prefills_the_form() -> None:
    c = client(bearer=False)
    response = c.get(f"/login?token={TOKEN}&next=/runs")
    assert response.status_code == 200
    assert 'data-auto="1"' in response.text
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil", ""])
def test_login_never_redirects_off_site(target: str) -> None:
    assert safe_next(target, "/assets") == "/assets"


def test_a_forged_or_expired_cookie_is_refused() -> None:
    config = AuthConfig(token=TOKEN, session_seconds=60)
    assert config.read_session(config.new_session_cookie(now=1000.0), now=1030.0) is not None
    assert config.read_session(config.new_session_cookie(now=1000.0), now=2000.0) is None
    other = AuthConfig(token="another-token").new_session_cookie()
    assert config.read_session(other) is None
    assert config.read_session("v1.1.2.3") is None


def test_cookie_sessions_post_with_the_csrf_header() -> None:
    c = client(bearer=False)
    csrf = login(c)
    body = {"namespace": NS, "graph": "shop", "selection": "raw/customers"}
    refused = c.post("/api/v1/runs", json=body, headers={"Origin": "http://testserver"})
    assert refused.status_code == 403
    wrong = c.post(
        "/api/v1/runs",
        json=body,
        headers={"Origin": "http://testserver", "X-Kasset-CSRF": "x" * 32},
    )
    assert wrong.status_code == 403
    ok = c.post(
        "/api/v1/runs", json=body, headers={"Origin": "http://testserver", "X-Kasset-CSRF": csrf}
    )
    assert ok.status_code == 201


def test_cookie_forms_post_with_the_csrf_field() -> None:
    c = client(bearer=False)
    csrf = login(c)
    form = {"namespace": NS, "graph": "shop", "select": "raw/customers"}
    assert c.post("/launch", data=form, headers={"Origin": "http://testserver"}).status_code == 403
    response = c.post(
        "/launch", data={**form, "csrf": csrf}, headers={"Origin": "http://testserver"}
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/runs/{NS}/shop-ui-")


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "null"},
        {},
    ],
)
def test_cross_site_posts_are_refused_even_with_the_csrf_token(headers: dict[str, str]) -> None:
    c = client(bearer=False)
    csrf = login(c)
    response = c.post(f"/runs/{NS}/run-live/cancel", data={"csrf": csrf}, headers=headers)
    assert response.status_code == 403


def test_the_referer_stands_in_for_a_missing_origin() -> None:
    c = client(bearer=False)
    csrf = login(c)
    response = c.post(
        f"/runs/{NS}/run-live/cancel",
        data={"csrf": csrf},
        headers={"Referer": f"http://testserver/runs/{NS}/run-live"},
    )
    assert response.status_code == 303


def test_bearer_requests_need_no_csrf_token() -> None:
    response = client().post(f"/api/v1/runs/{NS}/run-live/cancel")
    assert response.status_code == 200


def test_without_auth_only_loopback_hosts_are_served() -> None:
    config = AuthConfig.disabled()
    local = client(auth=config, bearer=False, base_url="http://127.0.0.1:3000")
    assert local.get("/assets").status_code == 200
    rebound = client(auth=config, bearer=False, base_url="http://attacker.example")
    assert rebound.get("/assets").status_code == 403
    cross = local.post(f"/runs/{NS}/run-live/cancel", headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403


def test_auth_none_is_refused_off_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_dev(None, None, host="0.0.0.0", auth="none") == 2  # type: ignore[arg-type]
    assert "only allowed on a loopback address" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.1:3000", True),
        ("localhost:3000", True),
        ("[::1]:80", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("kasset.example", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_tokens_in_urls_are_redacted_from_logs() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/1.1" %d',
        ("127.0.0.1", "GET", f"/login?token={TOKEN}&next=/", 200),
        None,
    )
    TokenRedactingFilter().filter(record)
    assert TOKEN not in record.getMessage()
    assert "token=[redacted]" in record.getMessage()


def test_the_token_comes_from_the_environment_or_a_file(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "token"
    path.write_text("from-file\n")
    assert AuthConfig.from_env({"KASSET_UI_TOKEN": "from-env"}).token == "from-env"
    assert AuthConfig.from_env({"KASSET_UI_TOKEN_FILE": str(path)}).token == "from-file"
    with pytest.raises(ValueError, match="KASSET_UI_TOKEN"):
        AuthConfig.from_env({})


def test_responses_carry_a_strict_content_security_policy() -> None:
    headers = client().get("/assets").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/login", "/api/v1/runs"])
def test_a_body_over_the_limit_is_413_by_content_length_or_while_streaming(path: str) -> None:
    from kasset.ui.bodylimit import DEFAULT_MAX_BODY_BYTES, LOGIN_MAX_BODY_BYTES

    limit = LOGIN_MAX_BODY_BYTES if path == "/login" else DEFAULT_MAX_BODY_BYTES
    c = client()
    body = b"token=" + b"x" * (limit + 1)
    declared = c.post(path, content=body, headers={"Origin": "http://testserver"})

    def chunks() -> Any:
        for _ in range(limit // 4096 + 2):
            yield b"x" * 4096

    streamed = c.post(path, content=chunks(), headers={"Origin": "http://testserver"})

    assert declared.status_code == 413
    assert streamed.status_code == 413


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_infinity_in_a_run_request_is_4xx_not_500(value: str) -> None:
    c = client()
    text = '{"graph": "shop", "maxParallel": ' + value + "}"
    response = c.post("/api/v1/runs", content=text, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text


def test_a_session_cookie_with_a_non_ascii_digit_is_refused_not_a_500() -> None:
    c = client(bearer=False)
    cookie = f"{COOKIE_NAME}=v1.\u00b2.a.b".encode()
    response = c.get("/api/v1/graphs", headers={"Cookie": cookie})  # type: ignore[dict-item]
    assert response.status_code == 401
