"""Picking at 10,000 hosts, in Chromium with a real mouse: hovering a host labels it, a click
selects it, and an operator's drag moves it to another layer's plate. The page is hud/ served
alone (logins off, the socket detached) showing a racked fleet built as the twin builds it."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Page, async_playwright

from browser import CHROMIUM_FLAGS, chromium_path, served_hud, with_test_hook
from fleet_frames import fleet_frame
from loopback_ports import free_port

HOSTS = 10_000
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def page() -> AsyncIterator[Page]:
    executable = chromium_path()
    if executable is None:
        pytest.fail("no Chromium on PATH: install the distribution's chromium (.ci/run does)")
    with served_hud(free_port()) as url:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_FLAGS
            )
            page = await browser.new_page(viewport={"width": 1600, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(with_test_hook(url))
            await page.wait_for_function(
                "() => window.mirrorStage && window.mirrorStage.stats().role"
            )
            await page.evaluate("window.mirrorStage.detach()")
            await page.evaluate("(f) => window.mirrorStage.showFrame(f)", fleet_frame(HOSTS))
            await page.wait_for_function(f"() => window.mirrorStage.stats().drawnHosts === {HOSTS}")
            yield page
            await browser.close()
            assert errors == [], errors


async def spot(page: Page, host_id: str) -> tuple[float, float]:
    point = await page.evaluate("(id) => window.mirrorStage.hostOnPage(id)", host_id)
    return point["x"], point["y"]


async def test_hovering_a_host_among_10000_labels_it(page: Page) -> None:
    host_id = "h04321"
    x, y = await spot(page, host_id)
    await page.mouse.move(x, y)
    await page.wait_for_function(
        "(id) => window.mirrorStage.labelBoxes().some((box) => box.id === id)", arg=host_id
    )


async def test_a_click_selects_the_host_under_the_pointer(page: Page) -> None:
    host_id = "h07777"
    x, y = await spot(page, host_id)
    await page.mouse.click(x, y)
    await page.wait_for_function("(id) => window.mirrorStage.stats().selected === id", arg=host_id)


async def test_an_operator_drags_a_host_to_another_layer(page: Page) -> None:
    canvas = await page.locator("#stage").bounding_box()
    assert canvas is not None
    await page.mouse.click(canvas["x"] + 5, canvas["y"] + 5)  # empty space: the whole fleet
    await page.wait_for_function(
        "() => window.mirrorStage.stats().selected === null && window.mirrorStage.cameraSettled()"
    )
    host_id = "h00105"
    layer = (await page.evaluate("(id) => window.mirrorStage.host(id)", host_id))["layer"]
    target = 2 if layer != 2 else 4
    x, y = await spot(page, host_id)
    drop = await page.evaluate(
        "([layer]) => window.mirrorStage.plateOnPage(layer, 10, -10)", [target]
    )
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x + 10, y + 10, steps=3)
    await page.mouse.move(drop["x"], drop["y"], steps=8)
    await page.mouse.up()
    await page.wait_for_function(
        "([id, layer]) => window.mirrorStage.host(id).layer === layer", arg=[host_id, target]
    )
