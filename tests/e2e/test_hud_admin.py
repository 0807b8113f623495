"""The HUD's admin panel in Chromium, on `mirror-stage up --simulate 200`: a rule made in the
editor, whose live preview names one host, fires for exactly that host; a silence is made from
an alert and from a host's card; an admin adds a user and a token and changes a role; a viewer
sees rules, silences and receivers read-only, and the server refuses them all the same."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hud_pages import Hud, hud_on_stack, shoot, wait_for
from playwright.async_api import Page
from stack_up import service_process

from waiting import wait_until

SIMULATED = 200
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hud]:
    async with hud_on_stack(
        tmp_path_factory.mktemp("hud-admin"), "--no-agent", "--simulate", str(SIMULATED)
    ) as opened:
        yield opened


async def admin_http(hud: Hud) -> tuple[httpx.AsyncClient, dict[str, str]]:
    """An HTTP client at the twin logged in as the admin, and the headers of a change."""
    await hud.settle()
    http = httpx.AsyncClient(base_url=hud.url, timeout=30)
    login = await http.post(
        "/api/auth/login", json={"user": "admin", "password": hud.admin_password}
    )
    assert login.status_code == 200, login.text
    return http, {"X-CSRF-Token": login.json()["csrf"]}


async def preview_hosts(page: Page) -> list[str]:
    hosts: list[str] = await page.locator(".rule-preview li[data-host]").evaluate_all(
        "(items) => items.map((item) => item.dataset.host)"
    )
    return hosts


async def open_panel(page: Page, tab: str = "rules") -> None:
    """The admin panel on `tab`, opened with its key unless it is open already."""
    if await page.locator("#admin-panel").is_hidden():
        await page.locator("body").focus()
        await page.keyboard.press("a")
    await page.locator("#admin-panel").wait_for()
    await page.locator(f"#admin-panel .admin-tab-button[data-tab='{tab}']").click()
    await page.locator(f"#admin-panel .admin-tab[data-tab='{tab}']").wait_for()


async def start_rule(page: Page) -> None:
    """A new rule in the editor that every host matches (CPU at or above 0 %), and its
    preview saying so as it is typed."""
    await page.locator("[data-action='new-rule']").click()
    await page.fill("#rule-id", "hud-made")
    await page.fill("#rule-name", "Made in the HUD")
    await page.select_option("#rule-metric", "cpu_load")
    await page.select_option("#rule-operator", ">=")
    await page.fill("#rule-threshold", "0")
    await page.fill("#rule-for_seconds", "0")
    await page.select_option("#rule-severity", "info")
    await page.wait_for_function(
        f"() => document.querySelector('.rule-preview')?.dataset.matching === '{SIMULATED}'"
    )


async def test_a_rule_made_in_the_hud_fires_for_the_host_it_previewed(hud: Hud) -> None:
    target = "sim-0042"
    page = await hud.page()
    await wait_for(page, f"(s) => s.hosts >= {SIMULATED}", "every simulated host")
    await open_panel(page)
    await start_rule(page)
    await shoot(page, "hud-rule-editor-en")
    # In Korean, the editor opened again: every word of it in Korean, the preview too.
    await page.locator("#topbar button[data-language='ko']").click()
    await page.locator(".rule-cancel").click()
    await start_rule(page)
    assert await page.locator(".rule-save").inner_text() == "규칙 만들기"
    await shoot(page, "hud-rule-editor-ko")
    await page.fill("#rule-host_ids", target)
    await page.wait_for_function(
        "(target) => { const p = document.querySelector('.rule-preview');"
        " const hosts = [...p.querySelectorAll('li[data-host]')].map((li) => li.dataset.host);"
        " return p.dataset.matching === '1' && hosts.join() === target; }",
        arg=target,
    )
    assert await preview_hosts(page) == [target]

    await page.locator(".rule-save").click()
    await page.locator("#admin-panel tr[data-rule='hud-made']").wait_for()
    await page.keyboard.press("Escape")
    await page.wait_for_function(
        "() => window.mirrorStage.alertedHosts('hud-made').length > 0", timeout=60_000
    )
    assert await page.evaluate("window.mirrorStage.alertedHosts('hud-made')") == [target]

    # Edited, then deleted (a second press confirms): its alert resolves.
    await open_panel(page)
    row = page.locator("#admin-panel tr[data-rule='hud-made']")
    await row.locator(".rule-edit").click()
    assert await page.locator("#rule-id").get_attribute("readonly") is not None
    await page.fill("#rule-name", "Renamed in the HUD")
    await page.locator(".rule-save").click()
    await row.filter(has_text="Renamed in the HUD").wait_for()
    await row.locator(".rule-delete").click()
    await row.locator(".rule-delete[data-armed='true']").click()
    await row.wait_for(state="detached")
    await page.wait_for_function(
        "() => window.mirrorStage.alertedHosts('hud-made').length === 0", timeout=60_000
    )
    await page.context.close()


async def test_an_alert_and_a_host_are_silenced_from_the_widget_and_the_card(hud: Hud) -> None:
    host = "sim-0077"
    http, headers = await admin_http(hud)
    try:
        rule = {
            "kind": "threshold",
            "id": "hud-silence-me",
            "name": "Always, on one host",
            "metric": "memory_used_percent",
            "operator": ">=",
            "threshold": 0.0,
            "severity": "warning",
            "scope": {"host_ids": [host]},
        }
        created = await http.post("/api/alerts/rules", json=rule, headers=headers)
        assert created.status_code == 201, created.text
        page = await hud.page()
        await wait_for(page, f"(s) => s.hosts >= {SIMULATED}", "every simulated host")
        await page.fill("#search", host)
        await page.keyboard.press("Enter")
        await wait_for(page, f"(s) => s.selected === {host!r}", f"{host} selected")
        row = page.locator(
            f"[data-widget=alerts] .alert-row:has-text('{host}'):has-text('Always, on one host')"
        )
        await row.first.wait_for(timeout=60_000)
        await row.first.locator("button.silence").click()
        dialog = page.locator(".silence-dialog")
        await dialog.wait_for()
        assert await page.input_value("#silence-hosts") == host
        assert await page.input_value("#silence-rules") == "hud-silence-me"
        await dialog.locator("button[data-duration='4h']").click()
        await page.fill("#silence-comment", "looking into it")
        await dialog.locator(".silence-create").click()
        await dialog.wait_for(state="detached")

        # From the card: every alert of the host, for a time typed by hand.
        await page.locator("#card .card-silence").click()
        await dialog.wait_for()
        assert await page.input_value("#silence-hosts") == host
        assert await page.input_value("#silence-rules") == ""
        await page.fill("#silence-custom", "soon")
        await dialog.locator(".silence-create").click()
        await dialog.locator(".admin-message[data-kind='error']").wait_for()
        await page.fill("#silence-custom", "90m")
        await dialog.locator(".silence-create").click()
        await dialog.wait_for(state="detached")

        listed: list[dict[str, Any]] = (await http.get("/api/alerts/silences")).json()["items"]
        mine = [s for s in listed if s["matchers"]["host_ids"] == [host]]
        by_rules = {tuple(s["matchers"]["rule_ids"]): s for s in mine}
        assert set(by_rules) == {("hud-silence-me",), ()}
        assert by_rules[("hud-silence-me",)]["comment"] == "looking into it"
        assert by_rules[("hud-silence-me",)]["created_by"] == "admin"

        await open_panel(page, "silences")
        rows = page.locator("#admin-panel .admin-tab[data-tab='silences'] tr[data-silence]")
        await rows.first.wait_for()
        assert await rows.count() >= 2
        await shoot(page, "hud-silences-en")
        await page.context.close()
    finally:
        await http.aclose()


async def test_an_admin_adds_a_user_and_a_token_and_changes_a_role(hud: Hud) -> None:
    page = await hud.page()
    await open_panel(page, "users")
    users = page.locator("#admin-panel .admin-tab[data-tab='users']")
    await page.fill("#user-add-name", "newbie")
    await page.select_option("#user-add-role", "viewer")
    await users.locator("button.user-add").click()
    secret = users.locator("input[data-secret]")
    await secret.wait_for()
    password = await secret.input_value()
    assert len(password) >= 16
    row = users.locator("tr[data-user='newbie']")
    await row.wait_for()
    await row.locator("select").select_option("operator")
    await users.locator(".admin-message[data-kind='done']").wait_for()
    assert await users.locator("tr[data-user='newbie'] select").input_value() == "operator"

    await open_panel(page, "tokens")
    tokens = page.locator("#admin-panel .admin-tab[data-tab='tokens']")
    await page.fill("#token-add-name", "robot")
    await page.select_option("#token-add-role", "viewer")
    await tokens.locator("button.token-add").click()
    token_secret = tokens.locator("input[data-secret]")
    await token_secret.wait_for()
    token = await token_secret.input_value()
    await tokens.locator("tr[data-token='robot']").wait_for()
    await shoot(page, "hud-admin-tokens-en")
    await page.context.close()

    async with httpx.AsyncClient(base_url=hud.url, timeout=30) as http:
        robot = await http.get("/api/twin/state", headers={"Authorization": f"Bearer {token}"})
        assert robot.status_code == 200
    newbie = await hud.page("newbie", password)  # replaces the one-time password
    assert (await newbie.evaluate("window.mirrorStage.stats()"))["role"] == "operator"
    await newbie.context.close()


async def test_a_viewer_sees_the_panel_read_only_and_the_server_refuses_them(hud: Hud) -> None:
    http, headers = await admin_http(hud)
    try:
        added = await http.post(
            "/api/admin/users", json={"name": "vera-ro", "role": "viewer"}, headers=headers
        )
        assert added.status_code == 201, added.text
        password = added.json()["one_time_password"]
    finally:
        await http.aclose()
    page = await hud.page("vera-ro", password)
    await wait_for(page, f"(s) => s.hosts >= {SIMULATED}", "every simulated host")
    await open_panel(page, "rules")
    panel = page.locator("#admin-panel")
    assert await panel.get_attribute("data-readonly") == "true"
    tabs = await panel.locator(".admin-tab-button").evaluate_all(
        "(buttons) => buttons.map((b) => b.dataset.tab)"
    )
    assert tabs == ["rules", "silences", "receivers"]
    await panel.locator("tr[data-rule]").first.wait_for()
    for control in ("[data-action='new-rule']", ".rule-edit", ".rule-delete", ".silence-new"):
        assert await panel.locator(control).count() == 0, control
    await shoot(page, "hud-admin-viewer-en")
    await open_panel(page, "silences")
    assert await panel.locator(".silence-expire").count() == 0
    await open_panel(page, "receivers")
    await panel.locator(".admin-tab[data-tab='receivers'] .admin-list").wait_for(state="attached")
    await page.keyboard.press("Escape")
    await page.fill("#search", "sim-0001")
    await page.keyboard.press("Enter")
    await wait_for(page, "(s) => s.selected === 'sim-0001'", "sim-0001 selected")
    assert await page.locator("#card .card-silence").count() == 0
    assert await page.locator("[data-widget=alerts] button.silence").count() == 0
    refused = await page.evaluate(
        """async () => {
          const me = await (await fetch('/api/auth/me')).json();
          const headers = {'content-type': 'application/json', 'x-csrf-token': me.csrf};
          const rule = {kind: 'threshold', id: 'viewer-rule', name: 'no', metric: 'cpu_load',
                        operator: '>', threshold: 1};
          const silence = {matchers: {host_ids: ['sim-0001']}, duration_seconds: 60};
          const asks = [
            fetch('/api/alerts/rules', {method: 'POST', headers, body: JSON.stringify(rule)}),
            fetch('/api/alerts/silences', {method: 'POST', headers, body: JSON.stringify(silence)}),
            fetch('/api/admin/users', {headers}),
          ];
          return (await Promise.all(asks)).map((answer) => answer.status);
        }"""
    )
    assert refused == [403, 403, 403]
    await page.context.close()


async def test_an_alert_resolved_while_the_socket_was_away_leaves_the_page(hud: Hud) -> None:
    """A gap on the socket: the twin frozen (its socket open but silent) while a firing alert
    resolves, then killed and restarted by the launcher. The resolution came on no socket;
    the page, reconnected, reads the active alerts again and the alert is gone."""
    host = "sim-0007"
    await hud.settle()
    alerts_url = f"http://127.0.0.1:{hud.stack.port('alerts')}"
    async with httpx.AsyncClient(base_url=alerts_url, timeout=30) as http:
        login = await http.post(
            "/api/auth/login", json={"user": "admin", "password": hud.admin_password}
        )
        assert login.status_code == 200, login.text
        headers = {"X-CSRF-Token": login.json()["csrf"]}
        rule = {
            "kind": "threshold",
            "id": "hud-gap",
            "name": "Always, on one host",
            "metric": "memory_used_percent",
            "operator": ">=",
            "threshold": 0.0,
            "severity": "info",
            "scope": {"host_ids": [host]},
        }
        created = await http.post("/api/alerts/rules", json=rule, headers=headers)
        assert created.status_code == 201, created.text
        page = await hud.page()
        await page.wait_for_function(
            "(host) => window.mirrorStage.alertedHosts('hud-gap').join() === host",
            arg=host,
            timeout=60_000,
        )
        frames = await page.evaluate("window.mirrorStage.stats().frames")

        twin = service_process(hud.stack, "twin")
        twin.suspend()
        try:
            deleted = await http.delete("/api/alerts/rules/hud-gap", headers=headers)
            assert deleted.status_code == 204, deleted.text

            async def resolved() -> bool:
                active = (await http.get("/api/alerts/active", params={"host": host})).json()
                return all(a["rule_id"] != "hud-gap" for a in active["items"])

            await wait_until(resolved, timeout=60, what="the alert to resolve")
            # Nothing reached the page meanwhile: it still shows the alert.
            assert await page.evaluate("window.mirrorStage.alertedHosts('hud-gap')") == [host]
        finally:
            twin.kill()
    await page.wait_for_function(
        f"() => {{ const s = window.mirrorStage.stats();"
        f" return s.connection === 'live' && s.frames > {frames}; }}",
        timeout=60_000,
    )
    await page.wait_for_function(
        "() => window.mirrorStage.alertedHosts('hud-gap').length === 0", timeout=30_000
    )
    await page.context.close()
