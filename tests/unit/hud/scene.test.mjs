// The fleet laid out for drawing, and how links are styled (hud/scene.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { Fleet } from "../../../hud/fleet.js";
import { project } from "../../../hud/projection.js";
import {
  BROKEN,
  Scene,
  linkStyle,
  needsAttention,
  pulseSpeed,
  styleColour,
  styleWidth,
  utilizationLevel,
} from "../../../hud/scene.js";

test("a link's style carries its utilization level and width, or BROKEN when an end is down", () => {
  assert.deepEqual([null, 0.2, 0.5, 0.8, 1.5].map(utilizationLevel), [0, 1, 2, 3, 3]);
  const quiet = linkStyle({ utilization: 0.1 }, true, true);
  const busy = linkStyle({ utilization: 0.95 }, true, true);
  assert.deepEqual([styleColour(quiet), styleWidth(quiet)], ["#22c55e", 1]);
  assert.deepEqual([styleColour(busy), styleWidth(busy)], ["#ef4444", 4]);
  assert.equal(linkStyle({ utilization: 0.1 }, true, false), BROKEN);
  assert.deepEqual(
    [needsAttention(BROKEN), needsAttention(busy), needsAttention(quiet)],
    [true, true, false],
  );
});

test("pulses speed up with throughput on a log scale, within bounds", () => {
  assert.equal(pulseSpeed(0), 0);
  assert.equal(pulseSpeed(null), 0);
  assert.equal(pulseSpeed(10), 0.125);
  assert.ok(pulseSpeed(1e6) < pulseSpeed(1e9));
  assert.equal(pulseSpeed(1e30), 2);
});

test("the scene holds each host's projected place and status, and links between known ends", () => {
  const fleet = new Fleet();
  fleet.applyFrame({
    twin_id: "t",
    seq: 1,
    hosts: [
      { host_id: "a", status: "online", layer: 2, position: { x: 3, z: -4 }, active_alerts: 999 },
      { host_id: "b", status: "mystery" },
    ],
    links: [
      { id: "a->hub", source: "a", target: "hub", utilization: 0.6 },
      { id: "b->a", source: "b", target: "a", utilization: 0.1 },
      { id: "a->nowhere", source: "a", target: "nowhere" },
    ],
  });
  const scene = new Scene(fleet);
  const a = scene.index.get("a");
  const b = scene.index.get("b");
  assert.deepEqual([scene.px[a], scene.py[a]], Object.values(project(3, -4, 2)));
  assert.equal(scene.status[b], 2); // unknown statuses draw as offline
  assert.equal(scene.layer[b], 7); // no layer yet: the top one
  assert.equal(scene.alerts[a], 255);
  assert.deepEqual(
    scene.links.map((link) => link.id),
    ["b->a", "a->hub"], // broken first: links are drawn sorted by style
  );
  assert.equal(scene.linkStyle[0], BROKEN);
  assert.equal(scene.linkSpeed[0], 0);
  assert.equal(scene.linkB[1], -1); // the virtual hub
});
