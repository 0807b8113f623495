// Links bundled by uplink: the links from one layer's hosts up to the same node meet at a
// junction among those hosts and go on to it as one trunk, so the stage draws the topology
// (a rack's hosts, then one line to the rack's switch) rather than a line per host.

import { t } from "./i18n.js";
import { BROKEN, pulseSpeed, utilizationLevel } from "./link-style.js";

export const BUNDLE_MIN = 3; // fewer links to one node from one layer stay links of their own
const PULL = 0.12; // how far from the hosts' centre towards the target the junction sits

// Bundle `scene`'s links (its linkA, linkB, linkStyle, links, endpoint positions by
// endX(end) / endY(end) in projected units, and layerOf(end)). Sets on the scene:
// linkBundle[j] (the bundle of link j, or -1), and per bundle k: bundleTarget[k] (an end
// index), bundleX/Y[k] (its junction, projected), bundleCount[k], bundleLevel[k] (the busiest
// member's utilization level, for the trunk's colour), bundleBroken[k] (no member up),
// bundleSpeed[k] and bundlePhase[k] (the trunk's pulses), and bundleLink[k] (what hovering
// the trunk shows: the bundle's figures in a link's shape).
export function bundleLinks(scene, { endX, endY, layerOf }) {
  const { linkA, linkB, linkCount, links } = scene;
  const groups = new Map();
  for (let j = 0; j < linkCount; j += 1) {
    const key = `${linkB[j]}:${layerOf(linkA[j])}`;
    const members = groups.get(key);
    if (members) members.push(j);
    else groups.set(key, [j]);
  }
  // Sorted by how their trunks are drawn, so that a frame strokes one path per look.
  const bundles = [...groups.values()]
    .filter((members) => members.length >= BUNDLE_MIN)
    .map((members) => summary(members, scene, endX, endY))
    .sort((a, b) => a.look - b.look);
  const count = bundles.length;
  scene.linkBundle = new Int32Array(linkCount).fill(-1);
  scene.bundleCount = count;
  scene.bundleTarget = new Int32Array(count);
  scene.bundleX = new Float64Array(count);
  scene.bundleY = new Float64Array(count);
  scene.bundleSize = new Int32Array(count);
  scene.bundleLevel = new Uint8Array(count);
  scene.bundleBroken = new Uint8Array(count);
  scene.bundleSpeed = new Float32Array(count);
  scene.bundlePhase = new Float32Array(count);
  scene.bundleLink = new Array(count);
  bundles.forEach((bundle, k) => {
    const { members, target, up, throughput } = bundle;
    for (const j of members) scene.linkBundle[j] = k;
    scene.bundleTarget[k] = target;
    scene.bundleX[k] = bundle.cx + (endX(target) - bundle.cx) * PULL;
    scene.bundleY[k] = bundle.cy + (endY(target) - bundle.cy) * PULL;
    scene.bundleSize[k] = members.length;
    scene.bundleLevel[k] = Math.max(0, bundle.level);
    scene.bundleBroken[k] = up === 0 ? 1 : 0;
    scene.bundleSpeed[k] = up === 0 ? 0 : pulseSpeed(throughput);
    scene.bundlePhase[k] = (k * 0.381966) % 1;
    const first = links[members[0]];
    scene.bundleLink[k] = {
      id: `bundle:${first.target}:${k}`,
      source: t("links.bundle", { count: members.length }),
      target: first.target,
      interface: null,
      throughput_bits_per_s: throughput,
      capacity_bits_per_s: bundle.capacity || null,
      utilization: bundle.busiest,
      members: members.length,
    };
  });
}

// One bundle's figures: its members' centre (projected), the busiest up member's
// utilization level (-1: none up), how many are up, their summed traffic and capacity, the
// highest utilization, and its look: broken (0), else its colour level and width.
function summary(members, { linkA, linkB, linkStyle, links }, endX, endY) {
  let cx = 0;
  let cy = 0;
  let level = -1;
  let up = 0;
  let throughput = 0;
  let capacity = 0;
  let busiest = null;
  for (const j of members) {
    cx += endX(linkA[j]);
    cy += endY(linkA[j]);
    const link = links[j];
    if (linkStyle[j] !== BROKEN) {
      up += 1;
      level = Math.max(level, utilizationLevel(link.utilization));
    }
    throughput += link.throughput_bits_per_s ?? 0;
    capacity += link.capacity_bits_per_s ?? 0;
    if (link.utilization != null) busiest = Math.max(busiest ?? 0, link.utilization);
  }
  const look = level < 0 ? 0 : 1 + level * 8 + trunkWidth(members.length);
  return {
    members,
    target: linkB[members[0]],
    cx: cx / members.length,
    cy: cy / members.length,
    level,
    up,
    throughput,
    capacity,
    busiest,
    look,
  };
}

// A trunk's width in pixels: grows with the log of its members, in whole pixels.
export function trunkWidth(size) {
  return Math.min(7, 1 + Math.round(Math.log2(size)));
}
