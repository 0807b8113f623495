// The fleet table's rows (hud/fleet-rows.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { fleetRows, keptOrder } from "../../../hud/fleet-rows.js";

const HOSTS = [
  {
    host_id: "b",
    status: "online",
    layer: 3,
    cpu_load: 80,
    tags: { role: "web" },
    net_tx_bits_per_s: 5,
    net_rx_bits_per_s: 5,
  },
  { host_id: "a", status: "offline", layer: 7, cpu_load: null, tags: { role: "db" } },
  {
    host_id: "c",
    status: "online",
    layer: 3,
    cpu_load: 20,
    tags: { role: "web" },
    net_tx_bits_per_s: 100,
  },
  { host_id: "d", status: "stale", layer: 2, cpu_load: 80, tags: {} },
];

const ids = (options) => fleetRows(HOSTS, options).map((h) => h.host_id);

test("rows sort by any column, a host without a reading last either way", () => {
  assert.deepEqual(ids({}), ["a", "b", "c", "d"]);
  assert.deepEqual(ids({ sort: "cpu_load", descending: true }), ["b", "d", "c", "a"]);
  assert.deepEqual(ids({ sort: "cpu_load" }), ["c", "b", "d", "a"]);
  assert.deepEqual(ids({ sort: "net", descending: true }), ["c", "b", "a", "d"]);
  assert.deepEqual(ids({ sort: "status" }), ["a", "d", "b", "c"]);
  assert.deepEqual(ids({ sort: "host_id", descending: true }), ["d", "c", "b", "a"]);
});

test("filters by status, layer and text narrow together", () => {
  assert.deepEqual(ids({ status: "online" }), ["b", "c"]);
  assert.deepEqual(ids({ layer: 3, text: "role=web" }), ["b", "c"]);
  assert.deepEqual(ids({ status: "online", text: "c" }), ["c"]);
  assert.deepEqual(ids({ text: "nothing" }), []);
});

test("rows held under the pointer keep their order, take fresh figures, drop gone hosts, add new ones last", () => {
  const shown = fleetRows(HOSTS, { sort: "cpu_load", descending: true });
  assert.deepEqual(
    shown.map((h) => h.host_id),
    ["b", "d", "c", "a"],
  );
  const later = [
    { ...HOSTS[2], cpu_load: 99 }, // c is now the busiest
    HOSTS[0],
    HOSTS[3],
    { host_id: "e", status: "online", layer: 1, cpu_load: 50, tags: {} },
  ]; // a is gone
  const fresh = fleetRows(later, { sort: "cpu_load", descending: true });
  assert.deepEqual(
    fresh.map((h) => h.host_id),
    ["c", "b", "d", "e"],
  );
  const held = keptOrder(shown, fresh);
  assert.deepEqual(
    held.map((h) => h.host_id),
    ["b", "d", "c", "e"],
  );
  assert.equal(held[2].cpu_load, 99);
});
