"""Jinja2 setup shared by pages and the live fragments of the run page: one environment
(templates compiled once), the formatting filters, and the context every page gets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from kasset.naming import asset_object_name
from kasset.ui.auth import CSRF_FIELD, Session
from kasset.ui.views import duration_text

__all__ = [
    "TEMPLATES_DIR",
    "base_path",
    "build_environment",
    "launched_by",
    "page",
    "render_page_context",
]

TEMPLATES_DIR = Path(__file__).with_name("templates")

PHASE_CLASSES = {
    "Succeeded": "ok",
    "Fresh": "ok",
    "materialized": "ok",
    "Failed": "bad",
    "failed": "bad",
    "Running": "run",
    "WaitingRetry": "run",
    "Pending": "idle",
    "Missing": "idle",
    "missing": "idle",
    "Skipped": "warn",
    "Stale": "warn",
    "Canceled": "muted",
}


def base_path(request: Request) -> str:
    """Where the app is mounted (`""` at the root, `/ui` under the operator)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def launched_by(request: Request) -> str:
    """`ui` from a browser session, `ui:api` from a bearer token (no user names until the
    UI has single sign-on)."""
    session = request.scope.get("state", {}).get("kasset_session")
    return "ui:api" if getattr(session, "kind", "") == "bearer" else "ui"


def _ago(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 0:
        return "in " + duration_text(-seconds)
    if seconds < 5:
        return "just now"
    return duration_text(seconds) + " ago"


def _time_tag(moment: datetime | None) -> Markup:
    """`<time>` with a relative text and the exact UTC time as its title."""
    if moment is None:
        return Markup('<span class="dim">never</span>')
    exact = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        moment.isoformat(), exact, _ago(moment)
    )


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _badge(value: str | None) -> Markup:
    text = value or "Unknown"
    return Markup('<span class="badge {}">{}</span>').format(PHASE_CLASSES.get(text, "idle"), text)


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "svg"]),
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ago=_ago,
        time=_time_tag,
        utc=_utc,
        badge=_badge,
        duration=duration_text,
        phase_class=lambda v: PHASE_CLASSES.get(v or "", "idle"),
    )
    env.globals["asset_object_name"] = asset_object_name
    env.globals["csrf_field"] = CSRF_FIELD
    return env


def render_page_context(request: Request) -> dict[str, Any]:
    session = request.scope.get("state", {}).get("kasset_session")
    backend = request.app.state.backend
    return {
        "request": request,
        "base": base_path(request),
        "csrf": session.csrf if isinstance(session, Session) else "",
        "auth_on": request.app.state.auth.enabled,
        "mode": getattr(backend, "mode", ""),
        "now": datetime.now(UTC),
    }


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.templates
    body = env.get_template(template).render(**render_page_context(request), **context)
    return HTMLResponse(body, status_code=status_code)


def escape_text(value: str) -> str:
    return str(escape(value))
