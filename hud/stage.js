// The stage: seven layer plates in 2.5D with the fleet's hosts and links, on one canvas.
// Draws only when something changed or moves; details fade out as hosts get many or small.

import {
  Camera,
  LAYER_COLOURS,
  layerName,
  LAYERS,
  homeView,
  layerAt,
  plateCorners,
  project,
  unproject,
} from "./projection.js";
import { Scene } from "./scene.js";
import { drawHosts } from "./stage-hosts.js";
import { MARGIN, drawLinks, linkAt } from "./stage-links.js";
import { bindPointer } from "./stage-input.js";

const LAYER_HEIGHT = 4; // the twin's world units between layers (position.y)
const FRAME_SAMPLES = 600; // draw times kept for stats()
const LABEL_SIZE = 5; // hosts drawn smaller than this: only the labels that matter most
const CROWD_SHARE = 0.5; // a host at most this part of the side of its share of the canvas

// A host's size in pixels: grows with the zoom, but shrinks as hosts on screen get many, so
// that together they cover a bounded share of the canvas (a crowd is points, not a blot).
export function hostSize(zoom, onScreen = 0, area = Infinity) {
  const crowded = onScreen > 0 ? Math.sqrt(area / onScreen) * CROWD_SHARE : Infinity;
  return Math.max(2, Math.min(16, zoom * 1.5, crowded));
}

export class Stage {
  constructor(canvas, fleet, { onSelect, onPlace, canPlace, tooltip }) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.fleet = fleet;
    this.onSelect = onSelect;
    this.onPlace = onPlace;
    this.canPlace = canPlace;
    this.camera = new Camera();
    this.selectedId = null;
    this.hoveredId = null; // the host under the pointer: its label is always drawn
    this.layerFilter = null;
    this.dimmed = false; // the socket is reconnecting: the last frame stays, dimmed
    this.dirty = true;
    this.drawnVersion = -1;
    this.frameTimes = [];
    this.draws = 0;
    this.drawnHosts = 0;
    this.drawnLinks = 0;
    this.showLabels = false;
    this.labelBoxes = []; // the labels drawn in the last frame: [{id, x, y, w, h}]
    this.linkDetail = "full";
    this.showPulses = false;
    this.scene = null; // the fleet as arrays, rebuilt when it changes (scene.js)
    this.sx = null; // hosts' screen positions in the last frame, by scene index
    this.sy = null;
    this.visible = null;
    this.dragHost = null; // {hostId, at: {x, y, layer}} while an operator drags a host
    this.width = 0;
    this.height = 0;
    this.home = null; // the home view last applied: the camera follows a resize while there
    this.resize();
    new ResizeObserver(() => this.resize()).observe(canvas);
    bindPointer(this, tooltip);
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
    const { camera, home } = this;
    const atHome =
      !home || (camera.x === home.x && camera.y === home.y && camera.zoom === home.zoom);
    if (atHome && !camera.target) {
      this.home = homeView(this.width, this.height);
      Object.assign(camera, this.home);
    }
    this.dirty = true;
  }

  // Back to the whole stack, fitted to the canvas.
  goHome() {
    this.home = homeView(this.width, this.height);
    this.camera.easeTo(this.home.x, this.home.y, this.home.zoom);
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
      this.goHome();
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
    if (!this.scene || this.scene.version !== this.fleet.version)
      this.scene = new Scene(this.fleet);
    const scene = this.scene;
    ctx.clearRect(0, 0, width, height);
    ctx.globalAlpha = this.dimmed ? 0.35 : 1;
    this.drawPlates(ctx);
    this.transform(scene);
    const size = hostSize(camera.zoom, this.drawnHosts, width * height);
    this.showLabels = size >= LABEL_SIZE;
    drawLinks(this, ctx, now, scene);
    this.drawVirtual(ctx, scene, size);
    drawHosts(this, ctx, scene, size);
    if (this.dragHost?.at) this.drawGhost(ctx, this.dragHost.at, size);
    ctx.globalAlpha = 1;
  }

  drawPlates(ctx) {
    for (let layer = 1; layer <= LAYERS; layer += 1) {
      const corners = plateCorners(layer).map((c) =>
        this.camera.toScreen(c.x, c.y, this.width, this.height),
      );
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
      ctx.font = "12px system-ui, sans-serif";
      ctx.textAlign = "right";
      ctx.fillText(layerName(layer), corners[3].x - 8, corners[3].y + 4);
      ctx.textAlign = "start";
      ctx.globalAlpha = alpha;
    }
  }

  // Every host's and virtual node's place on screen for this frame, and which are on it.
  transform(scene) {
    const n = scene.count;
    if (!this.sx || this.sx.length < n) {
      this.sx = new Float64Array(n * 2);
      this.sy = new Float64Array(n * 2);
      this.visible = new Uint8Array(n * 2);
    }
    const { zoom } = this.camera;
    const ox = this.width / 2 - this.camera.x * zoom;
    const oy = this.height / 2 - this.camera.y * zoom;
    const { px, py } = scene;
    const { sx, sy, visible } = this;
    const right = this.width + MARGIN;
    const bottom = this.height + MARGIN;
    let drawn = 0;
    for (let i = 0; i < n; i += 1) {
      const x = px[i] * zoom + ox;
      const y = py[i] * zoom + oy;
      sx[i] = x;
      sy[i] = y;
      const on = x > -MARGIN && y > -MARGIN && x < right && y < bottom ? 1 : 0;
      visible[i] = on;
      drawn += on;
    }
    this.drawnHosts = drawn;
    this.vsx = scene.vpx.map((x) => x * zoom + ox);
    this.vsy = scene.vpy.map((y) => y * zoom + oy);
    this.bsx = scene.bundleX.map((x) => x * zoom + ox);
    this.bsy = scene.bundleY.map((y) => y * zoom + oy);
  }

  endX(end) {
    return end >= 0 ? this.sx[end] : this.vsx[-1 - end];
  }

  endY(end) {
    return end >= 0 ? this.sy[end] : this.vsy[-1 - end];
  }

  endVisible(end) {
    return end < 0 || this.visible[end] === 1;
  }

  drawVirtual(ctx, scene, size) {
    ctx.strokeStyle = "#94a3b8";
    ctx.lineWidth = 1.5;
    ctx.fillStyle = "#94a3b8";
    ctx.font = "11px system-ui, sans-serif";
    scene.virtualIds.forEach((id, k) => {
      ctx.beginPath();
      ctx.arc(this.vsx[k], this.vsy[k], size + 2, 0, Math.PI * 2);
      ctx.stroke();
      if (this.showLabels) ctx.fillText(id, this.vsx[k] + size + 5, this.vsy[k] + 4);
    });
  }

  drawGhost(ctx, at, size) {
    ctx.beginPath();
    ctx.arc(at.x, at.y, size + 4, 0, Math.PI * 2);
    ctx.strokeStyle = at.layer ? "#f0abfc" : "#ef4444";
    ctx.setLineDash([3, 3]);
    ctx.stroke();
    ctx.setLineDash([]);
  }

  hostAt(x, y) {
    const scene = this.scene;
    if (!scene) return null;
    const reach = Math.max(
      7,
      hostSize(this.camera.zoom, this.drawnHosts, this.width * this.height) + 3,
    );
    let best = null;
    let bestDistance = reach * reach;
    for (let i = 0; i < scene.count; i += 1) {
      if (!this.visible[i]) continue;
      const d = (this.sx[i] - x) ** 2 + (this.sy[i] - y) ** 2;
      if (d <= bestDistance) {
        best = scene.hosts[i].host_id;
        bestDistance = d;
      }
    }
    return best;
  }

  // The link (or a bundle's trunk, as a link-shaped summary) under the screen point (x, y).
  linkAt(x, y) {
    return linkAt(this, x, y);
  }

  // Where a drop at (sx, sy) puts a host: its layer and world position, or null off-plate.
  placementAt(sx, sy) {
    const p = this.camera.toProjected(sx, sy, this.width, this.height);
    const layer = layerAt(p.x, p.y);
    if (layer === null) return null;
    const { x, z } = unproject(p.x, p.y, layer);
    return { layer, position: { x, y: (layer - 1) * LAYER_HEIGHT, z } };
  }

  // Move a host at once on this page; the twin saves it and tells every browser.
  place(hostId, placement) {
    const host = this.fleet.hosts.get(hostId);
    if (!host) return;
    this.fleet.hosts.set(hostId, { ...host, layer: placement.layer, position: placement.position });
    this.fleet.version += 1;
    this.onPlace(hostId, placement);
  }

  frameStats() {
    const sorted = [...this.frameTimes].sort((a, b) => a - b);
    const at = (q) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;
    return { count: sorted.length, median: at(0.5), p95: at(0.95) };
  }
}
