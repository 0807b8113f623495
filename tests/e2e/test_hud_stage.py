"""The stage as an operator first sees it, in Chromium, on `mirror-stage up --simulate 200`
and `--simulate 1000`: the plates fill the space between the docks, each layer's hosts spread
over their plate in racks, labels never overlap, links to one switch are bundled, and a host
is found in a keystroke."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from hud_pages import Hud, hud_on_stack, overlapping, shoot, stats, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=[200, 1000])
async def hud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Hud]:
    count = request.param
    async with hud_on_stack(
        tmp_path_factory.mktemp(f"hud-stage-{count}"), "--no-agent", "--simulate", str(count)
    ) as opened:
        opened.simulated = count  # type: ignore[attr-defined]
        yield opened


def simulated(hud: Hud) -> int:
    return int(hud.simulated)  # type: ignore[attr-defined]


async def test_the_plates_fill_the_space_between_the_docks(hud: Hud) -> None:
    page = await hud.page()
    await wait_for(page, f"(s) => s.hosts >= {simulated(hud)}", "the fleet")
    plates = await page.evaluate("window.mirrorStage.platesOnCanvas()")
    docks = await page.evaluate(
        "() => ['#dock-left', '#stage', '#dock-right'].map((s) => {"
        " const r = document.querySelector(s).getBoundingClientRect();"
        " return [r.left, r.right]; })"
    )
    (_, left_dock_right), (canvas_left, canvas_right), (right_dock_left, _) = docks
    assert left_dock_right <= canvas_left + 1
    assert canvas_right <= right_dock_left + 1
    between = right_dock_left - left_dock_right
    assert (plates["right"] - plates["left"]) / between >= 0.6, (plates, docks)
    assert plates["left"] >= 0
    assert plates["right"] <= plates["width"]
    assert plates["top"] >= 0
    assert plates["bottom"] <= plates["height"]
    await shoot(page, f"hud-fleet-{simulated(hud)}")
    await page.context.close()


async def test_hosts_spread_over_their_plate_each_rack_in_its_own_block(hud: Hud) -> None:
    page = await hud.page()
    await wait_for(page, f"(s) => s.hosts >= {simulated(hud)}", "the fleet")
    hosts = await page.evaluate(
        "() => window.mirrorStage.hostIds().map((id) => window.mirrorStage.host(id))"
    )
    top = [h for h in hosts if h["layer"] == 7]
    assert len(top) > simulated(hud) // 2
    xs = [h["position"]["x"] for h in top]
    zs = [h["position"]["z"] for h in top]
    # From edge to edge of the plate (the twin spreads within +-32), not in one corner.
    assert min(xs) < -26
    assert max(xs) > 26
    assert min(zs) < -26
    assert max(zs) > 26
    assert len({(x, z) for x, z in zip(xs, zs, strict=True)}) == len(top)
    # Each rack's hosts sit in a block of their own, and its switch (on L1) straight below.
    boxes: dict[str, tuple[float, float, float, float]] = {}
    for host in top:
        x, z = host["position"]["x"], host["position"]["z"]
        x0, z0, x1, z1 = boxes.get(host["rack"], (x, z, x, z))
        boxes[host["rack"]] = (min(x0, x), min(z0, z), max(x1, x), max(z1, z))
    racks = sorted(boxes)
    for k, a in enumerate(racks):
        for b in racks[k + 1 :]:
            ax0, az0, ax1, az1 = boxes[a]
            bx0, bz0, bx1, bz1 = boxes[b]
            assert ax1 < bx0 or bx1 < ax0 or az1 < bz0 or bz1 < az0, (a, b)
    switches = [h for h in hosts if h["layer"] == 1]
    assert len(switches) >= len(racks) - 1  # the first rack's first host is a core router
    for switch in switches:
        x0, z0, x1, z1 = boxes[switch["rack"]]
        assert x0 <= switch["position"]["x"] <= x1, switch["host_id"]
        assert z0 <= switch["position"]["z"] <= z1, switch["host_id"]
    await page.context.close()


async def test_links_to_one_switch_are_bundled(hud: Hud) -> None:
    page = await hud.page()
    await wait_for(page, f"(s) => s.links >= {simulated(hud)}", "the links")
    bundles = await page.evaluate("window.mirrorStage.bundles()")
    assert bundles["bundled"] >= bundles["links"] * 0.8
    # One trunk per rack switch the rack's hosts hang from, a handful of lines where there
    # were hundreds.
    switches = {t["target"] for t in bundles["trunks"]}
    assert len(bundles["trunks"]) <= 3 * len(switches)
    assert len(bundles["trunks"]) + (bundles["links"] - bundles["bundled"]) < bundles["links"] / 5
    await page.context.close()


async def test_no_two_drawn_labels_overlap_at_home_or_zoomed_in(hud: Hud) -> None:
    page = await hud.page()
    await wait_for(page, f"(s) => s.hosts >= {simulated(hud)}", "the fleet")
    await page.wait_for_function("() => window.mirrorStage.labelBoxes().length > 0")
    assert overlapping(await page.evaluate("window.mirrorStage.labelBoxes()")) == []
    target = "sim-0150"
    await page.fill("#search", target)
    await page.keyboard.press("Enter")
    await wait_for(page, f"(s) => s.selected === '{target}'", f"{target} selected")
    await page.wait_for_function(
        "(id) => { const b = window.mirrorStage.labelBoxes();"
        " return b.length > 0 && b[0].id === id; }",
        arg=target,
    )
    boxes = await page.evaluate("window.mirrorStage.labelBoxes()")
    assert overlapping(boxes) == []
    assert len(boxes) > 5  # zoomed in, the neighbours' labels appear too
    await shoot(page, f"hud-selected-{simulated(hud)}")
    await page.context.close()


async def test_a_host_is_found_in_a_keystroke(hud: Hud) -> None:
    page = await hud.page()
    await wait_for(page, f"(s) => s.hosts >= {simulated(hud)}", "the fleet")
    target = "sim-0421" if simulated(hud) > 421 else "sim-0142"
    await page.keyboard.press("/")
    await page.keyboard.type(target[-4:])
    await page.keyboard.press("Enter")
    await wait_for(page, f"(s) => s.selected === '{target}'", f"{target} selected")
    assert (await stats(page))["selected"] == target
    await page.context.close()


async def test_a_newcomers_first_minutes_find_chart_rule_silence_and_korean(hud: Hud) -> None:
    """What the README promises a newcomer on `make up ARGS="--simulate 1000"`: find a host in
    a keystroke, see its last 24 hours, make a rule (its preview naming the host) and a
    silence, and switch to Korean, each in the page as a person uses it."""
    page = await hud.page()
    await wait_for(page, f"(s) => s.hosts >= {simulated(hud)}", "the fleet")
    target = "sim-0421" if simulated(hud) > 421 else "sim-0142"
    await page.keyboard.press("/")
    await page.keyboard.type(target[-4:])
    await page.keyboard.press("Enter")
    await wait_for(page, f"(s) => s.selected === '{target}'", f"{target} selected")

    # Its last 24 hours: `h`, then the range.
    await page.locator("body").focus()
    await page.keyboard.press("h")
    await page.locator("#host-charts button[data-range='24h']").click()
    await page.wait_for_function(
        "(host) => { const c = window.mirrorStage.charts(); return c && c.open &&"
        " c.host === host && c.range === '24h' && !c.loading && c.charts.length > 0; }",
        arg=target,
    )
    await page.keyboard.press("Escape")

    # A rule for that host, its preview naming it, saved.
    await page.locator("body").focus()
    await page.keyboard.press("a")
    await page.locator("#admin-panel [data-action='new-rule']").click()
    await page.fill("#rule-id", "newcomer-cpu")
    await page.fill("#rule-name", "CPU at all on one host")
    await page.select_option("#rule-metric", "cpu_load")
    await page.select_option("#rule-operator", ">=")
    await page.fill("#rule-threshold", "0")
    await page.fill("#rule-host_ids", target)
    await page.wait_for_function(
        "(host) => { const p = document.querySelector('.rule-preview');"
        " return p && p.dataset.matching === '1' &&"
        " [...p.querySelectorAll('li[data-host]')].map((li) => li.dataset.host).join() === host; }",
        arg=target,
    )
    await page.locator(".rule-save").click()
    await page.locator("#admin-panel tr[data-rule='newcomer-cpu']").wait_for()
    await page.keyboard.press("Escape")

    # A silence for the host from its card, for an hour.
    await page.locator("#card .card-silence").click()
    dialog = page.locator(".silence-dialog")
    await dialog.wait_for()
    assert await page.input_value("#silence-hosts") == target
    await dialog.locator("button[data-duration='1h']").click()
    await dialog.locator(".silence-create").click()
    await dialog.wait_for(state="detached")

    # Korean, at once and after a reload.
    await page.locator("#topbar button[data-language='ko']").click()
    await page.wait_for_function(
        "() => document.querySelector('#table-toggle').textContent === '표'"
    )
    await page.reload()
    await page.wait_for_function(
        "() => window.mirrorStage && window.mirrorStage.stats().connection === 'live'"
    )
    assert await page.locator("#table-toggle").inner_text() == "표"
    await page.context.close()
