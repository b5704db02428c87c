"""`/login` and `/logout`: trade the token for a session cookie, and back.

`GET /login?token=...` (the link `kasset dev` prints) only pre-fills the form; the cookie
is set by the POST, so a crafted link on another site cannot log a browser in.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from kasset.ui.auth import COOKIE_NAME, AuthConfig, safe_next
from kasset.ui.templating import base_path, page

__all__ = ["build_login_router"]

_MAX_FORM_BYTES = 16 * 1024


def build_login_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/login")
    def login_form(request: Request, next: str | None = None, token: str | None = None) -> Response:
        auth: AuthConfig = request.app.state.auth
        target = safe_next(next, "/assets")
        if not auth.enabled:
            return RedirectResponse(base_path(request) + target, status_code=303)
        return page(
            request, "login.html", next=target, token=token or "", error="", auto=bool(token)
        )

    @router.post("/login")
    async def login(request: Request) -> Response:
        auth: AuthConfig = request.app.state.auth
        body = await request.body()
        form = {k: v[0] for k, v in parse_qs(body[:_MAX_FORM_BYTES].decode()).items()}
        target = safe_next(form.get("next"), "/assets")
        if not auth.enabled:
            return RedirectResponse(base_path(request) + target, status_code=303)
        if not _same_origin(request):
            return page(
                request,
                "login.html",
                status_code=403,
                next=target,
                token="",
                auto=False,
                error="This login form was posted from another site.",
            )
        if not auth.check_token(form.get("token", "").strip()):
            return page(
                request,
                "login.html",
                status_code=401,
                next=target,
                token="",
                auto=False,
                error="Wrong token.",
            )
        response = RedirectResponse(base_path(request) + target, status_code=303)
        secure = auth.secure_cookies
        if secure is None:
            secure = request.url.scheme == "https"
        response.set_cookie(
            COOKIE_NAME,
            auth.new_session_cookie(),
            max_age=auth.session_seconds,
            path=(base_path(request) or "/"),
            httponly=True,
            samesite="strict",
            secure=secure,
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        response = RedirectResponse(base_path(request) + "/login", status_code=303)
        response.delete_cookie(COOKIE_NAME, path=(base_path(request) or "/"))
        return response

    return router


def _same_origin(request: Request) -> bool:
    # Login CSRF: a login form posted from elsewhere would sign the browser in as us.
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].lower() == host.lower()
