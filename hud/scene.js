// The fleet laid out for drawing: flat typed arrays, rebuilt only when the fleet changes, so a
// frame of 10,000 hosts is arithmetic over arrays rather than objects and strings.

import { KINDS, kindOf } from "./fleet.js";
import { LAYERS, project } from "./projection.js";

export const STATUSES = ["online", "stale", "offline"];
// Link ends that are not hosts: the twin's virtual hub, which hosts without a known uplink
// hang from, sits at the middle of the network layer.
export const VIRTUAL_NODES = { hub: { layer: 3, x: 0, z: 0 } };
const VIRTUAL_IDS = Object.keys(VIRTUAL_NODES);
// Link colours by utilization level: unknown, under 50 %, under 80 %, 80 % and over.
export const LINK_COLOURS = ["#64748b", "#22c55e", "#f59e0b", "#ef4444"];
export const BROKEN = 0; // style of a link with an end that is not online: dashed red

export function utilizationLevel(utilization) {
  if (utilization == null) return 0;
  if (utilization < 0.5) return 1;
  if (utilization < 0.8) return 2;
  return 3;
}

// A link's style: BROKEN, or 1 + level * 4 + (width - 1) with width 1-4 by utilization.
export function linkStyle(link, sourceUp, targetUp) {
  if (!sourceUp || !targetUp) return BROKEN;
  const width = 1 + Math.round(Math.min(1, link.utilization ?? 0) * 3);
  return 1 + utilizationLevel(link.utilization) * 4 + (width - 1);
}

// Broken, or 80 % used and over: what stays drawn when the links are too many to draw all.
export function needsAttention(style) {
  return style === BROKEN || Math.floor((style - 1) / 4) === 3;
}

export function styleColour(style) {
  return style === BROKEN ? "#ef4444" : LINK_COLOURS[Math.floor((style - 1) / 4)];
}

export function styleWidth(style) {
  return style === BROKEN ? 1 : ((style - 1) % 4) + 1;
}

// Pulses per second along a link: faster with more traffic, on a log scale.
export function pulseSpeed(throughputBps) {
  if (!throughputBps || throughputBps <= 0) return 0;
  return Math.min(2, Math.max(0.08, Math.log10(throughputBps) / 8));
}

export class Scene {
  constructor(fleet) {
    this.version = fleet.version;
    const count = fleet.hosts.size;
    this.count = count;
    this.hosts = new Array(count);
    this.index = new Map();
    this.px = new Float64Array(count);
    this.py = new Float64Array(count);
    this.status = new Uint8Array(count);
    this.kind = new Uint8Array(count);
    this.layer = new Uint8Array(count);
    this.alerts = new Uint8Array(count);
    let i = 0;
    for (const host of fleet.hosts.values()) {
      const position = host.position ?? { x: 0, z: 0 };
      const layer = host.layer ?? LAYERS;
      const p = project(position.x, position.z, layer);
      this.hosts[i] = host;
      this.index.set(host.host_id, i);
      this.px[i] = p.x;
      this.py[i] = p.y;
      const status = STATUSES.indexOf(host.status);
      this.status[i] = status < 0 ? 2 : status;
      this.kind[i] = KINDS.indexOf(kindOf(host));
      this.layer[i] = layer;
      this.alerts[i] = Math.min(255, host.active_alerts ?? 0);
      i += 1;
    }
    this.virtualIds = VIRTUAL_IDS;
    this.vpx = new Float64Array(VIRTUAL_IDS.length);
    this.vpy = new Float64Array(VIRTUAL_IDS.length);
    VIRTUAL_IDS.forEach((id, k) => {
      const node = VIRTUAL_NODES[id];
      const p = project(node.x, node.z, node.layer);
      this.vpx[k] = p.x;
      this.vpy[k] = p.y;
    });
    this.buildLinks(fleet);
  }

  // An end's index: a host's (>= 0), a virtual node's (-1 - k), or null when it is neither.
  endIndex(id) {
    const host = this.index.get(id);
    if (host !== undefined) return host;
    const k = VIRTUAL_IDS.indexOf(id);
    return k >= 0 ? -1 - k : null;
  }

  isUp(end) {
    return end < 0 || this.status[end] === 0;
  }

  buildLinks(fleet) {
    const entries = [];
    for (const link of fleet.links.values()) {
      const a = this.endIndex(link.source);
      const b = this.endIndex(link.target);
      if (a === null || b === null) continue;
      entries.push([linkStyle(link, this.isUp(a), this.isUp(b)), a, b, link]);
    }
    entries.sort((x, y) => x[0] - y[0]); // one path per style when drawn
    const count = entries.length;
    this.linkCount = count;
    this.links = new Array(count);
    this.linkStyle = new Uint8Array(count);
    this.linkA = new Int32Array(count);
    this.linkB = new Int32Array(count);
    this.linkSpeed = new Float32Array(count);
    this.linkPhase = new Float32Array(count);
    entries.forEach(([style, a, b, link], j) => {
      this.links[j] = link;
      this.linkStyle[j] = style;
      this.linkA[j] = a;
      this.linkB[j] = b;
      this.linkSpeed[j] = style === BROKEN ? 0 : pulseSpeed(link.throughput_bits_per_s);
      this.linkPhase[j] = (j * 0.618034) % 1;
    });
  }
}
