"""Finding a host in the HUD, in Chromium, on `mirror-stage up --simulate 200`: `/` then a few
letters of a tag lists the hosts that have it, Enter selects the first and flies the camera
to it, the address bar carries the selection and layer, and a link opens the same view."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from hud_pages import Hud, hud_on_stack, shoot, stats, wait_for

SIMULATED = 200
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hud]:
    async with hud_on_stack(
        tmp_path_factory.mktemp("hud-search"), "--no-agent", "--simulate", str(SIMULATED)
    ) as opened:
        yield opened


async def test_a_slash_and_a_tag_find_a_host_and_select_it(hud: Hud) -> None:
    page = await hud.page()
    await wait_for(page, f"(s) => s.hosts >= {SIMULATED}", "every simulated host")
    await page.keyboard.press("/")
    assert await page.evaluate("document.activeElement.id") == "search"
    await page.keyboard.type("tier=db")
    results = page.locator("#search-results li")
    await results.first.wait_for()
    listed = await results.evaluate_all("(items) => items.map((i) => i.dataset.host)")
    tiers = await page.evaluate(
        "(ids) => ids.map((id) => window.mirrorStage.host(id).tags.tier)", listed
    )
    assert listed
    assert set(tiers) == {"db"}
    await shoot(page, "search-by-tag")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    chosen = listed[1] if len(listed) > 1 else listed[0]
    await wait_for(page, f"(s) => s.selected === {chosen!r}", "the chosen host selected")
    assert await page.locator("#search-results").is_hidden()
    assert f"host={chosen}" in page.url
    await page.locator("#layers button[data-layer='3']").click()
    assert "layer=3" in page.url

    # The link opens the same view: that host selected, layer 3 alone.
    again = await page.context.new_page()
    await again.goto(page.url)
    await wait_for(again, f"(s) => s.selected === {chosen!r}", "the linked host selected")
    assert (await stats(again))["layerFilter"] == 3
    await page.context.close()


async def test_an_address_or_a_hostname_finds_its_host(hud: Hud) -> None:
    page = await hud.page()
    await wait_for(page, f"(s) => s.hosts >= {SIMULATED}", "every simulated host")
    for query, expected in (("10.0.0.165", "sim-0165"), ("sim-0165.sim", "sim-0165")):
        await page.fill("#search", query)
        first = page.locator("#search-results li").first
        await first.wait_for()
        assert await first.get_attribute("data-host") == expected, query
    await page.fill("#search", "no-such-host-anywhere")
    assert await page.locator("#search-results").is_hidden()
    await page.context.close()


async def test_the_fleet_table_sorts_filters_and_selects(hud: Hud) -> None:
    page = await hud.page()
    await wait_for(page, f"(s) => s.hosts >= {SIMULATED}", "every simulated host")
    await page.keyboard.press("t")
    table = page.locator("#fleet-table")
    await table.wait_for()
    await page.locator("#fleet-table button[data-sort='cpu_load']").click()
    rows = page.locator("#fleet-table .table-window .table-row")
    await rows.first.wait_for()
    # Only the rows in view are in the page, not all 200.
    assert 0 < await rows.count() < SIMULATED
    first = await rows.first.get_attribute("data-host")
    busiest = await page.evaluate(
        """() => {
          const all = window.mirrorStage.hostIds().map((id) => window.mirrorStage.host(id));
          return Math.max(...all.map((h) => h.cpu_load ?? -1));
        }"""
    )
    assert (await page.evaluate(f"window.mirrorStage.host({first!r}).cpu_load")) == busiest
    await page.select_option("#table-status", "online")
    await page.fill("#table-text", "tier=db")
    count = await page.locator(".table-count").text_content()
    assert count is not None
    assert count.endswith(f"of {SIMULATED} hosts")
    listed = await rows.evaluate_all("(items) => items.map((i) => i.dataset.host)")
    tiers = await page.evaluate(
        "(ids) => ids.map((id) => window.mirrorStage.host(id).tags.tier)", listed
    )
    assert listed
    assert set(tiers) == {"db"}
    await shoot(page, "fleet-table")
    # Rows by CPU move as the load does, but not while the pointer is over them: what is
    # under it stays there through the diffs that come meanwhile.
    await page.locator("#fleet-table .table-body").hover()
    held = await rows.evaluate_all("(items) => items.map((i) => i.dataset.host)")
    diffs = (await stats(page))["diffs"]
    await wait_for(page, f"(s) => s.diffs >= {diffs + 2}", "two more diffs")
    assert await rows.evaluate_all("(items) => items.map((i) => i.dataset.host)") == held
    # Selecting, in an order no load changes: the pointer may leave the rows as the page
    # answers the selection, and rows by CPU then move again (the chosen one out of view).
    await page.locator("#fleet-table button[data-sort='host_id']").click()
    await page.wait_for_function(
        "() => document.querySelector('#fleet-table button.sorted')?.dataset.sort === 'host_id'"
    )
    chosen = await rows.first.get_attribute("data-host")
    assert chosen is not None
    await page.locator(f"#fleet-table .table-window .table-row[data-host='{chosen}']").click()
    await wait_for(page, f"(s) => s.selected === {chosen!r}", "the clicked row's host selected")
    await page.locator(f"#fleet-table .table-row.selected[data-host='{chosen}']").wait_for()
    await page.context.close()


async def test_the_interfaces_widget_shows_rates_not_lifetime_counters(hud: Hud) -> None:
    page = await hud.page()
    await wait_for(page, f"(s) => s.hosts >= {SIMULATED}", "every simulated host")
    await page.fill("#search", "sim-0007")
    await page.keyboard.press("Enter")
    await wait_for(page, "(s) => s.selected === 'sim-0007'", "sim-0007 selected")
    rows = page.locator("[data-widget='interfaces'] .row")
    await rows.first.wait_for()
    # Two samples of the host (the detail is read every 5 s): then rates, in bits per second.
    await page.wait_for_function(
        "() => { const r = document.querySelector(\"[data-widget='interfaces'] .row\");"
        " return r && /↑[\\d.]+ [kMGT]?b\\/s ↓/.test(r.textContent); }",
        timeout=40_000,
    )
    text = await rows.first.text_content()
    assert text is not None
    assert "since boot" not in text
    await page.context.close()
