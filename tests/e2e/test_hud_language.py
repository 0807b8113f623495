"""The HUD in the operator's language, in Chromium, on `mirror-stage up --simulate 200`: a
browser set to Korean gets the login page and the HUD in Korean; the top bar's switch changes
the page to English at once and a reload keeps it (the session too); in Korean no English word
of the catalogue is left anywhere on the visible HUD. Screenshots of the fleet, a selected host
and the filtered table in both languages."""

import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from hud_pages import Hud, hud_on_stack, own_password, shoot, wait_for
from playwright.async_api import Page

SIMULATED = 200
CHOSEN = "sim-0007"
pytestmark = pytest.mark.asyncio(loop_scope="module")

# Run in the page: every text node and labelling attribute of the visible HUD, checked against
# the catalogues. Returns what is left in English: each marked element whose text is not its
# Korean string, and each English fragment (a catalogue string's text between placeholders,
# longer than 3 characters, found in no Korean string) in the text the operator sees. What the
# server or the hosts wrote (alert messages, command lines and output, host names) is theirs
# and is left out.
FIND_ENGLISH = """async () => {
  const base = new URL("./strings/", location.href);
  const { EN } = await import(new URL("en.js", base));
  const { KO } = await import(new URL("ko.js", base));
  const wrong = [];
  const marks = { i18n: null, i18nPlaceholder: "placeholder", i18nTitle: "title",
                  i18nAriaLabel: "aria-label" };
  for (const [mark, attribute] of Object.entries(marks)) {
    const selector = `[data-${mark.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}]`;
    for (const element of document.querySelectorAll(selector)) {
      const key = element.dataset[mark];
      const shown = attribute ? element.getAttribute(attribute) : element.textContent;
      if (shown !== KO[key]) wrong.push(`${selector} ${key}: ${shown}`);
    }
  }
  const korean = Object.values(KO);
  const fragments = new Set();
  for (const [key, text] of Object.entries(EN)) {
    if (key === "language.name" || KO[key] === text) continue;
    for (const piece of text.split(/\\{\\w+\\}/)) {
      const fragment = piece.trim();
      if (fragment.length > 3 && /[A-Za-z]/.test(fragment) &&
          !korean.some((ko) => ko.includes(fragment))) fragments.add(fragment);
    }
  }
  const theirs = ".alert-row .message, .console-output, .history-text, .card-title, " +
                 ".language-switch, .match-id, #user";
  const seen = [];
  const regions = ["#topbar", "#card", "#dock-left", "#dock-right", "#fleet-table",
                   "#search-results", "#palette"].map((s) => document.querySelector(s));
  for (const region of regions) {
    if (!region.checkVisibility()) continue;
    const walker = document.createTreeWalker(region, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      // An option is seen in its select, whether or not the list is open.
      if (parent.closest(theirs) || !(parent.closest("select") ?? parent).checkVisibility())
        continue;
      seen.push(node.textContent);
    }
    for (const element of [region, ...region.querySelectorAll("*")]) {
      if (element.closest(theirs) || !element.checkVisibility()) continue;
      for (const attribute of ["placeholder", "title", "aria-label"]) {
        if (element.hasAttribute(attribute)) seen.push(element.getAttribute(attribute));
      }
    }
  }
  const english = [];
  for (const text of seen) {
    for (const fragment of fragments) {
      if (text.includes(fragment)) english.push(`${fragment} in: ${text}`);
    }
  }
  return { wrong, english, texts: seen.length };
}"""


def require_korean_font() -> None:
    """Chromium draws Korean only with a font that has it; without one the screenshots show
    boxes and prove nothing (`make browser` installs fonts-nanum)."""
    listed = subprocess.run(
        ["fc-list", ":lang=ko", "family"], capture_output=True, text=True, check=False
    )
    if not listed.stdout.strip():
        pytest.fail("no font with Korean for Chromium: install fonts-nanum (make browser does)")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hud]:
    require_korean_font()
    async with hud_on_stack(
        tmp_path_factory.mktemp("hud-language"), "--no-agent", "--simulate", str(SIMULATED)
    ) as opened:
        await opened.settle()
        yield opened


async def login_page(hud: Hud, locale: str) -> Page:
    """A new browser context in `locale` at the HUD's login page."""
    context = await hud.browser.new_context(viewport={"width": 1600, "height": 900}, locale=locale)
    page = await context.new_page()
    await page.goto(hud.page_url)
    await page.locator("#login-form").wait_for()
    return page


async def log_in(page: Page) -> None:
    await page.fill("#login-user", "admin")
    await page.fill("#login-password", own_password("admin"))
    await page.click("#login-submit")
    await wait_for(page, f"(s) => s.connection === 'live' && s.hosts >= {SIMULATED}", "the fleet")


async def text(page: Page, selector: str) -> str:
    return (await page.locator(selector).first.text_content() or "").strip()


async def card_names(page: Page) -> list[str]:
    names: list[str] = await page.locator("#card dt").all_text_contents()
    return names


async def select(page: Page, host_id: str) -> None:
    """`host_id` chosen from the search box, its card shown and its widgets filled."""
    await page.fill("#search", host_id)
    await page.locator(f"#search-results li[data-host='{host_id}']").wait_for()
    await page.keyboard.press("Enter")
    await wait_for(page, f"(s) => s.selected === {host_id!r}", f"{host_id} selected")
    await page.locator(f"#card[data-host='{host_id}']").wait_for()
    await page.locator("[data-widget='interfaces'] .row").first.wait_for()
    # Rates, once the twin holds two samples of the host (totals since boot before): the
    # link's speed and a rate each way, three figures in b/s.
    await page.wait_for_function(
        "() => document.querySelector(\"[data-widget='interfaces'] .row\")"
        ".textContent.split('b/s').length > 3"
    )


async def filter_table(page: Page) -> None:
    """The fleet table shown, online hosts with the tag tier=db."""
    await page.locator("#table-toggle").click()
    await page.locator("#fleet-table").wait_for()
    await page.select_option("#table-status", "online")
    await page.fill("#table-text", "tier=db")
    await page.locator("#fleet-table .table-window .table-row").first.wait_for()
    # Every online host with its network rate (known from each host's second sample on).
    await page.wait_for_function(
        "() => window.mirrorStage.hostIds().map((id) => window.mirrorStage.host(id))"
        ".every((h) => h.status !== 'online' || h.net_tx_bits_per_s != null)"
    )


async def test_a_korean_browser_gets_the_login_page_and_the_hud_in_korean(hud: Hud) -> None:
    page = await login_page(hud, "ko-KR")
    assert await page.evaluate("document.documentElement.lang") == "ko"
    assert await text(page, "#login-form label span") == "사용자"
    assert await text(page, "#login-submit") == "로그인"
    pressed = page.locator("#login-language button[aria-pressed='true']")
    assert await pressed.text_content() == "한국어"
    # The login page's own switch, both ways.
    await page.locator("#login-language button[data-language='en']").click()
    assert await text(page, "#login-submit") == "Log in"
    await page.locator("#login-language button[data-language='ko']").click()
    assert await text(page, "#login-submit") == "로그인"
    await page.fill("#login-user", "admin")
    await page.fill("#login-password", "not the password at all")
    await page.click("#login-submit")
    await page.wait_for_function(
        "() => document.querySelector('#login-message').textContent"
        " === '사용자 이름 또는 비밀번호가 올바르지 않습니다'"
    )

    await log_in(page)
    assert await text(page, "#table-toggle") == "표"
    assert await text(page, "#logout") == "로그아웃"
    assert await text(page, "#connection") == "실시간"
    assert await text(page, "#user") == "admin · 관리자"
    assert await page.get_attribute("#layers button[data-layer='3']", "title") == "L3 네트워크"
    assert await text(page, "[data-widget='alerts'] .widget-title span") == "활성 알림"
    await shoot(page, "hud-fleet-ko")

    await select(page, CHOSEN)
    names = await card_names(page)
    assert names[:2] == ["상태", "OS"]
    assert "가동 시간" in names
    assert await text(page, "#card dd") == "온라인"
    await shoot(page, "hud-selected-ko")

    await filter_table(page)
    assert await text(page, "#fleet-table button[data-sort='host_id']") == "호스트"
    assert (await text(page, ".table-count")).startswith(f"호스트 {SIMULATED}대 중 ")
    await shoot(page, "hud-table-ko")
    await page.context.close()


async def test_in_korean_no_english_is_left_on_the_visible_hud(hud: Hud) -> None:
    page = await login_page(hud, "ko-KR")
    await log_in(page)
    await select(page, CHOSEN)
    await filter_table(page)
    await page.locator("#palette-toggle").click()
    # The search's list open too: a tag's matches, with their status and why they match.
    await page.fill("#search", "db")
    await page.locator("#search-results li").first.wait_for()
    found: dict[str, Any] = await page.evaluate(FIND_ENGLISH)
    assert found["texts"] > 100, found  # the scan read the page, not an empty one
    assert found["wrong"] == [], found["wrong"]
    assert found["english"] == [], found["english"]
    await page.context.close()


async def test_the_switch_changes_to_english_at_once_and_a_reload_keeps_it(hud: Hud) -> None:
    page = await login_page(hud, "ko-KR")
    await log_in(page)
    await select(page, CHOSEN)
    assert "가동 시간" in await card_names(page)

    await page.locator("#language button[data-language='en']").click()
    # At once: index.html's words and what the modules wrote, with no reload in between.
    assert await page.evaluate("document.documentElement.lang") == "en"
    assert await text(page, "#table-toggle") == "Table"
    assert await text(page, "#user") == "admin · admin"
    assert "Uptime" in await card_names(page)
    assert await text(page, "[data-widget='alerts'] .widget-title span") == "Active alerts"
    assert await page.get_attribute("#layers button[data-layer='3']", "title") == "L3 Network"
    assert await text(page, "#language button[aria-pressed='true']") == "English"
    stored = await page.evaluate("localStorage.getItem('mirror-stage.language.v1')")
    assert stored == "en"

    # A reload keeps the language and the session: no login page, English from the start.
    await page.reload()
    await wait_for(page, "(s) => s.connection === 'live'", "the socket after the reload")
    assert await page.locator("#login").is_hidden()
    assert await text(page, "#table-toggle") == "Table"
    await wait_for(page, f"(s) => s.selected === {CHOSEN!r}", "the selection kept by the URL")
    await page.locator(f"#card[data-host='{CHOSEN}']").wait_for()
    assert "Uptime" in await card_names(page)
    await page.context.close()


async def test_english_screenshots_of_the_fleet_a_host_and_the_table(hud: Hud) -> None:
    page = await hud.page()
    await wait_for(page, f"(s) => s.hosts >= {SIMULATED}", "every simulated host")
    assert await page.evaluate("document.documentElement.lang") == "en"
    await shoot(page, "hud-fleet-en")
    await select(page, CHOSEN)
    assert "Uptime" in await card_names(page)
    await shoot(page, "hud-selected-en")
    await filter_table(page)
    assert (await text(page, ".table-count")).endswith(f"of {SIMULATED} hosts")
    await shoot(page, "hud-table-en")
    await page.context.close()
