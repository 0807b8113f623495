// Draws one chart of a host's history on a canvas: value and time axes, each series' average
// as a line and its maximum as a lighter band above it (a heat map with a row per core for
// per-core CPU), the alert thresholds as dashed lines, the span being dragged and the hovered
// time. Returns what it drew, counted as it drew it.

import { linear, nearestIndex, niceTicks, timeTicks } from "./chart-math.js";

export const PALETTE = [
  "#22d3ee", "#a78bfa", "#34d399", "#fbbf24", "#f472b6", "#60a5fa", "#f87171", "#a3e635",
  "#fb923c", "#2dd4bf", "#c084fc", "#facc15", "#38bdf8", "#4ade80", "#e879f9", "#94a3b8",
]; // prettier-ignore
const SEVERITY_COLOURS = { critical: "#f87171", warning: "#fbbf24", info: "#94a3b8" };
const MARGIN = { left: 56, right: 10, top: 8, bottom: 20 };
const AXIS = "#475569";
const GRID = "rgba(71, 85, 105, 0.35)";
const LABEL = "#94a3b8";
// A threshold far above the data would squash it flat: the axis grows to one at most this many
// times the data's top.
const THRESHOLD_REACH = 2;

// Where the plot lies on a canvas of `width` x `height` CSS pixels.
export function plotArea(width, height) {
  return {
    left: MARGIN.left,
    top: MARGIN.top,
    width: Math.max(1, width - MARGIN.left - MARGIN.right),
    height: Math.max(1, height - MARGIN.top - MARGIN.bottom),
  };
}

// The value axis: the chart's fixed one, else from zero (or below, for cold sensors) to the
// data's top and the thresholds within reach of it.
function valueDomain(chart, thresholds) {
  if (chart.fixed) return niceTicks(chart.fixed[0], chart.fixed[1], 4);
  let lo = 0;
  let hi = -Infinity;
  for (const s of chart.series) {
    for (const v of s.avg) if (v != null) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    for (const v of s.max ?? []) if (v != null) hi = Math.max(hi, v);
  }
  if (hi === -Infinity) hi = 1;
  const top = hi;
  for (const t of thresholds) {
    if (t.value <= top * THRESHOLD_REACH || top <= 0) hi = Math.max(hi, t.value);
  }
  return niceTicks(lo, hi, 4);
}

// A colour for a percentage in the heat map: dark blue at 0 through cyan and amber to red.
function heat(value) {
  const v = Math.min(100, Math.max(0, value)) / 100;
  const stops = [
    [0, [15, 23, 42]],
    [0.35, [34, 211, 238]],
    [0.7, [251, 191, 36]],
    [1, [239, 68, 68]],
  ];
  let k = 1;
  while (k < stops.length - 1 && v > stops[k][0]) k += 1;
  const [p0, c0] = stops[k - 1];
  const [p1, c1] = stops[k];
  const f = (v - p0) / (p1 - p0 || 1);
  const rgb = c0.map((c, n) => Math.round(c + (c1[n] - c) * f));
  return `rgb(${rgb.join(",")})`;
}

function drawAxes(ctx, plot, ticks, x, y, view) {
  ctx.font = "10px system-ui, sans-serif";
  ctx.fillStyle = LABEL;
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const tick of ticks.ticks) {
    const py = Math.round(y(tick)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(plot.left, py);
    ctx.lineTo(plot.left + plot.width, py);
    ctx.stroke();
    ctx.fillText(view.formatValue(tick, true), plot.left - 4, py);
  }
  const time = timeTicks(view.domain[0], view.domain[1], Math.max(2, Math.floor(plot.width / 90)));
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const tick of time.ticks) {
    const px = Math.round(x(tick)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(px, plot.top);
    ctx.lineTo(px, plot.top + plot.height);
    ctx.stroke();
    ctx.fillText(view.formatTime(tick, time.step), px, plot.top + plot.height + 4);
  }
  ctx.strokeStyle = AXIS;
  ctx.strokeRect(plot.left + 0.5, plot.top + 0.5, plot.width, plot.height);
}

// Runs of consecutive indices where `present(i)` holds and no gap wider than gapMs lies between.
function runs(times, present, gapMs) {
  const out = [];
  let run = [];
  for (let i = 0; i < times.length; i += 1) {
    if (!present(i)) {
      if (run.length) out.push(run);
      run = [];
      continue;
    }
    if (run.length && times[i] - times[run.at(-1)] > gapMs) {
      out.push(run);
      run = [];
    }
    run.push(i);
  }
  if (run.length) out.push(run);
  return out;
}

function drawLines(ctx, chart, view, x, y) {
  const drawn = {};
  chart.series.forEach((s, n) => {
    const colour = PALETTE[n % PALETTE.length];
    if (s.max) {
      ctx.fillStyle = `${colour}33`;
      for (const run of runs(view.times, (i) => s.avg[i] != null && s.max[i] != null, view.gapMs)) {
        ctx.beginPath();
        run.forEach((i, k) =>
          (k ? ctx.lineTo : ctx.moveTo).call(ctx, x(view.times[i]), y(s.max[i])),
        );
        for (const i of [...run].reverse()) ctx.lineTo(x(view.times[i]), y(s.avg[i]));
        ctx.closePath();
        ctx.fill();
      }
    }
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 1.5;
    let count = 0;
    for (const run of runs(view.times, (i) => s.avg[i] != null, view.gapMs)) {
      if (run.length === 1) {
        const i = run[0];
        ctx.fillRect(x(view.times[i]) - 1.5, y(s.avg[i]) - 1.5, 3, 3);
      } else {
        ctx.beginPath();
        run.forEach((i, k) =>
          (k ? ctx.lineTo : ctx.moveTo).call(ctx, x(view.times[i]), y(s.avg[i])),
        );
        ctx.stroke();
      }
      count += run.length;
    }
    drawn[s.key] = count;
  });
  return drawn;
}

// Each point's cell in time: up to halfway to its neighbours (a history written at another
// interval than the host's now still fills its span), or half a cell where a gap is.
function cellBounds(times, cellMs, gapMs) {
  return times.map((time, i) => {
    const before = i > 0 ? time - times[i - 1] : Infinity;
    const after = i < times.length - 1 ? times[i + 1] - time : Infinity;
    return [
      time - (before <= gapMs ? before / 2 : cellMs / 2),
      time + (after <= gapMs ? after / 2 : cellMs / 2),
    ];
  });
}

function drawHeatmap(ctx, chart, view, x, plot) {
  const drawn = {};
  const rows = chart.series.length || 1;
  const rowHeight = plot.height / rows;
  const bounds = cellBounds(view.times, view.cellMs, view.gapMs);
  chart.series.forEach((s, row) => {
    let count = 0;
    const top = plot.top + row * rowHeight;
    for (let i = 0; i < view.times.length; i += 1) {
      const value = s.avg[i];
      if (value == null) continue;
      const left = Math.max(plot.left, x(bounds[i][0]));
      const right = Math.min(plot.left + plot.width, x(bounds[i][1]));
      if (right <= left) continue;
      ctx.fillStyle = heat(value);
      ctx.fillRect(left, top, Math.max(1, right - left), Math.max(1, rowHeight));
      count += 1;
    }
    drawn[s.key] = count;
  });
  return drawn;
}

// The heat map's first and last rows named in the left margin (their series' short labels).
function labelRows(ctx, chart, plot, view) {
  const rows = chart.series.length;
  if (!rows) return;
  ctx.font = "10px system-ui, sans-serif";
  ctx.fillStyle = LABEL;
  ctx.textAlign = "right";
  const ends = rows > 1 ? [0, rows - 1] : [0];
  for (const row of ends) {
    ctx.textBaseline = row === 0 ? "top" : "bottom";
    const y = row === 0 ? plot.top : plot.top + plot.height;
    ctx.fillText(view.rowLabel(chart.series[row]), plot.left - 4, y);
  }
}

function drawThresholds(ctx, thresholds, ticks, view, y, plot) {
  let count = 0;
  ctx.save();
  ctx.setLineDash([6, 4]);
  ctx.lineWidth = 1.5;
  ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "bottom";
  for (const t of thresholds) {
    if (t.value < ticks.lo || t.value > ticks.hi) continue;
    const py = Math.round(y(t.value)) + 0.5;
    const colour = SEVERITY_COLOURS[t.severity] ?? SEVERITY_COLOURS.warning;
    ctx.strokeStyle = colour;
    ctx.beginPath();
    ctx.moveTo(plot.left, py);
    ctx.lineTo(plot.left + plot.width, py);
    ctx.stroke();
    ctx.fillStyle = colour;
    ctx.fillText(
      `${t.operator} ${view.formatValue(t.value, false)}`,
      plot.left + plot.width - 4,
      py - 2,
    );
    count += 1;
  }
  ctx.restore();
  return count;
}

function drawCursor(ctx, chart, view, x, y, plot) {
  if (view.selection) {
    const a = x(Math.max(view.selection.since, view.domain[0]));
    const b = x(Math.min(view.selection.until, view.domain[1]));
    ctx.fillStyle = "rgba(159, 232, 255, 0.15)";
    ctx.fillRect(Math.min(a, b), plot.top, Math.abs(b - a), plot.height);
  }
  if (view.hoverTime == null) return;
  const px = Math.round(x(view.hoverTime)) + 0.5;
  if (px < plot.left || px > plot.left + plot.width) return;
  ctx.strokeStyle = "#e2e8f0";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(px, plot.top);
  ctx.lineTo(px, plot.top + plot.height);
  ctx.stroke();
  if (chart.kind === "heatmap") return;
  const i = nearestIndex(view.times, view.hoverTime, view.gapMs);
  if (i < 0) return;
  chart.series.forEach((s, n) => {
    if (s.avg[i] == null) return;
    ctx.fillStyle = PALETTE[n % PALETTE.length];
    ctx.beginPath();
    ctx.arc(x(view.times[i]), y(s.avg[i]), 3, 0, 2 * Math.PI);
    ctx.fill();
  });
}

// Draws `chart` ({kind, series, fixed}) on `ctx` (already scaled to CSS pixels). `view`:
// {width, height, times, domain: [t0, t1], gapMs, cellMs, thresholds, hoverTime, selection,
// formatValue(v, short), formatTime(ms, tickStep), rowLabel(series) for a heat map's rows}. Returns {drawn: {series key: points},
// thresholds: how many dashed lines, plot, valueDomain: [lo, hi]}.
export function drawChart(ctx, chart, view) {
  const plot = plotArea(view.width, view.height);
  ctx.clearRect(0, 0, view.width, view.height);
  const ticks = valueDomain(chart, view.thresholds);
  const x = linear(view.domain, [plot.left, plot.left + plot.width]);
  const y = linear([ticks.lo, ticks.hi], [plot.top + plot.height, plot.top]);
  drawAxes(ctx, plot, chart.kind === "heatmap" ? { ticks: [] } : ticks, x, y, view);
  if (chart.kind === "heatmap" && view.rowLabel) labelRows(ctx, chart, plot, view);
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.left, plot.top, plot.width, plot.height);
  ctx.clip();
  const drawn =
    chart.kind === "heatmap"
      ? drawHeatmap(ctx, chart, view, x, plot)
      : drawLines(ctx, chart, view, x, y);
  const thresholds =
    chart.kind === "heatmap" ? 0 : drawThresholds(ctx, view.thresholds, ticks, view, y, plot);
  drawCursor(ctx, chart, view, x, y, plot);
  ctx.restore();
  return { drawn, thresholds, plot, valueDomain: [ticks.lo, ticks.hi] };
}
