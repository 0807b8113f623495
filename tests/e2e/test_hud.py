"""The HUD in a real browser (the system's Chromium, driven by Playwright) against the whole
stack: 20 simulated hosts and the real local agent, logins on.

What a test checks it reads from the page's own state (`window.mirrorStage.stats()`, from the
hook that a page opened with ?testing=1 loads; data attributes, text), never from pixels; it
acts with real pointer and keyboard events. A screenshot of each main state is saved under
.artifacts/screenshots/ (ignored by git) on every run; the ones the docs show are copies of
these, committed in docs/screenshots/.
"""

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import nats
import pytest
import pytest_asyncio
from hud_pages import Hud, host_point, hud_on_stack, own_password, shoot, stats, wait_for
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from stack_up import admin, bus_violations, service_process

from mirror_schema import hosts, subjects
from stack_cli import mirror_stage
from waiting import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")

SIMULATED = 20
LOCAL_HOST = hosts.host_id_from_hostname(socket.gethostname())
SPIKE_HOST = "spike-01"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hud]:
    async with hud_on_stack(tmp_path_factory.mktemp("hud"), "--simulate", str(SIMULATED)) as opened:
        yield opened


async def test_a_one_time_password_is_replaced_before_the_fleet_shows(hud: Hud) -> None:
    """The first admin's password, printed by `mirror-stage up`, works once: the login leads to
    choosing one's own, and nothing else is shown (nor allowed) until then."""
    if hud.admin_password == own_password("admin"):
        pytest.skip("the first admin's password was replaced by an earlier test")
    one_time = hud.admin_password
    context = await hud.browser.new_context(viewport={"width": 1600, "height": 900})
    page = await context.new_page()
    await page.goto(hud.page_url)
    await page.fill("#login-user", "admin")
    await page.fill("#login-password", one_time)
    await page.click("#login-submit")
    await page.locator("#password-form").wait_for()
    assert await page.locator("#app").is_hidden()
    assert await page.locator("#login-form").is_hidden()
    # The session may do nothing else meanwhile.
    refused = await page.evaluate("fetch('/api/twin/state').then((r) => r.status)")
    assert refused == 403
    await page.fill("#password-new", own_password("admin"))
    await page.fill("#password-repeat", "something else entirely")
    await page.click("#password-submit")
    await page.wait_for_function(
        "() => document.querySelector('#password-message').textContent.includes('differ')"
    )
    await shoot(page, "password-change")
    await page.fill("#password-repeat", own_password("admin"))
    await page.click("#password-submit")
    await wait_for(page, "(s) => s.connection === 'live' && s.hosts > 0", "the fleet")
    hud.admin_password = own_password("admin")
    await page.context.close()
    async with httpx.AsyncClient(base_url=hud.url, timeout=20) as http:
        again = await http.post("/api/auth/login", json={"user": "admin", "password": one_time})
        assert again.status_code == 401  # the one-time password is spent


async def test_the_page_shows_every_host_and_their_links(hud: Hud) -> None:
    page = await hud.page()
    await wait_for(
        page,
        f"(s) => s.hosts >= {SIMULATED + 1} && s.drawnLinks >= {SIMULATED}",
        "20 simulated hosts, the local agent and their links",
    )
    state = await stats(page)
    assert state["hosts"] == SIMULATED + 1
    assert state["drawnHosts"] == SIMULATED + 1
    assert state["links"] >= SIMULATED
    assert await page.evaluate(f"window.mirrorStage.host({LOCAL_HOST!r}).status") == "online"
    await shoot(page, "fleet")
    await page.context.close()


async def test_selecting_a_host_shows_its_card_and_empty_space_returns_to_the_fleet(
    hud: Hud,
) -> None:
    page = await hud.page()
    await wait_for(page, f"(s) => s.hosts >= {SIMULATED + 1}", "the fleet")
    point = await host_point(page, LOCAL_HOST)
    await page.mouse.click(point["x"], point["y"])
    await wait_for(page, f"(s) => s.selected === {LOCAL_HOST!r}", "the selection")
    card = page.locator("#card")
    await card.wait_for(state="visible")
    assert await card.locator(".card-title").text_content() == LOCAL_HOST
    await page.wait_for_function(
        "() => document.querySelector('#card').textContent.includes('cores')"
    )
    # The camera eased to where the host is drawn: it ends in the middle of the stage.
    await page.wait_for_timeout(1500)
    box = await page.locator("#stage").bounding_box()
    assert box is not None
    point = await host_point(page, LOCAL_HOST)
    assert abs(point["x"] - (box["x"] + box["width"] / 2)) < 2
    assert abs(point["y"] - (box["y"] + box["height"] / 2)) < 2
    assert await page.locator("[data-widget=cpu] .gauge-scope").text_content() == LOCAL_HOST
    await shoot(page, "selected")
    await page.mouse.click(box["x"] + 20, box["y"] + box["height"] - 20)
    await wait_for(page, "(s) => s.selected === null", "the fleet view")
    assert await card.is_hidden()
    await page.context.close()


async def test_uptime_from_the_console_shows_the_local_agents_output(hud: Hud) -> None:
    page = await hud.page()
    console = page.locator("[data-widget=console]")
    await console.locator("input.target").fill(LOCAL_HOST)
    await console.locator("input.command").fill("uptime")
    await console.locator("[data-role=run]").click()
    # The output streams in, then the result's state reaches the output's heading.
    try:
        await page.wait_for_function(
            "() => document.querySelector('[data-widget=console] [data-role=output]')"
            ".textContent.includes('load average')",
            timeout=30_000,
        )
        await page.wait_for_function(
            "() => document.querySelector('[data-widget=console] .output-head')"
            ".classList.contains('succeeded')",
            timeout=30_000,
        )
    except PlaywrightTimeoutError:
        pytest.fail(f"no output from uptime; the console shows: {await console.text_content()}")
    row = console.locator(".history-row").first
    await row.wait_for()
    await page.wait_for_function(
        "() => document.querySelector('[data-widget=console] .history-row').dataset.status"
        " === 'succeeded'",
        timeout=30_000,
    )
    assert LOCAL_HOST in (await row.text_content() or "")
    await shoot(page, "console")
    await page.context.close()


async def test_a_cpu_spike_raises_an_alert_that_the_widget_acknowledges(hud: Hud) -> None:
    alerts = f"http://127.0.0.1:{hud.stack.port('alerts')}"
    async with httpx.AsyncClient(base_url=alerts, timeout=20) as http:
        await hud.settle()
        login = await http.post(
            "/api/auth/login", json={"user": "admin", "password": hud.admin_password}
        )
        assert login.status_code == 200, login.text
        created = await http.post(
            "/api/alerts/rules",
            json={
                "kind": "threshold",
                "id": "hud-spike",
                "name": "CPU spike",
                "metric": "cpu_load",
                "operator": ">",
                "threshold": 95.0,
                "severity": "critical",
                "scope": {"host_ids": [SPIKE_HOST]},
            },
            headers={"X-CSRF-Token": login.json()["csrf"]},
        )
        assert created.status_code == 201, created.text
    page = await hud.page()
    bus = await nats.connect(hud.stack.env["MIRROR_STAGE_NATS_URL"], nkeys_seed=admin(hud.data_dir))
    try:
        for seq in range(1, 31):  # a spike of up to 30 samples, one a second
            sample = {
                "hostname": SPIKE_HOST,
                "host_id": SPIKE_HOST,
                "boot_id": "hud-test",
                "seq": seq,
                "interval_seconds": 1.0,
                "timestamp": datetime.now(UTC).isoformat(),
                "cpu_load": 99.0,
                "memory_used_percent": 30.0,
            }
            await bus.jetstream().publish(
                subjects.metrics_raw(SPIKE_HOST), msgspec.json.encode(sample)
            )
            row = page.locator(f"[data-widget=alerts] .alert-row:has-text('{SPIKE_HOST}')")
            if await row.count():
                break
            await asyncio.sleep(1)
        row = page.locator(f"[data-widget=alerts] .alert-row:has-text('{SPIKE_HOST}')")
        await row.wait_for(timeout=10_000)
        assert await row.get_attribute("data-state") == "firing"
        await shoot(page, "alert")
        await row.locator("button.ack").click()
        await page.wait_for_function(
            f"() => [...document.querySelectorAll('[data-widget=alerts] .alert-row')]"
            f".some((r) => r.textContent.includes({SPIKE_HOST!r})"
            " && r.dataset.state === 'acknowledged')",
            timeout=15_000,
        )
        assert "admin" in (await row.text_content() or "")
    finally:
        await bus.close()
        await page.context.close()


async def test_a_widget_moved_to_the_other_dock_stays_there_after_reload(hud: Hud) -> None:
    page = await hud.page()
    handle = page.locator("[data-widget=links] .widget-title")
    start = await handle.bounding_box()
    dock = await page.locator("#dock-left").bounding_box()
    assert start is not None
    assert dock is not None
    # The left dock's last row is free by default: drop the one-row links widget there.
    target_x = dock["x"] + dock["width"] * 0.1
    target_y = dock["y"] + dock["height"] * 0.95
    await page.mouse.move(start["x"] + 20, start["y"] + start["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(target_x, target_y, steps=12)
    preview = page.locator("#dock-left .drop-preview")
    assert await preview.count() == 1
    assert "blocked" not in (await preview.get_attribute("class") or "")
    await page.mouse.up()
    assert await page.locator("#dock-left [data-widget=links]").count() == 1
    await page.reload()
    await wait_for(page, "(s) => s.connection === 'live'", "the page again")
    assert await page.locator("#dock-left [data-widget=links]").count() == 1
    layout = (await stats(page))["layout"]
    assert {"type": "links", "side": "left", "col": 0, "row": 9} in layout
    # A drop on an occupied spot is refused: the CPU gauge stays where it was.
    cpu = await page.locator("[data-widget=cpu] .widget-title").bounding_box()
    memory = await page.locator("[data-widget=memory]").bounding_box()
    assert cpu is not None
    assert memory is not None
    await page.mouse.move(cpu["x"] + 10, cpu["y"] + cpu["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(memory["x"] + 10, memory["y"] + 30, steps=8)
    assert "blocked" in (await page.locator(".drop-preview").get_attribute("class") or "")
    await page.mouse.up()
    assert {"type": "cpu", "side": "left", "col": 0, "row": 0} in (await stats(page))["layout"]
    # The palette adds a widget where there is room (the links left the right dock) and
    # removes one.
    await page.click("#palette-toggle")
    await page.click("[data-palette=temperatures]")
    assert await page.locator("#dock-right [data-widget=temperatures]").count() == 1
    await page.click("[data-palette=storage]")
    assert await page.locator("[data-widget=storage]").count() == 0
    await page.reload()
    await wait_for(page, "(s) => s.connection === 'live'", "the page again")
    assert await page.locator("#dock-right [data-widget=temperatures]").count() == 1
    assert await page.locator("[data-widget=storage]").count() == 0
    await shoot(page, "docks")
    await page.context.close()


async def test_a_host_dragged_to_another_layer_stays_there_after_reload_and_elsewhere(
    hud: Hud,
) -> None:
    page = await hud.page()
    moving = "sim-0003"
    await wait_for(page, f"(s) => s.hosts >= {SIMULATED + 1}", "the fleet")
    before = await page.evaluate(f"window.mirrorStage.host({moving!r}).layer")
    layer = 5 if before != 5 else 4
    start = await host_point(page, moving)
    target = await page.evaluate(f"window.mirrorStage.plateOnPage({layer}, 12, -12)")
    await page.mouse.move(start["x"], start["y"])
    await page.mouse.down()
    await page.mouse.move(target["x"], target["y"], steps=15)
    await page.mouse.up()

    async def saved_by_the_twin() -> bool:
        view = await _twin_host(hud, moving)
        return view is not None and view["layer"] == layer

    await wait_until(saved_by_the_twin, timeout=15, what="the placement to reach the twin")
    await page.reload()
    await wait_for(page, f"(s) => s.hosts >= {SIMULATED + 1}", "the fleet after reload")
    after = await page.evaluate(f"window.mirrorStage.host({moving!r})")
    assert after["layer"] == layer
    assert abs(after["position"]["x"] - 12) < 1.5
    assert abs(after["position"]["z"] + 12) < 1.5
    other = await hud.page()  # another browser
    assert await other.evaluate(f"window.mirrorStage.host({moving!r}).layer") == layer
    await shoot(page, "placement")
    await other.context.close()
    await page.context.close()


async def _twin_host(hud: Hud, host_id: str) -> dict[str, Any] | None:
    async with httpx.AsyncClient(base_url=hud.url, timeout=10) as http:
        await hud.settle()
        login = await http.post(
            "/api/auth/login", json={"user": "admin", "password": hud.admin_password}
        )
        assert login.status_code == 200, login.text
        state = (await http.get("/api/twin/state")).json()
    return next((h for h in state["hosts"] if h["host_id"] == host_id), None)


async def test_a_viewer_sees_the_fleet_but_no_run_button(hud: Hud) -> None:
    code, out = await mirror_stage(
        hud.stack.env,
        "user",
        "add",
        "vera",
        "--role",
        "viewer",
        "--data-dir",
        str(hud.data_dir),
    )
    assert code == 0, out
    found = re.search(r"one-time password \(shown once\): (\S+)", out)
    assert found is not None, out
    context = await hud.browser.new_context(viewport={"width": 1600, "height": 900})
    login = await context.new_page()
    await login.goto(hud.page_url)
    await login.locator("#login-form").wait_for()
    await login.fill("#login-user", "vera")
    await login.fill("#login-password", "not her password")
    await login.click("#login-submit")
    await login.wait_for_function(
        "() => document.querySelector('#login-message').textContent.includes('wrong')"
    )
    await shoot(login, "login")
    await context.close()
    page = await hud.page("vera", found.group(1))
    assert (await stats(page))["role"] == "viewer"
    assert await page.locator("[data-widget=console] [data-role=run]").is_hidden()
    assert await page.locator("[data-widget=alerts] button.ack").count() == 0
    await shoot(page, "viewer")
    await page.context.close()


async def test_a_killed_twin_shows_reconnecting_then_a_full_frame(hud: Hud) -> None:
    page = await hud.page()
    await wait_for(page, f"(s) => s.hosts >= {SIMULATED + 1}", "the fleet")
    frames = (await stats(page))["frames"]
    service_process(hud.stack, "twin").kill()
    await wait_for(page, "(s) => s.connection === 'reconnecting'", "the reconnecting state")
    assert await page.locator("#connection").text_content() == "reconnecting…"
    assert (await stats(page))["hosts"] >= SIMULATED + 1  # the last frame stays on screen
    await shoot(page, "reconnecting")
    await wait_for(
        page,
        f"(s) => s.connection === 'live' && s.frames > {frames} && s.framesSinceReconnect >= 1",
        "the reconnection and its full frame",
        seconds=60,
    )
    assert (await stats(page))["hosts"] >= SIMULATED + 1
    await page.context.close()
    # Everything above kept to each service's own permissions on the bus.
    assert bus_violations(hud.data_dir) == []


async def test_the_twin_forwards_the_huds_api_to_the_owning_services(hud: Hud) -> None:
    """One origin: commands, alerts and the history through the twin, over NATS; the audit
    trail names the logged-in user whatever the body claims; errors keep their status."""
    async with httpx.AsyncClient(base_url=hud.url, timeout=20) as http:
        await hud.settle()
        login = await http.post(
            "/api/auth/login", json={"user": "admin", "password": hud.admin_password}
        )
        assert login.status_code == 200, login.text
        http.headers["X-CSRF-Token"] = login.json()["csrf"]
        sent = await http.post(
            "/api/commands",
            json={"hostname": LOCAL_HOST, "command": "uptime", "requested_by": "mallory"},
        )
        assert sent.status_code == 201, sent.text
        command = sent.json()["commands"][0]
        assert command["requested_by"] == "admin"

        async def succeeded() -> bool:
            answer = await http.get(f"/api/commands/{command['id']}")
            assert answer.status_code == 200, answer.text
            return answer.json()["status"] == "succeeded"

        await wait_until(succeeded, timeout=30, what="uptime to succeed, read through the twin")
        page = await http.get(
            "/api/commands", params={"hostname": LOCAL_HOST, "status": "succeeded,failed"}
        )
        assert page.status_code == 200, page.text
        assert command["id"] in [item["id"] for item in page.json()["items"]]
        unknown = await http.get("/api/commands", params={"colour": "red"})
        assert unknown.status_code == 422
        assert "colour" in unknown.json()["detail"]
        unknown_id = await http.get("/api/commands/not-a-command-id")
        assert unknown_id.status_code == 404, unknown_id.text
        assert "not-a-command-id" in unknown_id.json()["detail"]
        no_target = await http.post("/api/commands", json={"command": "uptime"})
        assert no_target.status_code == 422, no_target.text
        assert "target" in no_target.json()["detail"]

        active = await http.get("/api/alerts/active")
        assert active.status_code == 200, active.text
        assert isinstance(active.json()["items"], list)
        missing = await http.post("/api/alerts/0193a5b2-7c4d-7e2f-9a1b-2c3d4e5f6a7b/ack")
        assert missing.status_code in (404, 422), missing.text

        async def history_points() -> bool:
            answer = await http.get("/api/metrics/history", params={"host": LOCAL_HOST})
            return answer.status_code == 200 and len(answer.json()["points"]) > 0

        await wait_until(history_points, timeout=30, what="the local agent's history")
        nobody = await http.get("/api/metrics/history", params={"host": "nobody-here"})
        assert nobody.status_code == 404
        assert "nobody-here" in nobody.json()["detail"]
