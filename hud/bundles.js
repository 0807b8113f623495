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
  const { linkA, linkB, linkStyle, linkCount, links } = scene;
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
    .map((members) => ({ members, look: trunkLook(members, scene) }))
    .sort((a, b) => a.look - b.look)
    .map(({ members }) => members);
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
  bundles.forEach((members, k) => {
    const target = linkB[members[0]];
    let cx = 0;
    let cy = 0;
    let level = 0;
    let up = 0;
    let throughput = 0;
    let capacity = 0;
    let busiest = null;
    for (const j of members) {
      scene.linkBundle[j] = k;
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
    cx /= members.length;
    cy /= members.length;
    scene.bundleTarget[k] = target;
    scene.bundleX[k] = cx + (endX(target) - cx) * PULL;
    scene.bundleY[k] = cy + (endY(target) - cy) * PULL;
    scene.bundleSize[k] = members.length;
    scene.bundleLevel[k] = level;
    scene.bundleBroken[k] = up === 0 ? 1 : 0;
    scene.bundleSpeed[k] = up === 0 ? 0 : pulseSpeed(throughput);
    scene.bundlePhase[k] = (k * 0.381966) % 1;
    scene.bundleLink[k] = {
      id: `bundle:${links[members[0]].target}:${k}`,
      source: t("links.bundle", { count: members.length }),
      target: links[members[0]].target,
      interface: null,
      throughput_bits_per_s: throughput,
      capacity_bits_per_s: capacity || null,
      utilization: busiest,
      members: members.length,
    };
  });
}

// A trunk's width in pixels: grows with the log of its members, in whole pixels.
export function trunkWidth(size) {
  return Math.min(7, 1 + Math.round(Math.log2(size)));
}

// What a trunk looks like, as one number: broken (0), else its colour level and width.
function trunkLook(members, { linkStyle, links }) {
  let level = -1;
  for (const j of members) {
    if (linkStyle[j] !== BROKEN) level = Math.max(level, utilizationLevel(links[j].utilization));
  }
  return level < 0 ? 0 : 1 + level * 8 + trunkWidth(members.length);
}
