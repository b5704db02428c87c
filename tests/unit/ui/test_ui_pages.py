"""The HTML pages: what each shows, filters without JavaScript, inline errors, and the
lineage of a 1,000-asset graph."""

from __future__ import annotations

import html
import json
import re

import pytest
from bench.memory_backend import MemoryBackend
from ui_testkit import NS, client, demo_backend

from kasset.definitions.keys import AssetKey
from kasset.naming import asset_object_name
from kasset.ui.catalog import natural_key
from kasset.ui.model import graph_of


def test_the_catalog_shows_health_last_materialization_group_and_tags() -> None:
    text = client().get("/assets").text
    assert text.count("<tr data-group") == 3
    assert 'data-health="Failed"' in text and "team=sales" in text
    assert f'href="/runs/{NS}/run-ok"' in text
    assert "3/10" in text  # partitions materialized of total


def test_catalog_filters_work_without_javascript() -> None:
    text = client().get("/assets?health=Failed").text
    shown = re.findall(r'<tr data-group="\w+" data-health="(\w+)"', text)
    assert shown == ["Failed"]
    assert "1 of 3" in text
    assert "1 of 3" in client().get("/assets?q=crm").text
    assert "No asset matches." in client().get("/assets?q=nothing-like-this").text


def test_the_lineage_page_links_every_node_to_its_asset() -> None:
    text = client().get("/lineage").text
    for key in ("raw/customers", "raw/orders", "marts/revenue"):
        assert f'href="/assets/{NS}/{asset_object_name("shop", key)}"' in text
    assert 'class="node h-failed"' in text and "<style>" not in text


def test_a_bad_selection_is_shown_inline_with_the_whole_graph() -> None:
    response = client().get("/lineage?select=raw/ordrs%2B")
    assert response.status_code == 400
    assert 'id="selection-error"' in response.text
    assert "no asset &#39;raw/ordrs&#39;" in response.text
    assert response.text.count('class="node ') == 3
    assert 'action="/launch"' not in response.text  # nothing to launch


def test_a_selection_shows_only_its_assets() -> None:
    text = client().get("/lineage?select=group:raw").text
    assert text.count('class="node ') == 2
    assert "2 of 3 assets" in text


def test_the_asset_page_has_history_partitions_checks_and_neighbours() -> None:
    name = asset_object_name("shop", "raw/orders")
    text = client().get(f"/assets/{NS}/{name}").text
    assert text.count('class="cell ') == 10
    assert text.count('class="cell ok"') == 3 and text.count('class="cell bad"') == 1
    assert 'name="partitions"' in text
    assert "marts/revenue" in text  # downstream link
    assert "run-failed" in text and "run-ok" in text  # history from runs' steps
    revenue = client().get(f"/assets/{NS}/{asset_object_name('shop', 'marts/revenue')}").text
    assert "positive" in revenue and "not run" in revenue


def test_materializing_from_the_asset_page_redirects_to_the_run() -> None:
    backend = demo_backend()
    name = asset_object_name("shop", "raw/orders")
    response = client(backend).post(
        f"/assets/{NS}/{name}/materialize", data={"partitions": "2024-01-04", "downstream": "1"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/runs/{NS}/{backend.launched[-1].metadata.name}"
    assert backend.launched[-1].spec.selection == "raw/orders*"


def test_a_bad_partition_is_shown_on_the_asset_page() -> None:
    name = asset_object_name("shop", "raw/orders")
    response = client().post(f"/assets/{NS}/{name}/materialize", data={"partitions": "nope"})
    assert response.status_code == 400
    assert 'id="launch-error"' in response.text and 'value="nope"' in response.text


def test_the_run_page_has_a_timeline_logs_and_actions() -> None:
    text = client().get(f"/runs/{NS}/run-failed").text
    assert 'data-step="raw/orders[2024-01-05]"' in text
    assert "ValueError: bad row" in text
    assert 'data-log="raw/orders[2024-01-05]"' in text
    assert "2 <span" in text and "(1 infra)</span>" in text  # attempts lost to the node
    assert 'action="/runs/shop/run-failed/rerun"' in text
    assert "cancel-form" not in text
    live = client().get(f"/runs/{NS}/run-live").text
    assert 'action="/runs/shop/run-live/cancel"' in live
    assert 'data-sse="/api/v1/runs/shop/run-live/events?fragment=1"' in live


def test_runs_filter_by_phase() -> None:
    text = client().get("/runs?phase=Failed").text
    assert "run-failed" in text and "run-ok" not in text


def test_schedules_page_lists_next_ticks() -> None:
    text = client().get("/schedules").text
    assert "nightly" in text and "0 2 * * *" in text and text.count(" UTC <span") == 3


def test_unknown_pages_render_a_404_page() -> None:
    response = client().get(f"/runs/{NS}/nope")
    assert response.status_code == 404 and "no run" in response.text


def test_pages_work_when_mounted_under_a_prefix() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from kasset.ui.app import create_app
    from kasset.ui.auth import AuthConfig

    outer = FastAPI()
    outer.mount("/ui", create_app(demo_backend(), auth=AuthConfig(token="t")))
    c = TestClient(outer, follow_redirects=False)
    assert c.get("/ui/assets").headers["location"] == "/ui/login?next=%2Fassets"
    text = c.get("/ui/assets", headers={"Authorization": "Bearer t"}).text
    assert 'href="/ui/static/kasset.css"' in text and 'href="/ui/runs/shop/run-ok"' in text


@pytest.fixture(scope="module")
def big() -> MemoryBackend:
    return MemoryBackend.synthetic(1000)


def test_the_lineage_of_1000_assets_opened_whole_has_every_node_and_edge(
    big: MemoryBackend,
) -> None:
    text = client(big).get("/lineage?expand=*").text
    keys = set(re.findall(r'class="node h-\w+" data-key="([^"]+)"', text))
    assert keys == {a.key for a in big.graph("demo", "synthetic").spec.assets}
    edges = sum(len(a.deps) for a in big.graph("demo", "synthetic").spec.assets)
    assert text.count('<path class="edge"') == edges


def _drawn(text: str) -> list[str]:
    return re.findall(r'class="node h-\w+(?: group-box)?" data-key="([^"]+)"', text)


def test_the_lineage_of_1000_assets_opens_folded_into_its_groups(big: MemoryBackend) -> None:
    text = client(big).get("/lineage").text
    assert sorted(_drawn(text)) == [f"group:g{i}" for i in range(10)]
    assert "100 assets" in text and "10 closed" in text
    link = re.search(r'<a href="([^"]+)" class="node h-\w+ group-box" data-key="group:g3"', text)
    assert link is not None
    opened = client(big).get("/lineage" + html.unescape(link.group(1))).text
    drawn = _drawn(opened)
    assert len(drawn) == 9 + 100 and "group:g3" not in drawn and "g3/asset_00003" in drawn
    assert 'data-close-box="g3"' in opened


def test_the_lineage_index_finds_assets_inside_closed_boxes(big: MemoryBackend) -> None:
    text = client(big).get("/lineage").text
    raw = re.search(r'<script type="application/json" id="lineage-index">(.*?)</script>', text)
    assert raw is not None
    index = dict(json.loads(raw.group(1)))
    assert len(index) == 1000 and index["g3/asset_00003"] == "group:g3"


def test_focus_on_an_asset_shows_its_parents_and_children(big: MemoryBackend) -> None:
    pure = graph_of(big.graph("demo", "synthetic"))
    key = AssetKey.from_string("g5/asset_00205")
    expected = {key, *pure.parents(key), *pure.children(key)}
    text = client(big).get("/lineage", params={"select": "+g5/asset_00205+"}).text
    assert set(_drawn(text)) == {k.to_string() for k in expected}


def test_the_catalog_of_1000_assets_comes_in_pages_in_natural_order(big: MemoryBackend) -> None:
    text = client(big).get("/assets").text
    keys = re.findall(r'<a class="key" href="[^"]+">([^<]+)</a>', text)
    assert len(keys) == 100 and keys == sorted(keys, key=natural_key)
    assert "page 1 of 10" in text
    last = client(big).get("/assets?page=10").text
    assert "901\u20131000 of 1000" in last and "page 10 of 10" in last
    filtered = client(big).get("/assets?group=g3&page=2").text  # one page: clamped to it
    shown = re.findall(r'<a class="key" href="[^"]+">([^<]+)</a>', filtered)
    assert len(shown) == 100 and all(key.startswith("g3/") for key in shown)
    assert 'id="asset-pager"' not in filtered


def test_the_asset_page_shows_owners_kinds_and_typed_metadata_safely() -> None:
    text = client().get(f"/assets/{NS}/{asset_object_name('shop', 'raw/customers')}").text
    assert '<span class="tag">team:sales</span>' in text and "code version" in text
    assert "<h4>CRM</h4>" in text and "<script>x()" not in text
    assert '<a href="https://docs.example"' in text
    assert '<a href="https://crm.example.com/x"' in text  # the latest materialization's
