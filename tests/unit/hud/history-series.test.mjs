// A host's history as charts (hud/history-series.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_INTERFACES, historyCharts } from "../../../hud/history-series.js";

const at = (minute) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

function raw(minute, extra = {}) {
  return {
    timestamp: at(minute),
    cpu_load: 10 + minute,
    memory_used_percent: 40,
    swap_used_percent: null,
    load_average: 0.5,
    net_rx_bytes_per_s: 1000,
    net_tx_bytes_per_s: 10,
    interfaces: { eth0: { rx_bytes_per_s: 1000, tx_bytes_per_s: 10 } },
    disks: { "/": 50, "/data": 70 },
    temperatures: { cpu: 55 },
    cpu_per_core: [5, 15],
    gpus: {},
    ...extra,
  };
}

test("raw points make a chart per figure the history has, none for what it lacks", () => {
  const { step, times, charts } = historyCharts({ step: "raw", points: [raw(0), raw(1)] });
  assert.equal(step, "raw");
  assert.deepEqual(times, [Date.parse(at(0)), Date.parse(at(1))]);
  assert.deepEqual(
    charts.map((c) => c.id),
    ["cpu", "cores", "memory", "load", "disks", "net:eth0", "temperatures"],
  );
  const byId = Object.fromEntries(charts.map((c) => [c.id, c]));
  assert.deepEqual(byId.cpu.series[0].avg, [10, 11]);
  assert.equal(byId.cpu.series[0].max, null);
  assert.deepEqual(
    byId.memory.series.map((s) => s.key),
    ["memory"],
    "swap has no value: no line",
  );
  assert.equal(byId.cores.kind, "heatmap");
  assert.deepEqual(
    byId.cores.series.map((s) => s.avg),
    [
      [5, 5],
      [15, 15],
    ],
  );
  assert.deepEqual(
    byId.disks.series.map((s) => s.label),
    ["/", "/data"],
  );
  assert.deepEqual(byId["net:eth0"].title, ["charts.title.net", { name: "eth0", index: "eth0" }]);
});

test("throughput is drawn in bits per second", () => {
  const { charts } = historyCharts({ step: "raw", points: [raw(0)] });
  const net = charts.find((c) => c.id === "net:eth0");
  assert.deepEqual(
    net.series.map((s) => [s.key, s.avg[0]]),
    [
      ["rx", 8000],
      ["tx", 80],
    ],
  );
});

test("rollups carry averages and maxima, per interface, sensor, core and GPU too", () => {
  const point = {
    timestamp: at(0),
    samples: 12,
    cpu_load: 20,
    cpu_load_max: 35,
    memory_used_percent: 50,
    memory_used_percent_max: 51,
    swap_used_percent: 1,
    swap_used_percent_max: 2,
    load_average: 1,
    load_average_max: 2,
    interfaces: {
      eth0: {
        rx_bytes_per_s: 100,
        rx_bytes_per_s_max: 200,
        tx_bytes_per_s: 1,
        tx_bytes_per_s_max: 3,
      },
    },
    disks: { "/": 41.5 },
    temperatures: { cpu: 55 },
    temperatures_max: { cpu: 60 },
    cpu_per_core: [10, null],
    cpu_per_core_max: [20, null],
    gpus: {
      0: {
        utilization_percent: 40,
        utilization_percent_max: 90,
        memory_used_percent: 10,
        memory_used_percent_max: 12,
        temperature_celsius: 61,
        temperature_celsius_max: 65,
      },
    },
  };
  const { charts } = historyCharts({ step: "1m", points: [point] });
  const byId = Object.fromEntries(charts.map((c) => [c.id, c]));
  assert.deepEqual(byId.cpu.series[0].max, [35]);
  assert.deepEqual(byId["net:eth0"].series[0].max, [1600]);
  assert.deepEqual(
    byId.memory.series.map((s) => [s.key, s.avg[0], s.max[0]]),
    [
      ["memory", 50, 51],
      ["swap", 1, 2],
    ],
  );
  assert.deepEqual(
    byId.cores.series.map((s) => s.key),
    ["core0"],
    "a core with no value: no row",
  );
  assert.deepEqual(
    byId["gpu:0"].series.map((s) => [s.key, s.avg[0], s.max[0]]),
    [
      ["utilization", 40, 90],
      ["memory", 10, 12],
    ],
  );
  assert.deepEqual(byId["gpu:0"].title, ["charts.title.gpu", { name: "0", index: "0" }]);
  const gpuHeat = byId.temperatures.series.find((s) => s.key === "gpu0");
  assert.deepEqual([gpuHeat.avg[0], gpuHeat.max[0]], [61, 65]);
  assert.deepEqual(gpuHeat.label, ["charts.line.gpu_temperature", { index: "0" }]);
});

test("only the busiest interfaces get a chart, busiest kept", () => {
  const interfaces = Object.fromEntries(
    Array.from({ length: 12 }, (_, n) => [
      `if${n}`,
      { rx_bytes_per_s: n * 100, tx_bytes_per_s: 0 },
    ]),
  );
  const { charts } = historyCharts({ step: "raw", points: [raw(0, { interfaces })] });
  const nets = charts.filter((c) => c.id.startsWith("net:")).map((c) => c.id);
  assert.equal(nets.length, MAX_INTERFACES);
  assert.ok(nets.includes("net:if11") && !nets.includes("net:if0"));
});

test("a long history is folded to the drawing limit over the requested span", () => {
  const points = Array.from({ length: 300 }, (_, n) => raw(n));
  const domain = [Date.parse(at(0)), Date.parse(at(300))];
  const { times, charts, bucketMs } = historyCharts(
    { step: "raw", points },
    { limit: 100, domain },
  );
  assert.equal(times.length, 100);
  assert.equal(bucketMs, 3 * 60_000);
  const cpu = charts.find((c) => c.id === "cpu").series[0];
  assert.equal(cpu.avg.length, 100);
  assert.deepEqual([cpu.avg[0], cpu.max[0]], [11, 12]);
});

test("an empty history has no charts", () => {
  assert.deepEqual(historyCharts({ step: "1h", points: [] }).charts, []);
  assert.deepEqual(historyCharts(null).charts, []);
});
