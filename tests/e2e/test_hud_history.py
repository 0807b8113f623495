"""A host's history as charts in the HUD, in Chromium, on `mirror-stage up --simulate 60`: the
charts draw what the history API answered, each range asks at its own step, the alert rules'
thresholds are dashed lines on their metric's chart, hovering shows every chart's value at one
time, a dragged span zooms every chart, and a day of one host's history is photographed.

The day before the stack started is written for CHARTED (a GPU host) through the ingest's own
writer, on the ingest's own database role, from the simulator's model of the same host."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
import pytest_asyncio
from hud_pages import Hud, hud_on_stack, own_password, shoot
from playwright.async_api import Page, Response
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from stack_up import service_process

from mirror_agent.simulated_fleet import SimulatedHost
from mirror_ingest import store
from mirror_ingest.writing import partitions, rollups
from mirror_ingest.writing.rows import sample_day, sample_row

SIMULATED = 60
CHARTED = "sim-0049"  # 4 GPUs, 64 cores (SimulatedHost(49, seed=1))
CHARTED_INDEX = 49
NO_VALUE = "\N{EN DASH}"  # what a legend shows for a series without a value then
pytestmark = pytest.mark.asyncio(loop_scope="module")


async def backfill(hud: Hud, until: datetime) -> int:
    """A sample a minute of CHARTED for the day before `until`, written and rolled up as the
    ingest writes them; returns how many."""
    host = SimulatedHost(CHARTED_INDEX, 1, interval=60)
    start = until - timedelta(days=1)
    samples = [
        s
        for minute in range(24 * 60)
        if (s := host.sample((start + timedelta(minutes=minute)).timestamp())) is not None
    ]
    url = service_process(hud.stack, "ingest").environ()["MIRROR_STAGE_DB_URL"]
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        await partitions.create_days(pool, {sample_day(s.timestamp) for s in samples})
        rows = [sample_row(s, CHARTED) for s in samples]
        async with pool.acquire() as conn:
            for first in range(0, len(rows), 500):
                await store.write_batch(conn, rows[first : first + 500])
        await rollups.flush(pool)
    finally:
        await pool.close()
    return len(samples)


async def add_rules(hud: Hud) -> None:
    """A disk-use rule for CHARTED, and one for another host that its charts must not show."""
    await hud.settle()
    twin = hud.url.rstrip("/")
    alerts = f"http://127.0.0.1:{hud.stack.port('alerts')}"
    async with httpx.AsyncClient(timeout=20) as http:
        login = await http.post(
            f"{twin}/api/auth/login", json={"user": "admin", "password": own_password("admin")}
        )
        assert login.status_code == 200, login.text
        csrf = {"X-CSRF-Token": login.json()["csrf"]}
        for rule_id, host, threshold in (
            ("history-disk", CHARTED, 95.0),
            ("other-disk", "sim-0001", 60.0),
        ):
            made = await http.post(
                f"{alerts}/api/alerts/rules",
                json={
                    "kind": "threshold",
                    "id": rule_id,
                    "name": f"disk of {host}",
                    "metric": "disk.used_percent",
                    "operator": ">=",
                    "threshold": threshold,
                    "scope": {"host_ids": [host]},
                },
                headers=csrf,
            )
            assert made.status_code == 201, made.text


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hud]:
    started = datetime.now(UTC).replace(second=0, microsecond=0)
    async with hud_on_stack(
        tmp_path_factory.mktemp("hud-history"), "--no-agent", "--simulate", str(SIMULATED)
    ) as opened:
        assert await backfill(opened, started - timedelta(minutes=1)) > 1000
        await add_rules(opened)
        yield opened


async def charts_state(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = await page.evaluate("window.mirrorStage.charts()")
    return state


async def settled(page: Page, loads: int) -> dict[str, Any]:
    """The charts' state once more than `loads` answers have been drawn."""
    try:
        await page.wait_for_function(
            f"() => {{ const c = window.mirrorStage.charts();"
            f" return c && c.open && !c.loading && c.loads > {loads} && c.charts.length > 0; }}",
            timeout=30_000,
        )
    except PlaywrightTimeoutError:
        state = await charts_state(page)
        pytest.fail(f"waited 30 s for the charts after {loads} loads: {state}")
    return await charts_state(page)


class HistoryRequests:
    """The charts' history requests a page sends from now on, and their answers (the card's
    sparklines ask without a step)."""

    def __init__(self, page: Page) -> None:
        self.responses: list[Response] = []
        page.on("response", self.heard)

    def heard(self, response: Response) -> None:
        if "/api/metrics/history" in response.url and "step=" in response.url:
            self.responses.append(response)

    def queries(self) -> list[dict[str, str]]:
        """The requests' parameters, by their `since` (answers come in any order)."""
        queries = [
            {name: values[0] for name, values in parse_qs(urlsplit(r.url).query).items()}
            for r in self.responses
        ]
        return sorted(queries, key=lambda q: datetime.fromisoformat(q["since"]))

    async def history(self) -> dict[str, Any]:
        """The answers joined, as the charts join them: points in time order."""
        assert all(r.status == 200 for r in self.responses)
        bodies = [await r.json() for r in self.responses]
        points = sorted((p for b in bodies for p in b["points"]), key=lambda p: p["timestamp"])
        return {"step": bodies[0]["step"], "points": points}


async def open_charts(hud: Hud) -> tuple[Page, dict[str, Any]]:
    """A page with CHARTED selected and its charts opened from its card: the page, and the
    history the charts were answered."""
    page = await hud.page()
    await page.fill("#search", CHARTED)
    await page.keyboard.press("Enter")
    await page.wait_for_function(f"() => window.mirrorStage.stats().selected === {CHARTED!r}")
    requests = HistoryRequests(page)
    await page.locator("#card .card-charts").click()
    await settled(page, 0)
    return page, await requests.history()


def known(points: list[dict[str, Any]], read: Any) -> int:
    """How many points have a value for `read(point)`."""
    count = 0
    for point in points:
        try:
            value = read(point)
        except (KeyError, IndexError, TypeError):
            value = None
        count += value is not None
    return count


def expected_charts(points: list[dict[str, Any]]) -> set[str]:
    """The charts a history's points call for."""
    ids = {"cpu", "load", "memory", "temperatures"}
    if any(p.get("cpu_per_core") for p in points):
        ids.add("cores")
    if any(p["disks"] for p in points):
        ids.add("disks")
    ids |= {f"net:{name}" for p in points for name in p["interfaces"]}
    ids |= {f"gpu:{index}" for p in points for index in p.get("gpus", {})}
    return ids


async def test_a_hosts_charts_draw_every_point_the_history_answered(hud: Hud) -> None:
    page, history = await open_charts(hud)
    state = await charts_state(page)
    points = history["points"]
    assert state["host"] == CHARTED
    assert (state["range"], state["requested"]["step"], history["step"]) == ("1h", "raw", "raw")
    assert len(points) < 500, "an hour of this stack's history is drawn unfolded"
    charts = {c["id"]: c for c in state["charts"]}
    assert set(charts) == expected_charts(points)
    assert {"cores", "gpu:0", "gpu:3", "net:eth0"} <= set(charts)
    for chart in state["charts"]:
        for series in chart["series"]:
            assert series["drawn"] == series["points"] > 0, (chart["id"], series)
    series = {(c["id"], s["key"]): s for c in state["charts"] for s in c["series"]}
    assert series[("cpu", "cpu")]["drawn"] == known(points, lambda p: p["cpu_load"])
    assert series[("memory", "memory")]["drawn"] == known(
        points, lambda p: p["memory_used_percent"]
    )
    assert series[("net:eth0", "rx")]["drawn"] == known(
        points, lambda p: p["interfaces"]["eth0"]["rx_bytes_per_s"]
    )
    assert series[("gpu:0", "utilization")]["drawn"] == known(
        points, lambda p: p["gpus"]["0"]["utilization_percent"]
    )
    assert series[("cores", "core63")]["drawn"] == known(points, lambda p: p["cpu_per_core"][63])
    assert series[("disks", "/")]["drawn"] == known(points, lambda p: p["disks"]["/"])
    # Every chart's canvas has pixels of its own: something was drawn on each.
    painted = await page.evaluate(
        """() => [...document.querySelectorAll('#host-charts .chart-canvas')].map((c) => {
             const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let lit = 0;
             for (let i = 3; i < data.length; i += 4) if (data[i] > 0) lit += 1;
             return lit; })"""
    )
    assert len(painted) == len(charts)
    assert min(painted) > 1000
    # Escape closes the charts; `h` opens them again for the selected host.
    await page.keyboard.press("Escape")
    assert not (await charts_state(page))["open"]
    await page.keyboard.press("h")
    assert (await settled(page, state["loads"]))["host"] == CHARTED
    await page.context.close()


async def test_each_range_asks_at_its_own_step_and_a_day_is_photographed(hud: Hud) -> None:
    page, _ = await open_charts(hud)
    asked = {}
    for key in ("15m", "24h", "7d", "30d", "1h"):
        loads = (await charts_state(page))["loads"]
        requests = HistoryRequests(page)
        await page.locator(f"#host-charts button[data-range='{key}']").click()
        state = await settled(page, loads)
        queries = requests.queries()
        # The window, asked for in spans that each fit one NATS message, all at one step.
        assert len(queries) == state["requested"]["requests"]
        assert [q["since"] for q in queries[1:]] == [q["until"] for q in queries[:-1]]
        assert {q["step"] for q in queries} == {state["step"]}
        since = datetime.fromisoformat(queries[0]["since"])
        until = datetime.fromisoformat(queries[-1]["until"])
        asked[key] = (state["step"], round((until - since).total_seconds() / 60))
    assert asked == {
        "15m": ("raw", 15),
        "24h": ("1m", 1440),
        "7d": ("1h", 7 * 1440),
        "30d": ("1h", 30 * 1440),
        "1h": ("raw", 60),
    }

    loads = (await charts_state(page))["loads"]
    await page.locator("#host-charts button[data-range='24h']").click()
    state = await settled(page, loads)
    cpu = next(c for c in state["charts"] if c["id"] == "cpu")["series"][0]
    # A day of minutes (the backfilled day): folded to at most 500 drawn points, with a band
    # for the maxima.
    assert 400 < cpu["drawn"] <= 500
    assert cpu["band"] is True
    await shoot(page, "hud-history-24h-en")
    # The same day in Korean: the switch relabels the open charts at once.
    await page.locator("#topbar button[data-language='ko']").click()
    await page.wait_for_function(
        "() => document.querySelector(\"#host-charts button[data-range='24h']\")"
        ".textContent === '24시간'"
    )
    hint = await page.locator("#host-charts .charts-hint").inner_text()
    assert any("\uac00" <= ch <= "\ud7a3" for ch in hint), hint  # Hangul
    await shoot(page, "hud-history-24h-ko")
    await page.context.close()


async def test_thresholds_of_the_rules_watching_the_host_are_drawn(hud: Hud) -> None:
    page, _ = await open_charts(hud)
    state = await charts_state(page)
    charts = {c["id"]: c for c in state["charts"]}
    assert state["rulesError"] is None
    assert charts["disks"]["thresholds"] == [{"value": 95.0, "ruleId": "history-disk"}]
    assert charts["disks"]["thresholdsDrawn"] == 1
    # The defaults watch every host: CPU at 80 %, memory at 90 %.
    assert {"value": 80.0, "ruleId": "default-cpu-high"} in charts["cpu"]["thresholds"]
    assert {"value": 90.0, "ruleId": "default-memory-high"} in charts["memory"]["thresholds"]
    # The dashed line is on the canvas, in the warning colour, at 95 % of the disk chart.
    plot = await page.evaluate("window.mirrorStage.chartPlot('disks')")
    lo, hi = charts["disks"]["valueDomain"]
    y = plot["top"] + plot["height"] * (hi - 95.0) / (hi - lo)
    colours = await page.evaluate(
        """([y, left, width]) => {
             const canvas = document.querySelector("#host-charts [data-chart='disks'] canvas");
             const rect = canvas.getBoundingClientRect();
             const ratio = canvas.width / rect.width;
             const row = canvas.getContext('2d').getImageData(
               Math.round((left - rect.left) * ratio), Math.round((y - rect.top) * ratio),
               Math.round(width * ratio), 1).data;
             const out = [];
             for (let i = 0; i < row.length; i += 4) out.push([row[i], row[i + 1], row[i + 2]]);
             return out; }""",
        [y, plot["left"], plot["width"]],
    )
    amber = [c for c in colours if abs(c[0] - 0xFB) < 24 and abs(c[1] - 0xBF) < 24 and c[2] < 90]
    assert len(amber) > len(colours) // 3, "a dashed amber line across the plot"
    # The rules are read through the twin, by the logged-in only.
    async with httpx.AsyncClient(timeout=20) as http:
        anonymous = await http.get(f"{hud.url}api/alerts/rules")
    assert anonymous.status_code == 401
    await page.context.close()


async def test_hovering_one_chart_shows_every_charts_value_at_that_time(hud: Hud) -> None:
    page, history = await open_charts(hud)
    plot = await page.evaluate("window.mirrorStage.chartPlot('cpu')")
    await page.mouse.move(plot["left"] + plot["width"] * 0.6, plot["top"] + plot["height"] / 2)
    await page.wait_for_function("() => window.mirrorStage.charts().hoverTime !== null")
    state = await charts_state(page)
    hovered = state["hoverTime"]
    nearest = min(
        history["points"],
        key=lambda p: abs(datetime.fromisoformat(p["timestamp"]).timestamp() * 1000 - hovered),
    )
    charts = {c["id"]: c for c in state["charts"]}
    assert charts["cpu"]["hover"]["cpu"]["avg"] == nearest["cpu_load"]
    assert charts["memory"]["hover"]["memory"]["avg"] == nearest["memory_used_percent"]
    assert (
        charts["gpu:1"]["hover"]["utilization"]["avg"]
        == (nearest["gpus"]["1"]["utilization_percent"])
    )
    assert charts["disks"]["hover"]["/"]["avg"] == nearest["disks"]["/"]
    # Each chart's legend reads out its values at that time, and the bar says which time.
    values = await page.locator("#host-charts .chart-value").all_text_contents()
    assert len(values) >= len(charts)
    assert all(v and v != NO_VALUE for v in values[:4])
    assert (await page.locator(".charts-moment").text_content() or "").startswith("at ")
    cpu_text = await page.locator("#host-charts [data-chart='cpu'] .chart-value").text_content()
    assert cpu_text == f"{nearest['cpu_load']:.1f}".rstrip("0").rstrip(".") + "%"
    await shoot(page, "hud-history-hover-en")
    await page.context.close()


async def test_a_span_dragged_across_a_chart_zooms_every_chart_and_reset_returns(
    hud: Hud,
) -> None:
    page, _ = await open_charts(hud)
    loads = (await charts_state(page))["loads"]
    await page.locator("#host-charts button[data-range='24h']").click()
    before = await settled(page, loads)
    plot = await page.evaluate("window.mirrorStage.chartPlot('memory')")
    t0, t1 = before["domain"]
    y = plot["top"] + plot["height"] / 2
    async with page.expect_request(lambda r: "/api/metrics/history" in r.url) as request:
        await page.mouse.move(plot["left"] + plot["width"] * 0.25, y)
        await page.mouse.down()
        await page.mouse.move(plot["left"] + plot["width"] * 0.5, y, steps=5)
        await page.mouse.up()
    query = parse_qs(urlsplit((await request.value).url).query)
    zoomed = await settled(page, before["loads"])
    since, until = zoomed["zoom"]["since"], zoomed["zoom"]["until"]
    span = t1 - t0
    assert abs(since - (t0 + span * 0.25)) < span * 0.01
    assert abs(until - (t0 + span * 0.5)) < span * 0.01
    assert zoomed["domain"] == [since, until]
    assert query["step"] == ["1m"]  # six hours in minutes
    assert datetime.fromisoformat(query["since"][0]).timestamp() * 1000 == since
    assert await page.locator("#host-charts button[data-range='24h'].current").count() == 0
    assert all(s["drawn"] > 0 for c in zoomed["charts"] for s in c["series"])

    await page.locator("#host-charts .charts-reset").click()
    back = await settled(page, zoomed["loads"])
    assert back["zoom"] is None
    assert back["requested"]["step"] == "1m"
    assert back["domain"][1] - back["domain"][0] == 24 * 3600 * 1000
    await page.context.close()
