// The stage: seven layer plates in 2.5D with the fleet's hosts and links, on one canvas.
// Draws only when something changed or moves; details fade out as hosts get many or small.

import { kindOf } from "./fleet.js";
import {
  Camera,
  LAYER_COLOURS,
  LAYER_GAP,
  LAYER_NAMES,
  LAYERS,
  layerAt,
  plateCorners,
  project,
  unproject,
} from "./projection.js";

const STATUS_COLOURS = { online: "#34d399", stale: "#fbbf24", offline: "#6b7280" };
const LAYER_HEIGHT = 4; // the twin's world units between layers (position.y)
const FRAME_SAMPLES = 600; // draw times kept for stats()
const LABEL_HOST_LIMIT = 400; // more hosts on screen than this: no labels
const PULSE_LINK_LIMIT = 1500; // more links on screen than this: no pulses
const DRAG_THRESHOLD = 4; // pixels before a press becomes a drag
// Link ends that are not hosts: the twin's virtual hub, which hosts without a known uplink
// hang from, sits at the middle of the network layer.
const VIRTUAL_NODES = { hub: { layer: 3, x: 0, z: 0 } };

export function hostSize(zoom) {
  return Math.max(2, Math.min(16, zoom * 1.5));
}

export function utilizationColour(utilization) {
  if (utilization == null) return "#64748b";
  if (utilization < 0.5) return "#22c55e";
  if (utilization < 0.8) return "#f59e0b";
  return "#ef4444";
}

// Pulses per second along a link: faster with more traffic, on a log scale.
export function pulseSpeed(throughputBps) {
  if (!throughputBps || throughputBps <= 0) return 0;
  return Math.min(2, Math.max(0.08, Math.log10(throughputBps) / 8));
}

function formatBits(bps) {
  if (bps == null) return "?";
  const units = ["b/s", "kb/s", "Mb/s", "Gb/s", "Tb/s"];
  let value = bps;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function linkLabel(link) {
  const utilization = link.utilization == null ? "?" : `${Math.round(link.utilization * 100)}%`;
  const iface = link.interface ? ` (${link.interface})` : "";
  return `${link.source} → ${link.target}${iface} · ${formatBits(link.throughput_bps)} / ${formatBits(link.capacity_bps)} · ${utilization}`;
}

export class Stage {
  constructor(canvas, fleet, { onSelect, onPlace, canPlace, tooltip }) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.fleet = fleet;
    this.onSelect = onSelect;
    this.onPlace = onPlace;
    this.canPlace = canPlace;
    this.tooltip = tooltip;
    this.camera = new Camera();
    this.selectedId = null;
    this.layerFilter = null;
    this.hoverLink = null;
    this.dimmed = false; // the socket is reconnecting: the last frame stays, dimmed
    this.dirty = true;
    this.drawnVersion = -1;
    this.frameTimes = [];
    this.draws = 0;
    this.drawnHosts = 0;
    this.drawnLinks = 0;
    this.showLabels = false;
    this.showPulses = false;
    this.screen = new Map(); // host id -> {x, y} on screen, from the last draw
    this.virtual = new Map(); // virtual node id -> {x, y} on screen
    this.pointers = new Map();
    this.press = null;
    this.dragHost = null;
    this.width = 0;
    this.height = 0;
    this.resize();
    this.bind();
    requestAnimationFrame((now) => this.loop(now));
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    this.width = Math.max(1, rect.width);
    this.height = Math.max(1, rect.height);
    this.canvas.width = Math.round(this.width * ratio);
    this.canvas.height = Math.round(this.height * ratio);
    this.context.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.dirty = true;
  }

  requestDraw() {
    this.dirty = true;
  }

  setLayerFilter(layer) {
    this.layerFilter = layer;
    this.dirty = true;
  }

  setDimmed(dimmed) {
    this.dimmed = dimmed;
    this.dirty = true;
  }

  // Where a host is drawn, in projected units; the camera eases to exactly this point.
  projectedOf(host) {
    const position = host.position ?? { x: 0, z: 0 };
    return project(position.x, position.z, host.layer ?? LAYERS);
  }

  // Where a host is on screen (CSS pixels within the canvas), or null.
  screenOf(hostId) {
    const host = this.fleet.hosts.get(hostId);
    if (!host) return null;
    const p = this.projectedOf(host);
    return this.camera.toScreen(p.x, p.y, this.width, this.height);
  }

  select(hostId) {
    this.selectedId = hostId;
    const host = hostId ? this.fleet.hosts.get(hostId) : null;
    if (host) {
      const p = this.projectedOf(host);
      this.camera.easeTo(p.x, p.y, Math.max(this.camera.zoom, 8));
    } else {
      this.camera.easeTo(0, -3 * LAYER_GAP, 3.5);
    }
    this.dirty = true;
    this.onSelect(hostId);
  }

  loop(now) {
    requestAnimationFrame((next) => this.loop(next));
    const easing = this.camera.step();
    const changed = this.fleet.version !== this.drawnVersion;
    if (this.dirty || easing || changed || (this.showPulses && !this.dimmed)) this.draw(now);
  }

  // Draw once and record how long it took.
  draw(now = performance.now()) {
    const started = performance.now();
    this.dirty = false;
    this.drawnVersion = this.fleet.version;
    this.render(now);
    const took = performance.now() - started;
    this.frameTimes.push(took);
    if (this.frameTimes.length > FRAME_SAMPLES) this.frameTimes.shift();
    this.draws += 1;
    return took;
  }

  render(now) {
    const ctx = this.context;
    const { width, height, camera } = this;
    ctx.clearRect(0, 0, width, height);
    ctx.globalAlpha = this.dimmed ? 0.35 : 1;
    this.drawPlates(ctx);

    const size = hostSize(camera.zoom);
    const screen = new Map();
    const margin = 20;
    for (const host of this.fleet.hosts.values()) {
      const p = this.projectedOf(host);
      const s = camera.toScreen(p.x, p.y, width, height);
      if (s.x < -margin || s.y < -margin || s.x > width + margin || s.y > height + margin) continue;
      screen.set(host.host_id, s);
    }
    this.screen = screen;
    this.drawnHosts = screen.size;
    this.virtual = new Map();
    for (const [id, node] of Object.entries(VIRTUAL_NODES)) {
      const p = project(node.x, node.z, node.layer);
      this.virtual.set(id, camera.toScreen(p.x, p.y, width, height));
    }
    this.showLabels = screen.size <= LABEL_HOST_LIMIT && size >= 5;
    this.drawLinks(ctx, now, screen);
    this.drawVirtual(ctx, size);
    this.drawHosts(ctx, screen, size);
    if (this.dragHost?.at) this.drawGhost(ctx, this.dragHost.at, size);
    ctx.globalAlpha = 1;
  }

  drawPlates(ctx) {
    for (let layer = 1; layer <= LAYERS; layer += 1) {
      const corners = plateCorners(layer).map((c) => this.camera.toScreen(c.x, c.y, this.width, this.height));
      const faded = this.layerFilter !== null && this.layerFilter !== layer;
      ctx.beginPath();
      ctx.moveTo(corners[0].x, corners[0].y);
      for (const c of corners.slice(1)) ctx.lineTo(c.x, c.y);
      ctx.closePath();
      ctx.fillStyle = LAYER_COLOURS[layer - 1];
      const alpha = ctx.globalAlpha;
      ctx.globalAlpha = alpha * (faded ? 0.02 : 0.09);
      ctx.fill();
      ctx.globalAlpha = alpha * (faded ? 0.15 : 0.6);
      ctx.strokeStyle = LAYER_COLOURS[layer - 1];
      ctx.lineWidth = 1;
      ctx.stroke();
      ctx.globalAlpha = alpha * (faded ? 0.3 : 0.9);
      ctx.fillStyle = LAYER_COLOURS[layer - 1];
      ctx.font = "12px system-ui, sans-serif";
      ctx.fillText(LAYER_NAMES[layer - 1], corners[3].x - 110, corners[3].y + 4);
      ctx.globalAlpha = alpha;
    }
  }

  // A link end on screen: a drawn host, or a virtual node (only if the link's other end is).
  endOf(id, screen) {
    return screen.get(id) ?? this.virtual.get(id) ?? null;
  }

  isUp(id) {
    const host = this.fleet.hosts.get(id);
    return host ? host.status === "online" : id in VIRTUAL_NODES;
  }

  linkCurve(a, b) {
    const lift = Math.min(60, Math.hypot(b.x - a.x, b.y - a.y) * 0.25 + 6);
    return { cx: (a.x + b.x) / 2, cy: (a.y + b.y) / 2 - lift };
  }

  drawLinks(ctx, now, screen) {
    const buckets = new Map();
    const pulses = [];
    let drawn = 0;
    for (const link of this.fleet.links.values()) {
      const a = this.endOf(link.source, screen);
      const b = this.endOf(link.target, screen);
      if (!a || !b) continue;
      drawn += 1;
      const broken = !this.isUp(link.source) || !this.isUp(link.target);
      const colour = broken ? "#ef4444" : utilizationColour(link.utilization);
      const width = broken ? 1 : 1 + Math.round(Math.min(1, link.utilization ?? 0) * 3);
      const key = `${colour}|${width}|${broken}`;
      let bucket = buckets.get(key);
      if (!bucket) {
        bucket = { colour, width, broken, curves: [] };
        buckets.set(key, bucket);
      }
      const c = this.linkCurve(a, b);
      bucket.curves.push([a, c, b]);
      if (!broken) pulses.push([a, c, b, pulseSpeed(link.throughput_bps), link.id]);
    }
    this.drawnLinks = drawn;
    for (const bucket of buckets.values()) {
      ctx.beginPath();
      for (const [a, c, b] of bucket.curves) {
        ctx.moveTo(a.x, a.y);
        ctx.quadraticCurveTo(c.cx, c.cy, b.x, b.y);
      }
      ctx.strokeStyle = bucket.colour;
      ctx.lineWidth = bucket.width;
      ctx.setLineDash(bucket.broken ? [5, 4] : []);
      const alpha = ctx.globalAlpha;
      ctx.globalAlpha = alpha * 0.75;
      ctx.stroke();
      ctx.globalAlpha = alpha;
    }
    ctx.setLineDash([]);
    this.showPulses = drawn > 0 && drawn <= PULSE_LINK_LIMIT && this.camera.zoom >= 1.5;
    if (!this.showPulses) return;
    ctx.beginPath();
    const seconds = now / 1000;
    for (const [a, c, b, speed, id] of pulses) {
      if (speed === 0) continue;
      const phase = (id.length * 0.137) % 1;
      const t = (seconds * speed + phase) % 1;
      const u = 1 - t;
      const x = u * u * a.x + 2 * u * t * c.cx + t * t * b.x;
      const y = u * u * a.y + 2 * u * t * c.cy + t * t * b.y;
      ctx.moveTo(x + 2.5, y);
      ctx.arc(x, y, 2.5, 0, Math.PI * 2);
    }
    ctx.fillStyle = "#e0f2fe";
    ctx.fill();
  }

  drawHosts(ctx, screen, size) {
    const byStatus = new Map();
    const faded = [];
    for (const [id, s] of screen) {
      const host = this.fleet.hosts.get(id);
      if (this.layerFilter !== null && host.layer !== this.layerFilter) {
        faded.push([host, s]);
        continue;
      }
      const status = host.status in STATUS_COLOURS ? host.status : "offline";
      if (!byStatus.has(status)) byStatus.set(status, []);
      byStatus.get(status).push([host, s]);
    }
    const alpha = ctx.globalAlpha;
    if (faded.length) {
      ctx.globalAlpha = alpha * 0.15;
      this.fillShapes(ctx, faded, size, "#94a3b8");
      ctx.globalAlpha = alpha;
    }
    for (const [status, hosts] of byStatus) this.fillShapes(ctx, hosts, size, STATUS_COLOURS[status]);

    if (size >= 4) {
      ctx.font = "bold 9px system-ui, sans-serif";
      for (const hosts of byStatus.values()) {
        for (const [host, s] of hosts) {
          if (!host.active_alerts) continue;
          ctx.beginPath();
          ctx.arc(s.x + size, s.y - size, 5, 0, Math.PI * 2);
          ctx.fillStyle = "#ef4444";
          ctx.fill();
          ctx.fillStyle = "#fff";
          ctx.fillText(String(Math.min(9, host.active_alerts)), s.x + size - 2.5, s.y - size + 3);
        }
      }
    }
    const selected = this.selectedId ? screen.get(this.selectedId) : null;
    if (selected) {
      ctx.beginPath();
      ctx.arc(selected.x, selected.y, size + 6, 0, Math.PI * 2);
      ctx.strokeStyle = "#f0abfc";
      ctx.lineWidth = 2;
      ctx.stroke();
    }
    if (this.showLabels) {
      ctx.font = "11px system-ui, sans-serif";
      ctx.fillStyle = "#cbd5e1";
      ctx.textAlign = "center";
      for (const hosts of byStatus.values()) {
        for (const [host, s] of hosts) ctx.fillText(host.host_id, s.x, s.y + size + 12);
      }
      ctx.textAlign = "start";
    }
  }

  // One path per colour: shapes when they are big enough to tell apart, squares otherwise.
  fillShapes(ctx, hosts, size, colour) {
    ctx.fillStyle = colour;
    if (size < 4) {
      for (const [, s] of hosts) ctx.fillRect(s.x - size / 2, s.y - size / 2, size, size);
      return;
    }
    ctx.beginPath();
    for (const [host, s] of hosts) traceShape(ctx, kindOf(host), s.x, s.y, size);
    ctx.fill();
  }

  drawVirtual(ctx, size) {
    ctx.strokeStyle = "#94a3b8";
    ctx.lineWidth = 1.5;
    ctx.fillStyle = "#94a3b8";
    ctx.font = "11px system-ui, sans-serif";
    for (const [id, s] of this.virtual) {
      ctx.beginPath();
      ctx.arc(s.x, s.y, size + 2, 0, Math.PI * 2);
      ctx.stroke();
      if (this.showLabels) ctx.fillText(id, s.x + size + 5, s.y + 4);
    }
  }

  drawGhost(ctx, at, size) {
    ctx.beginPath();
    ctx.arc(at.x, at.y, size + 4, 0, Math.PI * 2);
    ctx.strokeStyle = at.layer ? "#f0abfc" : "#ef4444";
    ctx.setLineDash([3, 3]);
    ctx.stroke();
    ctx.setLineDash([]);
  }

  hostAt(sx, sy) {
    const size = hostSize(this.camera.zoom);
    const reach = Math.max(7, size + 3);
    let best = null;
    let bestDistance = reach * reach;
    for (const [id, s] of this.screen) {
      const d = (s.x - sx) ** 2 + (s.y - sy) ** 2;
      if (d <= bestDistance) {
        best = id;
        bestDistance = d;
      }
    }
    return best;
  }

  linkAt(sx, sy) {
    if (this.fleet.links.size > PULSE_LINK_LIMIT) return null;
    let best = null;
    let bestDistance = 36;
    for (const link of this.fleet.links.values()) {
      const a = this.endOf(link.source, this.screen);
      const b = this.endOf(link.target, this.screen);
      if (!a || !b) continue;
      const c = this.linkCurve(a, b);
      for (let i = 1; i < 16; i += 1) {
        const t = i / 16;
        const u = 1 - t;
        const x = u * u * a.x + 2 * u * t * c.cx + t * t * b.x;
        const y = u * u * a.y + 2 * u * t * c.cy + t * t * b.y;
        const d = (x - sx) ** 2 + (y - sy) ** 2;
        if (d < bestDistance) {
          best = link;
          bestDistance = d;
        }
      }
    }
    return best;
  }

  // Where a drop at (sx, sy) puts a host: its layer and world position, or null off-plate.
  placementAt(sx, sy) {
    const p = this.camera.toProjected(sx, sy, this.width, this.height);
    const layer = layerAt(p.x, p.y);
    if (layer === null) return null;
    const { x, z } = unproject(p.x, p.y, layer);
    return { layer, position: { x, y: (layer - 1) * LAYER_HEIGHT, z } };
  }

  bind() {
    const canvas = this.canvas;
    new ResizeObserver(() => this.resize()).observe(canvas);
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      this.pointers.set(event.pointerId, { x: event.offsetX, y: event.offsetY });
      if (this.pointers.size === 1) {
        const hostId = this.hostAt(event.offsetX, event.offsetY);
        this.press = { x: event.offsetX, y: event.offsetY, hostId, moved: false };
      } else {
        this.press = null; // a second finger: pinch, not a click or a drag
      }
    });
    canvas.addEventListener("pointermove", (event) => this.onPointerMove(event));
    canvas.addEventListener("pointerup", (event) => this.onPointerUp(event));
    canvas.addEventListener("pointercancel", (event) => {
      this.pointers.delete(event.pointerId);
      this.press = null;
      this.dragHost = null;
      this.dirty = true;
    });
    canvas.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        this.camera.zoomAt(Math.exp(-event.deltaY * 0.0015), event.offsetX, event.offsetY, this.width, this.height);
        this.dirty = true;
      },
      { passive: false },
    );
  }

  onPointerMove(event) {
    const previous = this.pointers.get(event.pointerId);
    if (this.pointers.size === 2 && previous) {
      const [first, second] = [...this.pointers.values()];
      const before = Math.hypot(first.x - second.x, first.y - second.y);
      this.pointers.set(event.pointerId, { x: event.offsetX, y: event.offsetY });
      const [a, b] = [...this.pointers.values()];
      const after = Math.hypot(a.x - b.x, a.y - b.y);
      if (before > 0) this.camera.zoomAt(after / before, (a.x + b.x) / 2, (a.y + b.y) / 2, this.width, this.height);
      this.dirty = true;
      return;
    }
    if (!this.press) {
      this.hover(event.offsetX, event.offsetY);
      return;
    }
    const dx = event.offsetX - this.press.x;
    const dy = event.offsetY - this.press.y;
    if (!this.press.moved && Math.hypot(dx, dy) < DRAG_THRESHOLD) return;
    this.press.moved = true;
    if (this.press.hostId && this.canPlace()) {
      const at = { x: event.offsetX, y: event.offsetY };
      at.layer = this.placementAt(at.x, at.y)?.layer ?? null;
      this.dragHost = { hostId: this.press.hostId, at };
    } else if (previous) {
      this.camera.panBy(event.offsetX - previous.x, event.offsetY - previous.y);
    }
    this.pointers.set(event.pointerId, { x: event.offsetX, y: event.offsetY });
    this.dirty = true;
  }

  onPointerUp(event) {
    this.pointers.delete(event.pointerId);
    const press = this.press;
    this.press = null;
    if (!press) return;
    if (this.dragHost) {
      const { hostId } = this.dragHost;
      this.dragHost = null;
      const placement = this.placementAt(event.offsetX, event.offsetY);
      if (placement) this.place(hostId, placement);
      this.dirty = true;
      return;
    }
    if (!press.moved) this.select(press.hostId);
  }

  // Move a host at once on this page; the twin saves it and tells every browser.
  place(hostId, placement) {
    const host = this.fleet.hosts.get(hostId);
    if (!host) return;
    this.fleet.hosts.set(hostId, { ...host, layer: placement.layer, position: placement.position });
    this.fleet.version += 1;
    this.onPlace(hostId, placement);
  }

  hover(sx, sy) {
    const link = this.linkAt(sx, sy);
    if (link === this.hoverLink) {
      if (link) this.tooltip.move(sx, sy);
      return;
    }
    this.hoverLink = link;
    if (link) this.tooltip.show(linkLabel(link), sx, sy);
    else this.tooltip.hide();
  }

  frameStats() {
    const sorted = [...this.frameTimes].sort((a, b) => a - b);
    const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);
    return { count: sorted.length, median: at(0.5), p95: at(0.95) };
  }
}

function traceShape(ctx, kind, x, y, size) {
  const h = size / 2;
  switch (kind) {
    case "switch":
      ctx.rect(x - size * 0.8, y - h * 0.6, size * 1.6, size * 0.6);
      break;
    case "gateway":
      ctx.moveTo(x, y - h - 1);
      ctx.lineTo(x + h + 1, y);
      ctx.lineTo(x, y + h + 1);
      ctx.lineTo(x - h - 1, y);
      ctx.closePath();
      break;
    case "sensor":
      ctx.moveTo(x + h, y);
      ctx.arc(x, y, h, 0, Math.PI * 2);
      break;
    case "client":
      ctx.moveTo(x, y - h - 1);
      ctx.lineTo(x + h + 1, y + h);
      ctx.lineTo(x - h - 1, y + h);
      ctx.closePath();
      break;
    default:
      ctx.rect(x - h, y - h, size, size);
  }
}
