// A host's history (GET /api/metrics/history) as charts: which charts it has data for, and
// each chart's series over one shared time axis (ms). A rollup's averages are a series' `avg`
// and its maxima its `max`; raw points have no `max` until they are folded into buckets.
// Throughput becomes bits per second. Labels are [i18n key, params] or plain names (a mount,
// a sensor). Pure.

import { bytesToBits } from "./chart-math.js";
import { MAX_DRAWN, foldPoints } from "./history-step.js";

// Bounds on what one history can make: the busiest interfaces get a chart each, and a chart
// keeps its first series (cores: the heat map has a row per core).
export const MAX_INTERFACES = 8;
export const MAX_SERIES = 16;
export const MAX_CORES = 512;

// The charts in the order they are shown; `fixed` is a value axis that does not follow the data.
const CHARTS = [
  { id: "cpu", title: ["charts.title.cpu"], unit: "percent", fixed: [0, 100] },
  { id: "cores", kind: "heatmap", title: ["charts.title.cores"], unit: "percent", fixed: [0, 100] },
  { id: "memory", title: ["charts.title.memory"], unit: "percent", fixed: [0, 100] },
  { id: "load", title: ["charts.title.load"], unit: "load" },
  { id: "disks", title: ["charts.title.disks"], unit: "percent", fixed: [0, 100] },
  { id: "net", title: ["charts.title.net"], unit: "bits" }, // one per interface: net:eth0
  { id: "temperatures", title: ["charts.title.temperatures"], unit: "celsius" },
  { id: "gpu", title: ["charts.title.gpu"], unit: "percent", fixed: [0, 100] }, // gpu:0
];

const rolled = (point) => point.samples !== undefined;

// Interfaces by how much they carried over the history, busiest first, at most MAX_INTERFACES.
function busiestInterfaces(points) {
  const traffic = new Map();
  for (const point of points) {
    for (const [name, iface] of Object.entries(point.interfaces ?? {})) {
      const bytes = (iface.rx_bytes_per_s ?? 0) + (iface.tx_bytes_per_s ?? 0);
      traffic.set(name, (traffic.get(name) ?? 0) + bytes);
    }
  }
  return [...traffic.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, MAX_INTERFACES)
    .map(([name]) => name);
}

// Series keyed "chart|series", filled point by point.
class Collector {
  constructor(length, withMax) {
    this.length = length;
    this.withMax = withMax;
    this.series = new Map();
  }

  put(chart, key, label, index, avg, max, limit = MAX_SERIES) {
    if (avg == null && max == null) return;
    const id = `${chart}|${key}`;
    let series = this.series.get(id);
    if (!series) {
      if ([...this.series.values()].filter((s) => s.chart === chart).length >= limit) return;
      series = {
        chart,
        key,
        label,
        avg: new Array(this.length).fill(null),
        max: this.withMax ? new Array(this.length).fill(null) : null,
      };
      this.series.set(id, series);
    }
    series.avg[index] = avg ?? null;
    if (series.max) series.max[index] = max ?? null;
  }
}

function collect(points) {
  const rollup = points.length > 0 && rolled(points[0]);
  const into = new Collector(points.length, rollup);
  const interfaces = busiestInterfaces(points);
  points.forEach((p, i) => {
    into.put("cpu", "cpu", ["charts.line.cpu"], i, p.cpu_load, p.cpu_load_max);
    (p.cpu_per_core ?? []).forEach((value, core) =>
      into.put(
        "cores",
        `core${core}`,
        ["charts.line.core", { core }],
        i,
        value,
        p.cpu_per_core_max?.[core],
        MAX_CORES,
      ),
    );
    into.put(
      "memory",
      "memory",
      ["charts.line.memory"],
      i,
      p.memory_used_percent,
      p.memory_used_percent_max,
    );
    into.put(
      "memory",
      "swap",
      ["charts.line.swap"],
      i,
      p.swap_used_percent,
      p.swap_used_percent_max,
    );
    into.put("load", "load", ["charts.line.load"], i, p.load_average, p.load_average_max);
    for (const [mount, used] of Object.entries(p.disks ?? {})) {
      into.put("disks", mount, mount, i, used, null);
    }
    for (const name of interfaces) {
      const iface = p.interfaces?.[name];
      if (!iface) continue;
      const chart = `net:${name}`;
      const rx = bytesToBits(iface.rx_bytes_per_s);
      const tx = bytesToBits(iface.tx_bytes_per_s);
      into.put(chart, "rx", ["charts.line.rx"], i, rx, bytesToBits(iface.rx_bytes_per_s_max));
      into.put(chart, "tx", ["charts.line.tx"], i, tx, bytesToBits(iface.tx_bytes_per_s_max));
    }
    for (const [sensor, celsius] of Object.entries(p.temperatures ?? {})) {
      into.put("temperatures", sensor, sensor, i, celsius, p.temperatures_max?.[sensor]);
    }
    for (const [index, gpu] of Object.entries(p.gpus ?? {})) {
      const chart = `gpu:${index}`;
      into.put(
        chart,
        "utilization",
        ["charts.line.utilization"],
        i,
        gpu.utilization_percent,
        gpu.utilization_percent_max,
      );
      into.put(
        chart,
        "memory",
        ["charts.line.gpu_memory"],
        i,
        gpu.memory_used_percent,
        gpu.memory_used_percent_max,
      );
      into.put(
        "temperatures",
        `gpu${index}`,
        ["charts.line.gpu_temperature", { index }],
        i,
        gpu.temperature_celsius,
        gpu.temperature_celsius_max,
      );
    }
  });
  return [...into.series.values()];
}

const numeric = (a, b) => {
  const [x, y] = [Number(a.split(":")[1]), Number(b.split(":")[1])];
  return Number.isNaN(x) || Number.isNaN(y) ? a.localeCompare(b) : x - y;
};

// The charts of `history` ({step, points}): [{id, kind, title, unit, fixed, series}] in display
// order, with the shared `times`, folded to at most `limit` points over `domain` ([t0, t1] ms).
export function historyCharts(history, { limit = MAX_DRAWN, domain } = {}) {
  const points = history?.points ?? [];
  const rawTimes = points.map((p) => Date.parse(p.timestamp));
  const collected = collect(points);
  const span = domain ?? [rawTimes[0], rawTimes.at(-1)];
  const { times, series, bucketMs } = foldPoints(rawTimes, collected, limit, span);
  const byChart = new Map();
  for (const s of series) {
    if (!byChart.has(s.chart)) byChart.set(s.chart, []);
    byChart.get(s.chart).push(s);
  }
  const charts = [];
  for (const shape of CHARTS) {
    const ids = [...byChart.keys()].filter(
      (id) => id === shape.id || id.startsWith(`${shape.id}:`),
    );
    for (const id of ids.sort(numeric)) {
      const name = id.includes(":") ? id.slice(id.indexOf(":") + 1) : null;
      const title = name == null ? shape.title : [shape.title[0], { name, index: name }];
      charts.push({
        id,
        kind: shape.kind ?? "lines",
        title,
        unit: shape.unit,
        fixed: shape.fixed ?? null,
        series: byChart.get(id),
      });
    }
  }
  return { step: history?.step ?? null, times, bucketMs, charts };
}
