"""The HUD's pure modules (dock layout, projection, fleet, backoff, console targets, card),
imported into the system's Chromium from hud/ served alone: the rules the page relies on,
checked without the stack; and the test hook, fetched only by a page opened for tests."""

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Request, async_playwright

from browser import CHROMIUM_FLAGS, chromium_path, served_hud, with_test_hook
from loopback_ports import free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """The HUD's page, served alone: with no twin behind it, logins are off."""
    with served_hud(free_port()) as address:
        yield address


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.fail("no Chromium on PATH: install the distribution's chromium (.ci/run does)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        await browser.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def page(browser: Browser, url: str) -> AsyncIterator[Page]:
    page = await browser.new_page()
    await page.goto(f"{url}style.css")  # the origin, without the app
    yield page
    await page.close()


async def run(page: Page, module: str, body: str) -> Any:
    """`body` (an async function body with the module as `m`) evaluated in the page."""
    return await page.evaluate(f"async () => {{ const m = await import('/{module}'); {body} }}")


async def test_the_default_layout_is_valid_and_each_widget_fits_once(page: Page) -> None:
    result = await run(
        page,
        "dock-layout.js",
        """
        const layout = m.DEFAULT_LAYOUT;
        return {
          valid: JSON.stringify(m.validLayout(layout)) === JSON.stringify(layout),
          duplicate: m.validLayout([...layout, layout[0]]),
          unknown: m.validLayout([{type: "clock", side: "left", col: 0, row: 0}]),
          outside: m.fits([], {type: "console", side: "left", col: 1, row: 0}),
          overlap: m.moved(layout, "cpu", "left", 1, 0),
          free: m.moved(layout, "links", "left", 0, 9),
          spot: m.freeSpot(layout, "temperatures"),
          garbage: m.loadLayout({getItem: () => "{not json"}) === m.DEFAULT_LAYOUT,
        };
        """,
    )
    assert result["valid"] is True
    assert result["duplicate"] is None
    assert result["unknown"] is None
    assert result["outside"] is False  # 4 columns wide, starting at column 1
    assert result["overlap"] is None  # onto the memory gauge
    assert {"type": "links", "side": "left", "col": 0, "row": 9} in result["free"]
    assert result["spot"] is None  # 2x2: no room left by default
    assert result["garbage"] is True


async def test_the_projection_inverts_and_finds_the_layer_of_a_point(page: Page) -> None:
    result = await run(
        page,
        "projection.js",
        """
        const back = [];
        for (let layer = 1; layer <= 7; layer += 1) {
          const p = m.project(12.5, -7, layer);
          const w = m.unproject(p.x, p.y, layer);
          const centre = m.project(0, 0, layer);
          back.push([w.x, w.z, m.layerAt(centre.x, centre.y)]);
        }
        const camera = new m.Camera();
        camera.zoomAt(1000, 100, 100, 800, 600);
        const zoomed = camera.zoom;
        const before = camera.toProjected(300, 200, 800, 600);
        camera.zoomAt(0.5, 300, 200, 800, 600);
        const after = camera.toProjected(300, 200, 800, 600);
        const drift = Math.hypot(after.x - before.x, after.y - before.y);
        return {back, zoomed, max: m.MAX_ZOOM, drift, off: m.layerAt(10000, 10000)};
        """,
    )
    for layer, (x, z, found) in enumerate(result["back"], start=1):
        assert x == pytest.approx(12.5)
        assert z == pytest.approx(-7)
        assert found == layer
    assert result["zoomed"] == result["max"]  # clamped
    assert result["drift"] < 1e-9  # zooming keeps the point under the pointer
    assert result["off"] is None


async def test_diffs_apply_only_on_top_of_the_seq_held(page: Page) -> None:
    result = await run(
        page,
        "fleet.js",
        """
        const fleet = new m.Fleet();
        const a = {host_id: "a", status: "online", cpu_load: 5};
        fleet.applyFrame({twin_id: "t", seq: 4, hosts: [a], links: []});
        const base = {type: "diff", twin_id: "t", removed_hosts: [], links: [], removed_links: []};
        const late = [{host_id: "a", cpu_load: 50}];
        const gap = fleet.applyDiff({...base, seq: 7, base_seq: 6, hosts: late});
        const patches = [{host_id: "a", cpu_load: 60}, {host_id: "b", status: "stale"}];
        const next = fleet.applyDiff({...base, seq: 5, base_seq: 4, hosts: patches});
        const other = fleet.applyDiff({...base, twin_id: "u", seq: 6, base_seq: 5, hosts: []});
        const tagged = {layer: 7, tags: {kind: "Gateway"}};
        const kinds = [m.kindOf({layer: 2, tags: {}}), m.kindOf(tagged)];
        const held = fleet.hosts.get("a");
        return {gap, next, other, a: held, size: fleet.hosts.size, seq: fleet.seq, kinds};
        """,
    )
    assert result["gap"] is False
    assert result["next"] is True
    assert result["other"] is False  # another replica's diff: a full frame is needed
    assert result["a"] == {"host_id": "a", "status": "online", "cpu_load": 60}
    assert result["size"] == 2
    assert result["seq"] == 5
    assert result["kinds"] == ["switch", "gateway"]


async def test_reconnecting_backs_off_with_jitter_up_to_a_cap(page: Page) -> None:
    result = await run(
        page,
        "api.js",
        """
        const delays = (n) => [m.reconnectDelay(n, () => 0), m.reconnectDelay(n, () => 0.999)];
        return [0, 1, 2, 5, 30].map(delays);
        """,
    )
    assert result[0] == [250, pytest.approx(499.75)]
    assert result[1][0] == 500
    assert result[2][0] == 1000
    assert result[3][1] == pytest.approx(15000, rel=0.01)  # 500 * 32 = 16000, capped
    assert result[4] == result[3]


async def test_console_targets_and_the_cards_primary_interface(page: Page) -> None:
    result = await run(
        page,
        "console.js",
        """
        const card = await import('/card.js');
        const format = await import('/format.js');
        const errors = [];
        for (const [mode, text] of [["tag", "role"], ["host", "  "]]) {
          try { m.targetOf(mode, text); } catch (e) { errors.push(e.message); }
        }
        const nic = (name, is_up, bytes, address) => ({
          name, is_up, bytes_sent: bytes, bytes_recv: bytes,
          addresses: [{family: "ipv4", address}],
        });
        const lo = nic("lo", true, 9e9, "127.0.0.1");
        const eth0 = nic("eth0", true, 10, "10.0.0.5");
        const eth1 = nic("eth1", false, 1e9, "10.0.1.5");
        return {
          tag: m.targetOf("tag", "role = db"),
          hosts: m.targetOf("hosts", "web-01, web-02 db-01"),
          host: m.targetOf("host", "web-01"),
          errors,
          primary: card.primaryInterface([lo, eth1, eth0]).name,
          uptime: [format.formatDuration(59), format.formatDuration(3 * 86400 + 7200)],
        };
        """,
    )
    assert result["tag"] == {"selector": {"tags": {"role": "db"}}}
    assert result["hosts"] == {"targets": ["web-01", "web-02", "db-01"]}
    assert result["host"] == {"hostname": "web-01"}
    assert result["errors"] == [
        "target: a tag is key=value",
        "target: name a host, hosts or a tag",
    ]
    assert result["primary"] == "eth0"
    assert result["uptime"] == ["0m", "3d 2h"]


async def opened(browser: Browser, address: str) -> tuple[Page, list[str]]:
    """A new page at `address`, and the paths it has requested so far (the list grows)."""
    page = await browser.new_page()
    requested: list[str] = []

    def record(request: Request) -> None:
        requested.append(urlsplit(request.url).path)

    page.on("request", record)
    await page.goto(address)
    return page, requested


async def test_only_a_page_opened_for_tests_fetches_the_test_hook(
    browser: Browser, url: str
) -> None:
    """testing.js exposes the page's internals as window.mirrorStage: a page opened with
    ?testing=1 fetches it; the page users open never does."""
    page, requested = await opened(browser, url)
    # Past everything main.js starts: the session (logins off here), the app, then the socket,
    # which fails with no twin behind hud/.
    await page.wait_for_function(
        "() => document.querySelector('#connection').dataset.state === 'reconnecting'",
        timeout=10_000,
    )
    assert "/main.js" in requested
    assert "/testing.js" not in requested
    assert await page.evaluate("typeof window.mirrorStage") == "undefined"
    await page.close()

    page, requested = await opened(browser, with_test_hook(url))
    # The hook is there as soon as testing.js loads; who is logged in, once the session is
    # settled, which may come later.
    await page.wait_for_function(
        "() => window.mirrorStage !== undefined && window.mirrorStage.stats().role !== null",
        timeout=10_000,
    )
    assert "/testing.js" in requested
    assert (await page.evaluate("window.mirrorStage.stats()"))["role"] == "operator"
    await page.close()
