"""The web UI at 10,000 assets in a real headless Chromium, as `kasset dev` serves it: the
lineage opens folded into its 20 groups, a box opens and closes, the find box finds an
asset inside a closed box and leads to its focus view (+key+); the catalog comes a page
at a time in natural order, filters on the server as you type, and pages on.

(Timings of these pages are in bench/ui_pages.py, not here.)
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
SIZE, GROUPS = 10_000, 20
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

MODULE = f'''
"""{SIZE:,} assets in {GROUPS} groups: a<i> in group g<i % {GROUPS}> reads a<i - 20>."""
from kasset import Definitions, asset

def make(i):
    deps = [f"a{{i - 20}}"] if i >= 20 else []
    @asset(name=f"a{{i}}", group=f"g{{i % {GROUPS}}}", deps=deps)
    def step() -> int:
        return i
    return step

defs = Definitions(assets=[make(i) for i in range({SIZE})])
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def big_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    import uvicorn

    from kasset.local.loading import load_definitions
    from kasset.ui.app import create_app
    from kasset.ui.auth import AuthConfig
    from kasset.ui.local_backend import LocalBackend

    root = tmp_path_factory.mktemp("big")
    (root / "big_defs.py").write_text(MODULE)
    location, defs = load_definitions("big_defs.py:defs", cwd=root)
    backend = LocalBackend(defs, location, home=root / ".kasset")
    auth = AuthConfig.generate()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(backend, auth=auth), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    assert auth.token is not None
    yield f"http://127.0.0.1:{port}", auth.token
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def page(big_dev: tuple[str, str]) -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which("dot") is None:
        pytest.fail("needs Debian's chromium and graphviz: run hack/setup")
    from playwright.sync_api import sync_playwright

    url, token = big_dev
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1400, "height": 900},
            extra_http_headers={"Authorization": f"Bearer {token}"},
            base_url=url,
        )
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        context.close()
        browser.close()


def test_the_lineage_of_10000_assets_opens_folded_and_unfolds_on_demand(page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto("/lineage")
    boxes = page.locator("svg.lineage .node.group-box")
    expect(boxes).to_have_count(GROUPS)
    expect(page.locator("#lineage-groups")).to_contain_text(f"{GROUPS} closed")
    expect(page.locator('.node[data-key="group:g3"]')).to_contain_text("500 assets")
    page.screenshot(path=str(SCREENSHOTS / "big-lineage-folded.png"))

    page.locator('.node[data-key="group:g3"]').click()
    expect(page).to_have_url(re.compile(r"expand=g3"))
    expect(page.locator('svg.lineage .frame[data-frame="frame:g3"]')).to_be_visible()
    expect(page.locator('svg.lineage .node[data-key="a43"]')).to_have_count(1)
    expect(boxes).to_have_count(GROUPS - 1)
    page.screenshot(path=str(SCREENSHOTS / "big-lineage-group-open.png"))

    page.click('[data-close-box="g3"]')
    expect(boxes).to_have_count(GROUPS)
    expect(page.locator('svg.lineage .node[data-key="a43"]')).to_have_count(0)


def test_the_find_box_finds_an_asset_in_a_closed_box_and_focuses_on_it(page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto("/lineage")
    page.fill("#find-node", "a5003")
    results = page.locator("#find-results li")
    expect(results.first).to_contain_text("a5003")
    expect(results.first).to_contain_text("in g3")
    expect(page.locator('.node.found[data-key="group:g3"]')).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "big-lineage-find.png"))

    page.press("#find-node", "Enter")
    expect(page).to_have_url(re.compile(r"select=%2Ba5003%2B"))
    drawn = page.locator("svg.lineage .node")
    expect(drawn).to_have_count(3)  # a4983 -> a5003 -> a5023
    for key in ("a4983", "a5003", "a5023"):
        expect(page.locator(f'svg.lineage .node[data-key="{key}"]')).to_have_count(1)
    page.locator('svg.lineage .node[data-key="a5003"]').click()
    expect(page.locator("h1")).to_contain_text("a5003")


def test_the_catalog_of_10000_assets_pages_in_natural_order_and_filters_as_you_type(
    page: object,
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto("/assets")
    keys = page.locator("#asset-table a.key")
    expect(keys).to_have_count(100)
    assert keys.all_inner_texts()[:12] == [f"a{i}" for i in range(12)]
    expect(page.locator("#asset-pager")).to_contain_text("page 1 of 100")

    page.click("#asset-pager a[rel=next]")
    expect(page.locator("#asset-pager")).to_contain_text("page 2 of 100")
    assert keys.first.inner_text() == "a100"
    expect(page).to_have_url(re.compile(r"page=2"))

    page.fill("#asset-q", "a999")
    expect(keys).to_have_count(11)  # a999 and a9990..a9999
    assert keys.all_inner_texts() == ["a999", *(f"a{i}" for i in range(9990, 10_000))]
    expect(page.locator("#asset-count")).to_have_text(f"11 of {SIZE}")
    expect(page).to_have_url(re.compile(r"q=a999"))
    page.screenshot(path=str(SCREENSHOTS / "big-catalog-filtered.png"))
    page.fill("#asset-q", "no-such-asset")
    expect(page.locator("#asset-none")).to_be_visible()
