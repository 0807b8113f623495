// The fleet as the twin last told it (hud/fleet.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { Fleet, kindOf } from "../../../hud/fleet.js";

const EMPTY_DIFF = { type: "diff", twin_id: "t", removed_hosts: [], links: [], removed_links: [] };

function fleetAt(seq, hosts, links = []) {
  const fleet = new Fleet();
  fleet.applyFrame({ twin_id: "t", seq, hosts, links });
  return fleet;
}

test("a diff applies only on top of the seq and twin held", () => {
  const fleet = fleetAt(4, [{ host_id: "a", status: "online", cpu_load: 5 }]);
  const late = { ...EMPTY_DIFF, seq: 7, base_seq: 6, hosts: [{ host_id: "a", cpu_load: 50 }] };
  assert.equal(fleet.applyDiff(late), false);
  assert.equal(
    fleet.applyDiff({ ...EMPTY_DIFF, twin_id: "u", seq: 5, base_seq: 4, hosts: [] }),
    false,
  );
  assert.equal(fleet.hosts.get("a").cpu_load, 5);
  assert.equal(fleet.seq, 4);
});

test("a diff merges host and link patches and removes what it names", () => {
  const fleet = fleetAt(
    1,
    [
      { host_id: "a", status: "online", cpu_load: 5 },
      { host_id: "gone", status: "offline" },
    ],
    [{ id: "a->hub", source: "a", target: "hub", utilization: 0.1 }],
  );
  const version = fleet.version;
  const applied = fleet.applyDiff({
    ...EMPTY_DIFF,
    seq: 2,
    base_seq: 1,
    hosts: [
      { host_id: "a", cpu_load: 60 },
      { host_id: "b", status: "stale" },
    ],
    removed_hosts: ["gone"],
    links: [{ id: "a->hub", utilization: 0.9 }],
  });
  assert.equal(applied, true);
  assert.deepEqual(fleet.hosts.get("a"), { host_id: "a", status: "online", cpu_load: 60 });
  assert.deepEqual([...fleet.hosts.keys()], ["a", "b"]);
  assert.equal(fleet.links.get("a->hub").source, "a");
  assert.equal(fleet.links.get("a->hub").utilization, 0.9);
  assert.deepEqual([fleet.seq, fleet.diffsApplied, fleet.version], [2, 1, version + 1]);
});

test("an alert count changes the fleet's version only when it changes", () => {
  const fleet = fleetAt(1, [{ host_id: "a", status: "online", active_alerts: 0 }]);
  const version = fleet.version;
  fleet.setAlertCount("a", 0);
  fleet.setAlertCount("nobody", 3);
  assert.equal(fleet.version, version);
  fleet.setAlertCount("a", 2);
  assert.equal(fleet.hosts.get("a").active_alerts, 2);
  assert.equal(fleet.version, version + 1);
});

test("the fleet's means count online hosts with a reading only", () => {
  const fleet = fleetAt(1, [
    { host_id: "a", status: "online", cpu_load: 10, memory_used_percent: 40 },
    { host_id: "b", status: "online", cpu_load: 30 },
    { host_id: "c", status: "offline", cpu_load: 100, memory_used_percent: 100 },
  ]);
  assert.deepEqual(fleet.averages(), { cpu: 20, memory: 40 });
  assert.deepEqual(new Fleet().averages(), { cpu: null, memory: null });
});

test("a host's kind is its kind tag when it names one, else its layer's", () => {
  assert.equal(kindOf({ layer: 7, tags: { kind: "Gateway" } }), "gateway");
  assert.equal(kindOf({ layer: 1, tags: { kind: "toaster" } }), "sensor");
  assert.equal(kindOf({ layer: 2, tags: {} }), "switch");
  assert.equal(kindOf({ layer: 4 }), "gateway");
  assert.equal(kindOf({ layer: 7, tags: { role: "client" } }), "client");
  assert.equal(kindOf({ layer: 7, tags: {} }), "server");
});
