"""Metadata values as HTML, safely: a URL (http or https only) is a link, a table a table,
a number a number the page can plot (`data-value`), markdown a small escaped-first subset,
anything else escaped text.

Every piece of user text is escaped before any markup is added, so nothing a step
reports can inject HTML or script into the UI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup, escape

__all__ = ["metadata_html"]

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")
_MAX_ROWS = 50


def metadata_html(value: Any) -> Markup:
    """One metadata value: a typed entry `{"type", "value"}`, a scalar, or the short text
    a status object keeps (a URL or a table's JSON is recognised by its form)."""
    if isinstance(value, Mapping) and "type" in value and "value" in value:
        return _typed(str(value["type"]), value["value"])
    if isinstance(value, bool):
        return Markup('<span class="bool">{}</span>').format("true" if value else "false")
    if isinstance(value, int | float):
        return Markup('<span class="num" data-value="{}">{}</span>').format(value, value)
    text = "" if value is None else str(value)
    if _is_web_url(text):
        return _link(text)
    if text.startswith("{") and '"records"' in text:
        try:
            return _table(json.loads(text))
        except (ValueError, TypeError, AttributeError):
            pass
    return Markup("{}").format(text)


def _typed(kind: str, value: Any) -> Markup:
    if kind == "url" and isinstance(value, str):
        return _link(value) if _is_web_url(value) else Markup("{}").format(value)
    if kind == "md" and isinstance(value, str):
        return _markdown(value)
    if kind == "table" and isinstance(value, Mapping):
        return _table(value)
    if kind in ("json", "table_schema"):
        return Markup("<pre>{}</pre>").format(json.dumps(value, indent=2, ensure_ascii=False))
    if kind in ("path", "asset"):
        return Markup("<code>{}</code>").format(value)
    return metadata_html(value)


def _is_web_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in text


def _link(url: str) -> Markup:
    return Markup('<a href="{}" rel="noopener noreferrer nofollow" target="_blank">{}</a>').format(
        url, url
    )


def _markdown(text: str) -> Markup:
    """Headings, bold, code and list items; everything escaped first."""
    lines = []
    for raw in text.splitlines():
        line = str(escape(raw))
        line = _BOLD.sub(r"<strong>\1</strong>", line)
        line = _CODE.sub(r"<code>\1</code>", line)
        if line.startswith("#"):
            level = min(6, 3 + len(line) - len(line.lstrip("#")))
            line = f"<h{level}>{line.lstrip('#').strip()}</h{level}>"
        elif line.startswith(("- ", "* ")):
            line = f"<li>{line[2:]}</li>"
        elif line:
            line = f"<p>{line}</p>"
        lines.append(line)
    return Markup('<div class="md">' + "".join(lines) + "</div>")


def _table(value: Mapping[str, Any]) -> Markup:
    schema = value.get("schema") or {}
    records = list(value.get("records") or [])
    columns = [str(c.get("name")) for c in schema.get("columns") or [] if isinstance(c, Mapping)]
    if not columns:
        columns = list(dict.fromkeys(k for r in records if isinstance(r, Mapping) for k in r))
    head = Markup("").join(Markup("<th>{}</th>").format(c) for c in columns)
    rows = Markup("").join(
        Markup("<tr>{}</tr>").format(
            Markup("").join(Markup("<td>{}</td>").format(metadata_html(r.get(c))) for c in columns)
        )
        for r in records[:_MAX_ROWS]
        if isinstance(r, Mapping)
    )
    omitted = int(value.get("omittedRecords") or 0) + max(0, len(records) - _MAX_ROWS)
    note = Markup("<caption>{} more rows</caption>").format(omitted) if omitted else Markup("")
    return Markup('<table class="metadata-table">{}<tr>{}</tr>{}</table>').format(note, head, rows)
