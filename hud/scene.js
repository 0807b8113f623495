// The fleet laid out for drawing: flat typed arrays, rebuilt only when the fleet changes, so a
// frame of 10,000 hosts is arithmetic over arrays rather than objects and strings.

import { KINDS, kindOf } from "./fleet.js";
import { bundleLinks } from "./bundles.js";
import { BROKEN, linkStyle, pulseSpeed } from "./link-style.js";
import { LAYERS, project } from "./projection.js";

export {
  BROKEN,
  LINK_COLOURS,
  linkStyle,
  needsAttention,
  pulseSpeed,
  styleColour,
  styleWidth,
  utilizationLevel,
} from "./link-style.js";

export const STATUSES = ["online", "stale", "offline"];
// Link ends that are not hosts: the twin's virtual hub, which hosts without a known uplink
// hang from, sits at the middle of the network layer.
export const VIRTUAL_NODES = { hub: { layer: 3, x: 0, z: 0 } };
const VIRTUAL_IDS = Object.keys(VIRTUAL_NODES);
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
    bundleLinks(this, {
      endX: (end) => (end >= 0 ? this.px[end] : this.vpx[-1 - end]),
      endY: (end) => (end >= 0 ? this.py[end] : this.vpy[-1 - end]),
      layerOf: (end) => (end >= 0 ? this.layer[end] : VIRTUAL_NODES[VIRTUAL_IDS[-1 - end]].layer),
    });
  }
}
