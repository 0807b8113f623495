"""The HUD in a real browser, logged in to a running stack: what the browser tests share."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from stack_up import RunningStack, mirror_stage_up

from browser import CHROMIUM_FLAGS, chromium_path, with_test_hook
from shared_databases import remove_shared_database

SCREENSHOTS = Path(__file__).parents[2] / ".artifacts" / "screenshots"


def chromium() -> str:
    """The system's Chromium; its absence fails the test run (.ci/run installs it)."""
    found = chromium_path()
    if found is None:
        pytest.fail("no Chromium on PATH: install the distribution's chromium (.ci/run does)")
    return found


class Hud:
    """The stack under test and what the browser tests need of it."""

    def __init__(self, stack: RunningStack, data_dir: Path, browser: Browser) -> None:
        self.stack = stack
        self.data_dir = data_dir
        self.browser = browser
        printed = "\n".join(stack.lines)
        found = re.search(r"first admin: user 'admin', one-time password (\S+)", printed)
        assert found is not None, printed
        self.admin_password = found.group(1)
        self.url = f"http://127.0.0.1:{stack.port('twin')}/"
        self.page_errors: list[str] = []  # uncaught errors of every page opened here
        self.page_url = with_test_hook(self.url)

    async def page(self, user: str = "admin", password: str | None = None) -> Page:
        """A new browser context's page, logged in through the login form; a one-time password
        is replaced there first by the user's own (own_password(user))."""
        context = await self.browser.new_context(viewport={"width": 1600, "height": 900})
        page = await context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        await page.goto(self.page_url)
        await page.fill("#login-user", user)
        await page.fill("#login-password", password or self.admin_password)
        await page.click("#login-submit")
        await page.wait_for_function(
            "() => !document.querySelector('#password-form').hidden || (window.mirrorStage && "
            "window.mirrorStage.stats().connection === 'live')"
        )
        if await page.locator("#password-form").is_visible():
            await page.fill("#password-new", own_password(user))
            await page.fill("#password-repeat", own_password(user))
            await page.click("#password-submit")
            if user == "admin":
                self.admin_password = own_password(user)
        await wait_for(page, "(s) => s.connection === 'live' && s.hosts > 0", "the fleet")
        return page

    async def settle(self) -> None:
        """The first admin's one-time password replaced by their own, over HTTP, unless a page
        or an earlier call did it."""
        if self.admin_password == own_password("admin"):
            return
        async with httpx.AsyncClient(base_url=self.url, timeout=20) as http:
            login = await http.post(
                "/api/auth/login", json={"user": "admin", "password": self.admin_password}
            )
            assert login.status_code == 200, login.text
            assert login.json()["password_change_required"] is True
            changed = await http.post(
                "/api/auth/password",
                json={"current": self.admin_password, "new": own_password("admin")},
                headers={"X-CSRF-Token": login.json()["csrf"]},
            )
            assert changed.status_code == 204, changed.text
        self.admin_password = own_password("admin")


def own_password(user: str) -> str:
    """The password a user chooses in place of their one-time one."""
    return f"{user}'s own long password"


async def stats(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate("window.mirrorStage.stats()")
    return result


async def wait_for(page: Page, predicate: str, what: str, seconds: float = 30) -> None:
    """Wait until `predicate` (a JS function of stats()) holds on the page."""
    try:
        await page.wait_for_function(
            f"() => window.mirrorStage && ({predicate})(window.mirrorStage.stats())",
            timeout=seconds * 1000,
            polling=100,
        )
    except PlaywrightTimeoutError:
        pytest.fail(f"waited {seconds:g} s for {what}; the page's state: {await stats(page)}")


async def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


async def host_point(page: Page, host_id: str) -> dict[str, float]:
    point = await page.evaluate(f"window.mirrorStage.hostOnPage({host_id!r})")
    assert point is not None, f"{host_id} is not on the page"
    return point  # type: ignore[no-any-return]


@asynccontextmanager
async def hud_on_stack(base: Path, *flags: str) -> AsyncIterator[Hud]:
    """`mirror-stage up FLAGS` in `base`, and Chromium to open its HUD; both stopped after,
    the stack's database with them."""
    data_dir = base / "stage"
    async with mirror_stage_up(data_dir, *flags) as stack, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            hud = Hud(stack, data_dir, browser)
            yield hud
        finally:
            await browser.close()
        if hud.page_errors:
            pytest.fail("the HUD threw: " + "; ".join(hud.page_errors[:5]))
    remove_shared_database(data_dir, base)


def overlapping(boxes: list[dict[str, float]]) -> list[tuple[str, str]]:
    """The pairs of drawn label boxes that intersect."""
    found = []
    for k, a in enumerate(boxes):
        for b in boxes[k + 1 :]:
            if (
                a["x"] < b["x"] + b["w"]
                and b["x"] < a["x"] + a["w"]
                and a["y"] < b["y"] + b["h"]
                and b["y"] < a["y"] + a["h"]
            ):
                found.append((str(a["id"]), str(b["id"])))
    return found
