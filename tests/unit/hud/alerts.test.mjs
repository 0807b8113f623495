// The alerts the page holds (hud/alerts.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  MAX_ALERTS,
  applyAlertEvent,
  countAlertsOnHosts,
  openAlerts,
  loadActiveAlerts,
} from "../../../hud/alerts.js";
import { Fleet } from "../../../hud/fleet.js";

test("an alert event is merged into the alert held; a resolved one leaves", () => {
  const alerts = new Map([["x", { alert_id: "x", host_id: "a", state: "firing", message: "hot" }]]);
  applyAlertEvent(alerts, { alert_id: "x", state: "acknowledged", acknowledged_by: "ana" });
  assert.deepEqual(alerts.get("x"), {
    alert_id: "x",
    host_id: "a",
    state: "acknowledged",
    message: "hot",
    acknowledged_by: "ana",
  });
  applyAlertEvent(alerts, { alert_id: "x", state: "resolved" });
  assert.equal(alerts.size, 0);
});

test("past MAX_ALERTS the oldest alert held goes", () => {
  const alerts = new Map();
  for (let i = 0; i <= MAX_ALERTS; i += 1) {
    applyAlertEvent(alerts, { alert_id: `a${i}`, host_id: "h", state: "firing" });
  }
  assert.equal(alerts.size, MAX_ALERTS);
  assert.equal(alerts.has("a0"), false);
  assert.equal(alerts.has(`a${MAX_ALERTS}`), true);
});

test("each host's badge counts its alerts that are not resolved, zero for the others", () => {
  const fleet = new Fleet();
  fleet.applyFrame({
    twin_id: "t",
    seq: 1,
    hosts: ["a", "b", "c"].map((host_id) => ({ host_id, active_alerts: 7 })),
    links: [],
  });
  const alerts = new Map(
    [
      { alert_id: "1", host_id: "a", state: "firing" },
      { alert_id: "2", host_id: "a", state: "acknowledged" },
      { alert_id: "3", host_id: "b", state: "resolved" },
      { alert_id: "4", host_id: "elsewhere", state: "firing" },
    ].map((alert) => [alert.alert_id, alert]),
  );
  countAlertsOnHosts(alerts, fleet);
  const counts = [...fleet.hosts.values()].map((host) => host.active_alerts);
  assert.deepEqual(counts, [2, 0, 0]);
  assert.equal(openAlerts(alerts).length, 3);
});

test("a reload after a gap replaces what is held, and keeps the events that came meanwhile", async () => {
  // Held before the gap: an alert that resolved while the socket was away.
  const alerts = new Map([["gone", { alert_id: "gone", host_id: "a", state: "firing" }]]);
  let answer;
  const realFetch = globalThis.fetch;
  globalThis.fetch = () => new Promise((resolve) => (answer = resolve));
  try {
    let changes = 0;
    const reloading = loadActiveAlerts(alerts, () => (changes += 1));
    // While the alerts service answers: one alert fires, another (in its answer) resolves.
    applyAlertEvent(alerts, { alert_id: "new", host_id: "b", state: "firing" });
    applyAlertEvent(alerts, { alert_id: "fixed", state: "resolved" });
    const active = [
      { alert_id: "fixed", host_id: "c", state: "firing" },
      { alert_id: "fired-in-the-gap", host_id: "d", state: "firing" },
    ];
    answer(new Response(JSON.stringify({ items: active }), { status: 200 }));
    await reloading;
    assert.deepEqual([...alerts.keys()].sort(), ["fired-in-the-gap", "new"]);
    assert.equal(changes, 1);
    // Past the reload, events are applied as ever and not kept for another.
    applyAlertEvent(alerts, { alert_id: "new", state: "resolved" });
    assert.deepEqual([...alerts.keys()], ["fired-in-the-gap"]);
  } finally {
    globalThis.fetch = realFetch;
  }
});
