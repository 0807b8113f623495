// The alert thresholds a host's charts draw (hud/history-thresholds.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { inScope, linkSpeeds, thresholdsByChart } from "../../../hud/history-thresholds.js";

const rule = (fields) => ({
  rule: {
    kind: "threshold",
    id: fields.id ?? fields.metric,
    name: fields.name ?? fields.metric,
    operator: ">=",
    threshold: 80,
    severity: "warning",
    scope: { host_ids: [], tags: {} },
    enabled: true,
    ...fields,
  },
});
const host = { host_id: "web-1", tags: { tier: "web" } };
const CHARTS = [
  "cpu",
  "memory",
  "load",
  "disks",
  "net:eth0",
  "net:eth1",
  "temperatures",
  "gpu:0",
  "gpu:1",
];

test("each metric's threshold goes on its chart", () => {
  const listed = {
    items: [
      rule({ metric: "cpu_load" }),
      rule({ metric: "memory_used_percent", threshold: 90 }),
      rule({ metric: "swap_used_percent", threshold: 50 }),
      rule({ metric: "load_average", threshold: 16 }),
      rule({ metric: "disk.used_percent", threshold: 95 }),
      rule({ metric: "temperature" }),
      rule({ metric: "gpu.temperature_celsius", threshold: 85 }),
      rule({ metric: "gpu.utilization_percent", threshold: 99 }),
    ],
  };
  const drawn = thresholdsByChart(listed, host, CHARTS);
  const values = Object.fromEntries(
    [...drawn].map(([chart, list]) => [chart, list.map((t) => t.value)]),
  );
  assert.deepEqual(values, {
    cpu: [80],
    memory: [90, 50],
    load: [16],
    disks: [95],
    temperatures: [80, 85],
    "gpu:0": [99],
    "gpu:1": [99],
  });
  assert.deepEqual(drawn.get("cpu")[0], {
    value: 80,
    operator: ">=",
    ruleId: "cpu_load",
    name: "cpu_load",
    severity: "warning",
  });
});

test("rules that do not watch this host, are off, or are not thresholds are not drawn", () => {
  const listed = [
    {
      kind: "threshold",
      id: "a",
      metric: "cpu_load",
      threshold: 50,
      scope: { host_ids: ["db-1"] },
    },
    {
      kind: "threshold",
      id: "b",
      metric: "cpu_load",
      threshold: 60,
      scope: { tags: { tier: "db" } },
    },
    { kind: "threshold", id: "c", metric: "cpu_load", threshold: 70, enabled: false },
    { kind: "offline", id: "d", after_intervals: 12 },
    { kind: "threshold", id: "e", metric: "no_such_metric", threshold: 1 },
    {
      kind: "threshold",
      id: "f",
      metric: "cpu_load",
      threshold: 90,
      scope: { tags: { tier: "web" } },
    },
  ];
  const drawn = thresholdsByChart(listed, host, CHARTS);
  assert.deepEqual(
    drawn.get("cpu").map((t) => t.ruleId),
    ["f"],
  );
  assert.equal(drawn.size, 1);
});

test("a chart the host does not have gets no threshold", () => {
  const drawn = thresholdsByChart([rule({ metric: "gpu.utilization_percent" })], host, ["cpu"]);
  assert.equal(drawn.size, 0);
  assert.equal(thresholdsByChart([rule({ metric: "cpu_load" })], null, ["cpu"]).size, 0);
});

test("link utilization becomes bits per second on an interface whose speed is known", () => {
  const listed = [rule({ metric: "interface.utilization", threshold: 90 })];
  const drawn = thresholdsByChart(listed, host, CHARTS, { eth0: 1000 });
  assert.deepEqual(
    drawn.get("net:eth0").map((t) => t.value),
    [9e8],
  );
  assert.equal(drawn.has("net:eth1"), false);
});

test("scope: host ids and every tag must match", () => {
  assert.ok(inScope({}, host));
  assert.ok(inScope({ host_ids: ["web-1"], tags: { tier: "web" } }, host));
  assert.ok(!inScope({ host_ids: ["web-2"] }, host));
  assert.ok(!inScope({ tags: { tier: "web", rack: "r1" } }, host));
});

test("link speeds come from the latest sample's interfaces", () => {
  const sample = {
    interfaces: [
      { name: "eth0", speed_mbps: 10000 },
      { name: "lo", speed_mbps: null },
      { name: "eth1", speed_mbps: 0 },
    ],
  };
  assert.deepEqual(linkSpeeds(sample), { eth0: 10000 });
  assert.deepEqual(linkSpeeds(null), {});
});
