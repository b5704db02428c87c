"""The web UI in a real headless Chromium: log in, read the lineage, open an asset,
materialize it, watch the run succeed live (no reload) and read a step's logs.

Runs against `kasset dev` (a LocalBackend in a uvicorn thread) and, marked `cluster`,
against a real operator's UI: that variant needs KASSET_UI_URL, KASSET_UI_TOKEN and
KASSET_UI_GRAPH (namespace/name) of a graph with an unpartitioned root asset.
Screenshots land in artifacts/screenshots/.
"""

from __future__ import annotations

import re
import shutil
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo import Demo

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

DEMO = '''
"""A small graph for the browser test: prints, sleeps a little, has a check."""
import time
from kasset import (AssetCheckResult, DailyPartitionsDefinition, Definitions,
                    ScheduleDefinition, asset, asset_check)

@asset(group="raw", description="Numbers to start from.")
def numbers() -> list[int]:
    print("loading numbers from the source", flush=True)
    time.sleep(1.0)
    return [1, 2, 3, 4]

@asset(group="marts", tags={"team": "data"})
def total(numbers: list[int]) -> int:
    print(f"summing {len(numbers)} numbers", flush=True)
    time.sleep(1.0)
    return sum(numbers)

@asset_check(asset=total, blocking=True)
def total_is_positive(total: int) -> AssetCheckResult:
    return AssetCheckResult(passed=total > 0, metadata={"total": total})

@asset(group="marts", partitions_def=DailyPartitionsDefinition(start="2024-01-01",
                                                               end="2024-01-15"))
def daily_events() -> int:
    return 7

defs = Definitions(assets=[numbers, total, daily_events], asset_checks=[total_is_positive],
                   schedules=[ScheduleDefinition(name="nightly", cron="0 2 * * *",
                                                 selection="group:raw")])
'''


@dataclass
class UIServer:
    url: str
    token: str
    graph: str  # namespace/name
    root_asset: str  # a key whose node we click
    downstream_asset: str
    root_and_children: int  # nodes that `root_asset+` selects
    mode: str = "dev"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dev_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UIServer]:
    import uvicorn

    from kasset.local.loading import load_definitions
    from kasset.ui.app import create_app
    from kasset.ui.auth import AuthConfig
    from kasset.ui.local_backend import LocalBackend

    package = tmp_path / "ui_demo"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "defs.py").write_text(textwrap.dedent(DEMO))
    monkeypatch.chdir(tmp_path)
    location, defs = load_definitions("ui_demo/defs.py")
    backend = LocalBackend(defs, location, home=tmp_path / ".kasset")
    auth = AuthConfig.generate()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(backend, auth=auth), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    assert auth.token is not None
    yield UIServer(
        f"http://127.0.0.1:{port}", auth.token, f"local/{backend.name}", "numbers", "total", 2
    )
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def cluster_server(demo: Demo) -> UIServer:
    """The UI of the operator installed by the Helm chart (the demo's install)."""
    return UIServer(
        demo.url,
        demo.token,
        f"{demo.namespace}/{demo.graph}",
        "country_populations",
        "continent_stats",
        3,
        mode="cluster",
    )


@pytest.fixture(params=["dev", pytest.param("cluster", marks=pytest.mark.cluster)])
def ui_server(request: pytest.FixtureRequest) -> UIServer:
    server: UIServer = request.getfixturevalue(f"{request.param}_server")
    return server


@pytest.fixture
def page(ui_server: UIServer) -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which("dot") is None:
        pytest.fail("needs Debian's chromium and graphviz: run hack/setup")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()


def _shot(page: object, server: UIServer, name: str) -> None:
    path = SCREENSHOTS / f"{server.mode}-{name}.png"
    page.screenshot(path=str(path), full_page=False)  # type: ignore[attr-defined]


def _log_in(page: object, server: UIServer) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{server.url}/assets")
    expect(page).to_have_url(f"{server.url}/login?next=%2Fassets")
    _shot(page, server, "login")
    page.fill("input[name=token]", server.token)
    page.click("button.primary")
    expect(page).to_have_url(f"{server.url}/assets")


def test_materialize_from_the_lineage_and_watch_the_run_live(
    page: object, ui_server: UIServer
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    _log_in(page, ui_server)
    expect(page.locator("#asset-table tbody tr").first).to_be_visible()
    _shot(page, ui_server, "assets")

    page.click("header nav a:text('Lineage')")
    node = page.locator(f'svg.lineage .node[data-key="{ui_server.root_asset}"]')
    expect(node).to_be_visible()
    _shot(page, ui_server, "lineage")
    node.click()
    expect(page.locator("h1")).to_contain_text(ui_server.root_asset)
    _shot(page, ui_server, "asset-before")

    page.check("input[name=downstream]")
    page.click("#materialize-button")
    expect(page).to_have_url(re.compile(r"/runs/local-|/runs/.+/.+"))
    page.evaluate("window.__noReload = true")
    badge = page.locator("#run-live .runhead .badge")
    expect(badge).to_have_text("Running", timeout=30_000)
    _shot(page, ui_server, "run-running")
    expect(badge).to_have_text("Succeeded", timeout=120_000)
    assert page.evaluate("window.__noReload === true"), "the run page reloaded"
    expect(
        page.locator(f'#steps tr[data-step="{ui_server.downstream_asset}"] .badge')
    ).to_have_text("Succeeded")

    page.click(f'#steps tr[data-step="{ui_server.root_asset}"] a[data-log]')
    expect(page.locator("#log-output")).to_contain_text(
        "loading numbers" if ui_server.root_asset == "numbers" else ""
    )
    _shot(page, ui_server, "run-succeeded-logs")

    page.click("header nav a:text('Assets')")
    row = page.locator(f'#asset-table tr:has(a.key:text-is("{ui_server.root_asset}"))')
    expect(row.locator(".badge")).to_have_text("Fresh")
    page.fill("#asset-q", ui_server.downstream_asset)
    expect(page.locator("#asset-table tbody tr:visible")).to_have_count(1)
    _shot(page, ui_server, "assets-filtered")


def test_selection_errors_show_inline_and_partitions_can_be_picked(
    page: object, ui_server: UIServer
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    _log_in(page, ui_server)
    page.goto(f"{ui_server.url}/lineage?select=nosuchasset")
    expect(page.locator("#selection-error")).to_contain_text("no asset 'nosuchasset'")
    _shot(page, ui_server, "lineage-selection-error")
    page.fill("#select-input", f"{ui_server.root_asset}+")
    page.click("#selection-form button")
    expect(page.locator("svg.lineage .node")).to_have_count(ui_server.root_and_children)
    if ui_server.root_asset != "numbers":
        return  # the partitioned asset below belongs to the dev demo
    page.goto(f"{ui_server.url}/assets")
    page.click("a.key:text-is('daily_events')")
    cells = page.locator("#partition-grid .cell")
    expect(cells).to_have_count(14)
    cells.nth(2).click()
    cells.nth(4).click(modifiers=["Shift"])
    expect(page.locator("#partition-input")).to_have_value("2024-01-03..2024-01-05")
    _shot(page, ui_server, "asset-partitions")
    page.click("#materialize-button")
    badge = page.locator("#run-live .runhead .badge")
    expect(badge).to_have_text("Succeeded", timeout=120_000)
    page.goto(f"{ui_server.url}/runs")
    _shot(page, ui_server, "runs")
    page.goto(f"{ui_server.url}/schedules")
    expect(page.locator("table.grid")).to_contain_text("nightly")
    _shot(page, ui_server, "schedules")


def _dev_page(dev_server: UIServer, **context: object) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1200, "height": 800}, **context)  # type: ignore[arg-type]
        page = ctx.new_page()
        page.set_default_timeout(20_000)
        yield page
        ctx.close()
        browser.close()


def test_the_ui_follows_the_systems_dark_mode_and_the_toggle_overrides_it(
    dev_server: UIServer,
) -> None:
    from playwright.sync_api import Page, expect

    for page in _dev_page(dev_server, color_scheme="dark"):
        assert isinstance(page, Page)
        _log_in(page, dev_server)
        html = page.locator("html")
        expect(html).to_have_attribute("data-theme", "dark")
        background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        assert background == "rgb(13, 17, 23)", background
        _shot(page, dev_server, "assets-dark")
        toggle = page.locator("#theme-toggle")
        expect(toggle).to_have_text("Theme: auto")
        toggle.click()  # auto -> light
        expect(html).to_have_attribute("data-theme", "light")
        assert page.evaluate("getComputedStyle(document.documentElement).backgroundColor") == (
            "rgb(255, 255, 255)"
        )
        page.reload()  # the choice is kept
        expect(html).to_have_attribute("data-theme", "light")
        expect(page.locator("#theme-toggle")).to_have_text("Theme: light")
        page.locator("#theme-toggle").click()  # light -> dark
        expect(html).to_have_attribute("data-theme", "dark")


def test_times_are_shown_in_the_viewers_time_zone_and_stay_current(dev_server: UIServer) -> None:
    from playwright.sync_api import Page, expect

    for page in _dev_page(dev_server, timezone_id="Asia/Tokyo"):
        assert isinstance(page, Page)
        page.clock.install()  # fake timers that run at the normal pace until told otherwise
        _log_in(page, dev_server)
        page.click(f'#asset-table a.key:text-is("{dev_server.root_asset}")')
        page.click("#materialize-button")
        page.wait_for_url(re.compile(r".*/runs/.*"))
        created = page.locator("time[datetime]").first
        expect(created).to_have_attribute("title", re.compile(r"\(Asia/Tokyo\)$"))
        # the page's clock moves on 2 minutes: the relative text follows without a reload
        page.clock.fast_forward("02:05")
        expect(created).to_have_text(re.compile(r"^2m\d\ds ago$"))
