"""Metadata in the UI: links, tables, numbers and markdown, never injected HTML."""

from __future__ import annotations

from kasset import MetadataValue, TableColumn, TableRecord, TableSchema
from kasset.runtime.records import summarize_metadata
from kasset.ui.metadata_view import metadata_html


def wire(value: object) -> object:
    return summarize_metadata({"v": value})["v"]


def test_a_url_is_a_link_and_a_javascript_url_is_only_text() -> None:
    html = metadata_html(wire(MetadataValue.url("https://example.com/a?b=1&c=2")))
    assert html.startswith('<a href="https://example.com/a?b=1&amp;c=2" rel="noopener')
    unsafe = metadata_html(wire(MetadataValue.url("javascript:alert(1)")))
    assert "<a" not in unsafe and "javascript:alert(1)" in unsafe


def test_markdown_is_rendered_with_its_html_escaped() -> None:
    html = metadata_html(wire(MetadataValue.md("# Title\n<script>alert(1)</script> **bold**")))
    assert "<h4>Title</h4>" in html and "<strong>bold</strong>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_table_is_a_table_and_its_cells_are_escaped() -> None:
    table = MetadataValue.table(
        [TableRecord({"name": "<b>x</b>", "n": 2})],
        TableSchema([TableColumn("name"), TableColumn("n", "int")]),
    )
    html = metadata_html(wire(table))
    assert "<th>name</th><th>n</th>" in html
    assert "<td>&lt;b&gt;x&lt;/b&gt;</td>" in html
    assert '<td><span class="num" data-value="2">2</span></td>' in html


def test_numbers_carry_their_value_for_plotting_and_text_is_escaped() -> None:
    assert metadata_html(3.5) == '<span class="num" data-value="3.5">3.5</span>'
    assert metadata_html("<img src=x onerror=alert(1)>") == ("&lt;img src=x onerror=alert(1)&gt;")
    assert metadata_html("https://example.com").startswith("<a href")  # a status summary
