// Each message of the twin's socket to what it updates (hud/socket-dispatch.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { Fleet } from "../../../hud/fleet.js";
import { dispatch } from "../../../hud/socket-dispatch.js";

// A page's state, and a record of what dispatch asked of the rest of the page.
function page() {
  const calls = [];
  const hud = { fleet: new Fleet(), alerts: new Map(), framesSinceReconnect: 0 };
  const to = {
    resync: () => calls.push("resync"),
    resynced: () => calls.push("resynced"),
    alertsChanged: () => calls.push("alertsChanged"),
    commandEvent: (message) => calls.push(message.type),
  };
  return { hud, to, calls };
}

const frame = (seq) => ({
  type: "frame",
  twin_id: "t",
  seq,
  hosts: [{ host_id: "a", status: "online" }],
  links: [],
});

test("a frame replaces the fleet, counts toward the reconnection and recounts the alerts", () => {
  const { hud, to, calls } = page();
  dispatch(hud, frame(3), to);
  assert.deepEqual([hud.fleet.seq, hud.fleet.hosts.size, hud.framesSinceReconnect], [3, 1, 1]);
  assert.deepEqual(calls, ["alertsChanged"]);
});

test("a diff that does not follow the seq held asks for a full frame", () => {
  const { hud, to, calls } = page();
  dispatch(hud, frame(3), to);
  const diff = { type: "diff", twin_id: "t", hosts: [], removed_hosts: [], links: [] };
  dispatch(hud, { ...diff, removed_links: [], seq: 4, base_seq: 3 }, to);
  dispatch(hud, { ...diff, removed_links: [], seq: 9, base_seq: 8 }, to);
  assert.equal(hud.fleet.seq, 4);
  assert.deepEqual(calls, ["alertsChanged", "resync"]);
});

test("alert events update the alerts; command events go to the console; others are ignored", () => {
  const { hud, to, calls } = page();
  const firing = { alert_id: "x", host_id: "a", state: "firing" };
  dispatch(hud, { type: "alert", event: firing }, to);
  assert.deepEqual(hud.alerts.get("x"), firing);
  for (const type of ["command_status", "command_output", "command_result", "weather"]) {
    dispatch(hud, { type }, to);
  }
  assert.deepEqual(calls, ["alertsChanged", "command_status", "command_output", "command_result"]);
});

test("every frame after the first follows a gap: what its events told is read again", () => {
  const { hud, to, calls } = page();
  dispatch(hud, frame(3), to);
  dispatch(hud, frame(9), to);
  dispatch(hud, frame(12), to);
  assert.deepEqual(calls, [
    "alertsChanged",
    "alertsChanged",
    "resynced",
    "alertsChanged",
    "resynced",
  ]);
});
