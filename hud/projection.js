// The 2.5D projection of the stage and its camera. Pure math: the stage draws every host at
// project(...) and the camera eases to the very same point (the original eased elsewhere).

import { t } from "./i18n.js";

export const LAYERS = 7;
export const PLATE_HALF = 36; // world units: the twin spreads hosts within +-32
// Projected units between two plates' centres. Below a plate's projected depth (PLATE_DEPTH),
// so the plates overlap a little like a fanned deck: the stack is then about as tall as it is
// wide and fills the space between the docks on a common screen, where plates stacked apart
// used a third of its width.
export const LAYER_GAP = 17;
const COS = Math.cos(Math.PI / 6);
const SIN = Math.sin(Math.PI / 6);
const SQUASH = 0.32; // how flat a plate looks
export const PLATE_WIDTH = 4 * PLATE_HALF * COS; // projected units, corner to corner
export const PLATE_DEPTH = 4 * PLATE_HALF * SIN * SQUASH;
// The share of the canvas the whole stack takes in the home view, across and down.
const FIT_ACROSS = 0.8; // the rest: room for the layers' names left of the plates
const FIT_DOWN = 0.94;

// A layer's name in the page's language ("L3 Network").
export const layerName = (layer) => t(`layer.name.${layer}`);
// L1 cyan to L7 indigo.
export const LAYER_COLOURS = [
  "#22d3ee",
  "#2dd4bf",
  "#38bdf8",
  "#60a5fa",
  "#818cf8",
  "#7c6cf0",
  "#6366f1",
];

// World (x on the plate, z on the plate, layer 1-7) to projected units (before the camera).
export function project(x, z, layer) {
  return {
    x: (x - z) * COS,
    y: (x + z) * SIN * SQUASH - (layer - 1) * LAYER_GAP,
  };
}

// Projected units back to the plate of `layer`: the inverse of project().
export function unproject(px, py, layer) {
  const a = px / COS; // x - z
  const b = (py + (layer - 1) * LAYER_GAP) / (SIN * SQUASH); // x + z
  return { x: (a + b) / 2, z: (b - a) / 2 };
}

export function onPlate(x, z) {
  return Math.abs(x) <= PLATE_HALF && Math.abs(z) <= PLATE_HALF;
}

// The four corners of a layer's plate, projected.
export function plateCorners(layer) {
  const h = PLATE_HALF;
  return [
    project(-h, -h, layer),
    project(h, -h, layer),
    project(h, h, layer),
    project(-h, h, layer),
  ];
}

// Which layer's plate a projected point is on: of the plates that hold it, the one whose
// centre is nearest; null when none does.
export function layerAt(px, py) {
  let best = null;
  let bestDistance = Infinity;
  for (let layer = 1; layer <= LAYERS; layer += 1) {
    const { x, z } = unproject(px, py, layer);
    if (!onPlate(x, z)) continue;
    const distance = Math.abs(py + (layer - 1) * LAYER_GAP);
    if (distance < bestDistance) {
      best = layer;
      bestDistance = distance;
    }
  }
  return best;
}

export const MIN_ZOOM = 0.5;
export const MAX_ZOOM = 40;

// The projected box around all seven plates: {minX, maxX, minY, maxY}.
export function platesBox() {
  return {
    minX: -PLATE_WIDTH / 2,
    maxX: PLATE_WIDTH / 2,
    minY: -(LAYERS - 1) * LAYER_GAP - PLATE_DEPTH / 2,
    maxY: PLATE_DEPTH / 2,
  };
}

// The camera that shows the whole stack as large as a canvas of width x height holds it.
export function homeView(width, height) {
  const box = platesBox();
  const zoom = Math.min(
    (FIT_ACROSS * width) / (box.maxX - box.minX),
    (FIT_DOWN * height) / (box.maxY - box.minY),
  );
  return {
    x: 0,
    y: (box.minY + box.maxY) / 2,
    zoom: Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom)),
  };
}

// Pan and zoom: what projected point is at the middle of the canvas, and pixels per unit.
export class Camera {
  constructor() {
    this.x = 0;
    this.y = -3 * LAYER_GAP;
    this.zoom = 3.5;
    this.target = null; // {x, y, zoom} while easing
    this.bounds = { minX: -80, maxX: 80, minY: -LAYERS * LAYER_GAP - 40, maxY: 60 };
  }

  toScreen(px, py, width, height) {
    return { x: (px - this.x) * this.zoom + width / 2, y: (py - this.y) * this.zoom + height / 2 };
  }

  toProjected(sx, sy, width, height) {
    return { x: (sx - width / 2) / this.zoom + this.x, y: (sy - height / 2) / this.zoom + this.y };
  }

  clamp() {
    this.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom));
    this.x = Math.min(this.bounds.maxX, Math.max(this.bounds.minX, this.x));
    this.y = Math.min(this.bounds.maxY, Math.max(this.bounds.minY, this.y));
  }

  panBy(dxPixels, dyPixels) {
    this.target = null;
    this.x -= dxPixels / this.zoom;
    this.y -= dyPixels / this.zoom;
    this.clamp();
  }

  // Zoom by `factor` keeping the screen point (sx, sy) where it is.
  zoomAt(factor, sx, sy, width, height) {
    this.target = null;
    const before = this.toProjected(sx, sy, width, height);
    this.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom * factor));
    const after = this.toProjected(sx, sy, width, height);
    this.x += before.x - after.x;
    this.y += before.y - after.y;
    this.clamp();
  }

  easeTo(x, y, zoom) {
    this.target = { x, y, zoom: Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom)) };
  }

  // One step of easing; true while still moving.
  step(fraction = 0.18) {
    if (!this.target) return false;
    const t = this.target;
    this.x += (t.x - this.x) * fraction;
    this.y += (t.y - this.y) * fraction;
    this.zoom += (t.zoom - this.zoom) * fraction;
    if (
      Math.abs(t.x - this.x) < 0.01 &&
      Math.abs(t.y - this.y) < 0.01 &&
      Math.abs(t.zoom - this.zoom) < 0.001
    ) {
      this.x = t.x;
      this.y = t.y;
      this.zoom = t.zoom;
      this.target = null;
      return false;
    }
    return true;
  }
}
