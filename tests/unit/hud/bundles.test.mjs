// Links bundled by uplink (hud/bundles.js), as the scene builds them.

import assert from "node:assert/strict";
import { test } from "node:test";

import { BUNDLE_MIN, trunkWidth } from "../../../hud/bundles.js";
import { Fleet } from "../../../hud/fleet.js";
import { Scene } from "../../../hud/scene.js";

function sceneOf(hosts, links) {
  const fleet = new Fleet();
  fleet.applyFrame({ twin_id: "t", seq: 1, hosts, links });
  return new Scene(fleet);
}

const host = (id, layer, x, status = "online") => ({
  host_id: id,
  status,
  layer,
  position: { x, y: 0, z: 0 },
});
const link = (source, target, utilization, throughput = 1e6) => ({
  id: `${source}->${target}`,
  source,
  target,
  utilization,
  throughput_bits_per_s: throughput,
  capacity_bits_per_s: 1e9,
});

test("links from one layer's hosts to one uplink share a trunk; fewer stay links", () => {
  const racked = ["a", "b", "c", "d"].map((id, i) => host(id, 7, i * 4));
  const scene = sceneOf(
    [...racked, host("tor", 1, 0), host("e", 7, 20), host("f", 7, 24)],
    [
      ...racked.map((h, i) => link(h.host_id, "tor", 0.1 * (i + 1))),
      link("e", "hub", 0.1),
      link("f", "hub", 0.1),
    ],
  );
  assert.equal(scene.bundleCount, 1);
  assert.equal(scene.bundleSize[0], 4);
  assert.ok(4 >= BUNDLE_MIN && 2 < BUNDLE_MIN);
  assert.equal(scene.bundleTarget[0], scene.index.get("tor"));
  const bundled = scene.links.filter((_, j) => scene.linkBundle[j] === 0).map((l) => l.source);
  assert.deepEqual(bundled.sort(), ["a", "b", "c", "d"]);
  assert.ok(
    scene.links.filter((_, j) => scene.linkBundle[j] === -1).every((l) => l.target === "hub"),
  );
  // The junction lies between the hosts' centre and the switch, nearer the hosts.
  const centreX = (scene.px[0] + scene.px[1] + scene.px[2] + scene.px[3]) / 4;
  const tor = scene.index.get("tor");
  const junctionX = scene.bundleX[0];
  assert.ok(Math.abs(junctionX - centreX) < Math.abs(scene.px[tor] - centreX) / 2);
  // What hovering the trunk shows: the sum of the traffic, the busiest member's utilization.
  assert.deepEqual(
    { ...scene.bundleLink[0], id: undefined },
    {
      id: undefined,
      source: "4 hosts",
      target: "tor",
      interface: null,
      throughput_bits_per_s: 4e6,
      capacity_bits_per_s: 4e9,
      utilization: 0.4,
      members: 4,
    },
  );
  assert.equal(scene.bundleLevel[0], 1); // under 50 %: green
});

test("the same uplink from two layers makes two bundles, and a bundle of down hosts is broken", () => {
  const upper = ["a", "b", "c"].map((id, i) => host(id, 7, i, "offline"));
  const lower = ["d", "e", "f"].map((id, i) => host(id, 5, i));
  const scene = sceneOf(
    [...upper, ...lower, host("tor", 1, 0)],
    [...upper, ...lower].map((h) => link(h.host_id, "tor", 0.9)),
  );
  assert.equal(scene.bundleCount, 2);
  const broken = [...scene.bundleBroken];
  const level = [...scene.bundleLevel];
  assert.deepEqual(broken.sort(), [0, 1]);
  const up = scene.bundleBroken[0] === 0 ? 0 : 1;
  assert.equal(level[up], 3); // 90 %: red
  assert.equal(scene.bundleSpeed[1 - up], 0); // no pulses on a broken trunk
});

test("a trunk widens with the log of its members, within bounds", () => {
  assert.equal(trunkWidth(4), 3);
  assert.ok(trunkWidth(64) > trunkWidth(8));
  assert.equal(trunkWidth(1e6), 7);
});
