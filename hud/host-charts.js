// A host's history as charts, over the stage: a range (15 min to 30 days) or a span dragged
// across any chart, read from the history API at the step that keeps it bounded, with the alert
// rules' thresholds, and one hovered time shown on every chart. Opened for the selected host
// from its card or with `h`; Escape closes it. It follows the selection while open, and reads
// a range that ends now again every REFRESH_MS.

import { ChartCard } from "./chart-card.js";
import { timeFormatter } from "./chart-format.js";
import { ChartsBar } from "./charts-bar.js";
import { element } from "./dom.js";
import { historyCharts } from "./history-series.js";
import { fetchSpans } from "./history-fetch.js";
import { DEFAULT_RANGE, chooseStep, requestSpans, stepMs, windowOf } from "./history-step.js";
import { linkSpeeds, thresholdsByChart } from "./history-thresholds.js";
import { t } from "./i18n.js";

const REFRESH_MS = 30_000;
const RULES_FRESH_MS = 60_000;
// Points further apart than this many steps (or buckets) are not joined: the host was silent.
// A step counts as at least a minute: history written when the host sampled less often than
// it does now (or by another agent) is still drawn as lines.
const GAP_STEPS = 2.5;
const MIN_STEP_MS = 60_000;

const iso = (ms) => new Date(ms).toISOString();
const errorText = (error) => error?.detail ?? error?.message ?? String(error);

export class HostCharts {
  // `api`: {fetchHistory(host, since, until, step), listAlertRules()}.
  constructor(root, { hud, api }) {
    this.root = root;
    this.hud = hud;
    this.api = api;
    this.hostId = null;
    this.range = DEFAULT_RANGE;
    this.zoom = null;
    this.data = null; // historyCharts() of the last answer
    this.domain = null;
    this.requested = null;
    this.loads = 0;
    this.seq = 0;
    this.loading = false;
    this.error = null;
    this.rules = null;
    this.rulesAt = 0;
    this.rulesError = null;
    this.hoverTime = null;
    this.selection = null;
    this.cards = new Map();
    this.frame = 0;
    this.timer = null;
    this.root.setAttribute("aria-label", t("charts.label"));
    this.build();
    new ResizeObserver(() => this.requestDraw()).observe(this.grid);
  }

  build() {
    this.bar = this.newBar();
    this.status = element("p", "charts-status");
    this.hint = element("p", "charts-hint", t("charts.hint"));
    this.grid = element("div", "charts-grid");
    this.root.replaceChildren(this.bar.element, this.status, this.grid, this.hint);
  }

  newBar() {
    return new ChartsBar({
      onRange: (key) => this.setRange(key),
      onReset: () => this.resetZoom(),
      onClose: () => this.close(),
    });
  }

  // A language switch: the view's words again, in the new language (the charts' cards are
  // made anew, titles and legends with them).
  relabel() {
    this.root.setAttribute("aria-label", t("charts.label"));
    const bar = this.newBar();
    this.bar.element.replaceWith(bar.element);
    this.bar = bar;
    this.hint.textContent = t("charts.hint");
    for (const card of this.cards.values()) card.element.remove();
    this.cards.clear();
    this.render();
  }

  get visible() {
    return !this.root.hidden;
  }

  open(hostId = this.hud.selectedId) {
    if (!hostId) return;
    const changed = hostId !== this.hostId;
    this.hostId = hostId;
    if (changed) {
      this.zoom = null;
      this.data = null;
      this.grid.replaceChildren();
      this.cards.clear();
    }
    this.root.hidden = false;
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (!this.zoom && !this.loading) this.load();
    }, REFRESH_MS);
    this.load();
  }

  close() {
    this.root.hidden = true;
    clearInterval(this.timer);
    this.timer = null;
    this.hoverTime = null;
    this.selection = null;
  }

  toggle() {
    if (this.visible) this.close();
    else this.open();
  }

  // The stage's selection changed while the charts are open: show the new host's.
  follow(selectedId) {
    if (!this.visible || selectedId === this.hostId) return;
    if (selectedId) this.open(selectedId);
    else this.close();
  }

  setRange(key) {
    this.range = key;
    this.zoom = null;
    this.load();
  }

  zoomTo(span) {
    this.zoom = span;
    this.load();
  }

  resetZoom() {
    this.zoom = null;
    this.load();
  }

  async load() {
    const host = this.hostId;
    const seq = ++this.seq;
    const sampleSeconds =
      host === this.hud.selectedId ? this.hud.detail?.interval_seconds : undefined;
    const { since, until } = windowOf({ range: this.range, zoom: this.zoom }, Date.now());
    const step = chooseStep(until - since, sampleSeconds);
    const spans = requestSpans({ since, until }, step, this.shapeOf(host), sampleSeconds);
    this.requested = { since: iso(since), until: iso(until), step, requests: spans.length };
    this.loading = true;
    this.showHeader();
    const rules = this.loadRules();
    try {
      const fetchOne = (span) =>
        this.api.fetchHistory(host, iso(span.since), iso(span.until), step);
      const history = await fetchSpans(spans, fetchOne);
      await rules;
      if (seq !== this.seq) return;
      this.error = null;
      this.domain = [since, until];
      this.data = historyCharts(history, { domain: this.domain });
      const spacing = Math.max(
        stepMs(history.step, sampleSeconds),
        this.data.bucketMs,
        MIN_STEP_MS,
      );
      this.gapMs = GAP_STEPS * spacing;
      this.cellMs = this.data.bucketMs || stepMs(history.step, sampleSeconds);
    } catch (error) {
      if (seq !== this.seq) return;
      this.error = error;
      this.data = null;
    } finally {
      if (seq === this.seq) {
        this.loading = false;
        this.loads += 1;
      }
    }
    this.render();
  }

  // What makes a host's points large, for requestSpans: its latest sample's figures when it
  // is the selected host, else its view's; unknown cores and GPUs are taken to be many.
  shapeOf(host) {
    const view = this.hud.fleet.hosts.get(host);
    const sample = host === this.hud.selectedId ? this.hud.detail : null;
    return {
      cores: sample?.cpu_per_core?.length || view?.cpu_logical_cores || 128,
      gpus: sample?.gpus?.length ?? view?.gpu_count ?? 8,
      interfaces: sample?.interfaces?.length ?? 8,
      disks: sample?.disks?.length ?? 8,
      sensors: sample ? Object.keys(sample.temperatures ?? {}).length : 8,
    };
  }

  // The rules, read again when older than RULES_FRESH_MS; charts go without thresholds when
  // the alerts service cannot be asked, and say so.
  async loadRules() {
    if (this.rules && Date.now() - this.rulesAt < RULES_FRESH_MS) return;
    try {
      this.rules = await this.api.listAlertRules();
      this.rulesAt = Date.now();
      this.rulesError = null;
    } catch (error) {
      this.rulesError = error;
    }
  }

  showHeader() {
    this.bar.show({
      hostId: this.hostId,
      range: this.range,
      zoom: this.zoom,
      step: this.data?.step ?? this.requested?.step,
      hoverTime: this.hoverTime,
    });
    const notes = [];
    if (this.loading && !this.data) notes.push(t("charts.loading"));
    if (this.error) notes.push(t("charts.failed", { reason: errorText(this.error) }));
    else if (this.data && !this.data.charts.length) notes.push(t("charts.empty"));
    if (this.rulesError)
      notes.push(t("charts.rules_failed", { reason: errorText(this.rulesError) }));
    this.status.textContent = notes.join(" ");
    this.status.hidden = notes.length === 0;
  }

  // Cards for the charts the history has, in order; the thresholds that fall on each.
  render() {
    this.showHeader();
    const charts = this.data?.charts ?? [];
    const view = this.hostId ? this.hud.fleet.hosts.get(this.hostId) : null;
    const host = view ?? (this.hostId ? { host_id: this.hostId, tags: {} } : null);
    const speeds = this.hostId === this.hud.selectedId ? linkSpeeds(this.hud.detail) : {};
    this.thresholds = thresholdsByChart(
      this.rules,
      host,
      charts.map((c) => c.id),
      speeds,
    );
    const shown = new Set(charts.map((c) => c.id));
    for (const [id, card] of this.cards) {
      if (!shown.has(id)) {
        card.element.remove();
        this.cards.delete(id);
      }
    }
    const callbacks = {
      onHover: (time) => this.hover(time),
      onDrag: (span) => {
        this.selection = span;
        this.requestDraw();
      },
      onZoom: (span) => this.zoomTo(span),
    };
    const ordered = charts.map((chart) => {
      const card = this.cards.get(chart.id) ?? new ChartCard(chart.id, callbacks);
      this.cards.set(chart.id, card);
      card.update(chart);
      return card.element;
    });
    this.grid.replaceChildren(...ordered);
    this.drawAll();
  }

  hover(time) {
    this.hoverTime = time;
    this.requestDraw();
  }

  requestDraw() {
    if (this.frame || !this.visible) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.drawAll();
    });
  }

  drawAll() {
    if (!this.visible || !this.data) return;
    this.showHeader();
    const view = {
      times: this.data.times,
      domain: this.domain,
      gapMs: this.gapMs,
      cellMs: this.cellMs,
      hoverTime: this.hoverTime,
      selection: this.selection,
      formatTime: timeFormatter(this.domain[1] - this.domain[0]),
    };
    for (const card of this.cards.values()) {
      card.draw({ ...view, thresholds: this.thresholds.get(card.id) ?? [] });
    }
  }

  // What the tests read (testing.js): the charts' real state, counted as drawn.
  testState() {
    return {
      open: this.visible,
      host: this.hostId,
      range: this.range,
      zoom: this.zoom,
      step: this.data?.step ?? null,
      requested: this.requested,
      loads: this.loads,
      loading: this.loading,
      error: this.error ? errorText(this.error) : null,
      rulesError: this.rulesError ? errorText(this.rulesError) : null,
      domain: this.domain,
      hoverTime: this.hoverTime,
      charts: [...this.cards.values()].map((card) => ({
        id: card.id,
        kind: card.chart.kind,
        series: card.chart.series.map((s) => ({
          key: s.key,
          points: s.avg.filter((v) => v != null).length,
          drawn: card.last?.drawn[s.key] ?? 0,
          band: s.max != null,
        })),
        thresholds: (this.thresholds.get(card.id) ?? []).map((th) => ({
          value: th.value,
          ruleId: th.ruleId,
        })),
        thresholdsDrawn: card.last?.thresholds ?? 0,
        valueDomain: card.last?.valueDomain ?? null,
        hover: card.hover,
      })),
    };
  }

  // Where a chart's plot lies on the page, for a test to point at a time on it.
  plotOnPage(id) {
    const card = this.cards.get(id);
    if (!card?.last) return null;
    const rect = card.canvas.getBoundingClientRect();
    const { plot } = card.last;
    return {
      left: rect.left + plot.left,
      top: rect.top + plot.top,
      width: plot.width,
      height: plot.height,
    };
  }
}

// The selection card's button that opens the charts of the selected host.
export function chartsButton(charts) {
  const button = element("button", "card-charts", t("charts.open"));
  button.type = "button";
  button.title = t("charts.open.title");
  button.addEventListener("click", () => charts.open());
  return button;
}

// `h` opens or closes the selected host's charts, Escape closes them; not while typing.
export function listenForChartKeys(target, charts) {
  target.addEventListener("keydown", (event) => {
    const typing = event.target.closest?.("input, textarea, select, [contenteditable]");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "h") charts.toggle();
    else if (event.key === "Escape" && charts.visible) charts.close();
  });
}
