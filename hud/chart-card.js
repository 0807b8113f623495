// One chart of the host charts: its title, a legend with each series' value at the hovered time
// (else the latest), and its canvas. Pointer moves over the canvas report the time under them,
// a drag reports the span it covers, and a drag let go zooms to it (the callbacks decide what
// that does to every chart).

import { drawChart, plotArea, PALETTE } from "./chart-draw.js";
import { dragSpan, nearestIndex, timeAt } from "./chart-math.js";
import { valueFormatter } from "./chart-format.js";
import { element } from "./dom.js";
import { formatNumber, t } from "./i18n.js";

const label = (name) => (Array.isArray(name) ? t(name[0], name[1]) : name);
const HEATMAP_LEGEND = "summary";

// The value each series has at index `i`: {key: {avg, max}} (null where it has none).
function valuesAt(chart, i) {
  const out = {};
  for (const s of chart.series) {
    out[s.key] = i < 0 || s.avg[i] == null ? null : { avg: s.avg[i], max: s.max?.[i] ?? null };
  }
  return out;
}

// The last index at which any series of the chart has a value, or -1.
function latestIndex(chart, length) {
  for (let i = length - 1; i >= 0; i -= 1) {
    if (chart.series.some((s) => s.avg[i] != null)) return i;
  }
  return -1;
}

export class ChartCard {
  constructor(id, { onHover, onDrag, onZoom }) {
    this.id = id;
    this.element = element("article", "chart-card");
    this.element.dataset.chart = id;
    this.heading = element("h3", "chart-title");
    this.legend = element("ul", "chart-legend");
    this.canvas = element("canvas", "chart-canvas");
    this.element.append(this.heading, this.legend, this.canvas);
    this.chart = null;
    this.last = null; // what the last draw drew
    this.hover = null; // the values shown in the legend
    this.dragFrom = null;
    this.listen({ onHover, onDrag, onZoom });
  }

  // The x of a pointer event within the plot, in CSS pixels from the plot's left edge.
  plotX(event) {
    const rect = this.canvas.getBoundingClientRect();
    return event.clientX - rect.left - plotArea(rect.width, rect.height).left;
  }

  listen({ onHover, onDrag, onZoom }) {
    const width = () => plotArea(this.canvas.clientWidth, this.canvas.clientHeight).width;
    this.canvas.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || !this.domain) return;
      this.dragFrom = this.plotX(event);
      this.canvas.setPointerCapture?.(event.pointerId);
    });
    this.canvas.addEventListener("pointermove", (event) => {
      if (!this.domain) return;
      const x = this.plotX(event);
      onHover(timeAt(x, width(), this.domain));
      if (this.dragFrom != null) {
        const [a, b] = [this.dragFrom, x].sort((p, q) => p - q);
        onDrag({ since: timeAt(a, width(), this.domain), until: timeAt(b, width(), this.domain) });
      }
    });
    this.canvas.addEventListener("pointerup", (event) => {
      if (this.dragFrom == null || !this.domain) return;
      const span = dragSpan(this.dragFrom, this.plotX(event), width(), this.domain);
      this.dragFrom = null;
      onDrag(null);
      if (span) onZoom(span);
    });
    this.canvas.addEventListener("pointercancel", () => {
      this.dragFrom = null;
      onDrag(null);
    });
    this.canvas.addEventListener("pointerleave", () => {
      if (this.dragFrom == null) onHover(null);
    });
  }

  // A new chart of the same id: its title and legend rows.
  update(chart) {
    this.chart = chart;
    this.format = valueFormatter(chart.unit);
    this.heading.textContent = label(chart.title);
    const rows =
      chart.kind === "heatmap"
        ? [
            this.legendRow(
              HEATMAP_LEGEND,
              null,
              t("charts.cores.count", { count: chart.series.length }),
            ),
          ]
        : chart.series.map((s, n) =>
            this.legendRow(s.key, PALETTE[n % PALETTE.length], label(s.label)),
          );
    this.legend.replaceChildren(...rows);
  }

  legendRow(key, colour, text) {
    const row = element("li", "chart-legend-row");
    row.dataset.series = key;
    if (colour) {
      const swatch = element("span", "chart-swatch");
      swatch.style.background = colour;
      row.append(swatch);
    }
    row.append(element("span", "chart-series", text), element("span", "chart-value", ""));
    return row;
  }

  // The legend's values at `time` (null: the latest), nearest within gapMs.
  showValues(times, time, gapMs) {
    const chart = this.chart;
    const i = time == null ? latestIndex(chart, times.length) : nearestIndex(times, time, gapMs);
    this.hover = valuesAt(chart, i);
    if (chart.kind === "heatmap") {
      const known = Object.entries(this.hover).filter(([, v]) => v != null);
      const cell = this.legend.querySelector(".chart-value");
      if (!known.length) {
        cell.textContent = "–";
        return;
      }
      const [busiest, top] = known.reduce((a, b) => (b[1].avg > a[1].avg ? b : a));
      const mean = known.reduce((sum, [, v]) => sum + v.avg, 0) / known.length;
      cell.textContent = t("charts.cores.summary", {
        core: formatNumber(Number(busiest.slice("core".length))),
        value: this.format(top.avg, false),
        mean: this.format(mean, false),
      });
      return;
    }
    for (const row of this.legend.children) {
      const value = this.hover[row.dataset.series];
      const cell = row.querySelector(".chart-value");
      if (value == null) cell.textContent = "–";
      else if (value.max == null) cell.textContent = this.format(value.avg, false);
      else {
        cell.textContent = t("charts.value_with_max", {
          value: this.format(value.avg, false),
          max: this.format(value.max, false),
        });
      }
    }
  }

  // Draws the chart for `view` (chart-draw.js's, without the canvas size) at the device's
  // pixel ratio; keeps what was drawn.
  draw(view) {
    const ratio = window.devicePixelRatio || 1;
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    if (this.canvas.width !== Math.round(width * ratio))
      this.canvas.width = Math.round(width * ratio);
    if (this.canvas.height !== Math.round(height * ratio))
      this.canvas.height = Math.round(height * ratio);
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.domain = view.domain;
    this.last = drawChart(ctx, this.chart, {
      ...view,
      width,
      height,
      formatValue: this.format,
      rowLabel: (series) => label(series.label),
    });
    this.showValues(view.times, view.hoverTime, view.gapMs);
    return this.last;
  }
}
