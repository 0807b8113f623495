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


async def test_each_layers_hosts_spread_over_their_plate_in_racks(hud: Hud) -> None:
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
    # A rack's hosts sit together: each has a grid neighbour of its own rack.
    x_step = 64 / len({round(x, 6) for x in xs}) * 1.01
    z_step = 64 / len({round(z, 6) for z in zs}) * 1.01
    for host in top:
        x, z = host["position"]["x"], host["position"]["z"]
        near = [
            other["host_id"]
            for other in top
            if other is not host
            and other["rack"] == host["rack"]
            and abs(other["position"]["x"] - x) <= x_step
            and abs(other["position"]["z"] - z) <= z_step
        ]
        assert near, host["host_id"]
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
