// Host labels that never overlap: each is drawn only where its box touches no label drawn
// before it, trying below its host, then above. Candidates come in priority order (the
// selected and hovered hosts, then alerting ones, then the rest), so what matters most is always shown and
// the rest appear as the operator zooms in and room opens up.

const CELL = 48; // the spatial hash's cell, in CSS pixels
const LABEL_FONT = "11px system-ui, sans-serif";

function intersects(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

// `candidates`: [{id, x, y, width, gap}] in priority order: the host's centre, its label's
// text width and the gap between host and text. Returns the labels to draw: [{id, x, y, w, h}]
// (the box's top-left, in CSS pixels; the text is drawn centred at x + w / 2, baseline y + h - 3).
export function placeLabels(candidates, { height = 12, limit = Infinity } = {}) {
  const grid = new Map();
  const placed = [];
  const cells = (box) => {
    const keys = [];
    for (let cx = Math.floor(box.x / CELL); cx <= Math.floor((box.x + box.w) / CELL); cx += 1) {
      for (let cy = Math.floor(box.y / CELL); cy <= Math.floor((box.y + box.h) / CELL); cy += 1) {
        keys.push(`${cx},${cy}`);
      }
    }
    return keys;
  };
  const free = (box) =>
    cells(box).every((key) => !(grid.get(key) ?? []).some((other) => intersects(box, other)));
  for (const { id, x, y, width, gap } of candidates) {
    if (placed.length >= limit) break;
    const w = width + 4;
    const below = { id, x: x - w / 2, y: y + gap, w, h: height };
    const above = { id, x: x - w / 2, y: y - gap - height, w, h: height };
    const box = free(below) ? below : free(above) ? above : null;
    if (!box) continue;
    placed.push(box);
    for (const key of cells(box)) {
      if (!grid.has(key)) grid.set(key, []);
      grid.get(key).push(box);
    }
  }
  return placed;
}

const MAX_LABELS = 200; // labels drawn at most in one frame, however many would fit
const WIDTHS_KEPT = 50000; // text widths remembered (measuring is the costly part)
const widths = new Map();

function textWidth(ctx, text) {
  let width = widths.get(text);
  if (width === undefined) {
    if (widths.size >= WIDTHS_KEPT) widths.clear();
    width = ctx.measureText(text).width;
    widths.set(text, width);
  }
  return width;
}

// Draw the labels that fit, for a frame's hosts on screen (`at`: the stage's sx, sy and
// visible, by scene index): the selected host's first, then the hovered one's, then alerting
// hosts', then, when `all`, the rest in the scene's order (stable from frame to frame, so
// labels do not flicker). The boxes drawn.
export function drawHostLabels(ctx, scene, at, size, { selected, hovered, all }) {
  const { sx, sy, visible } = at;
  ctx.font = LABEL_FONT;
  const order = [];
  const first = new Set();
  for (const i of [selected, hovered]) {
    if (i !== undefined && visible[i] && !first.has(i)) {
      order.push(i);
      first.add(i);
    }
  }
  for (let i = 0; i < scene.count; i += 1) {
    if (visible[i] && !first.has(i) && scene.alerts[i]) order.push(i);
  }
  if (all) {
    for (let i = 0; i < scene.count; i += 1) {
      if (visible[i] && !first.has(i) && !scene.alerts[i]) order.push(i);
    }
  }
  const candidates = order.map((i) => {
    const id = scene.hosts[i].host_id;
    return { id, x: sx[i], y: sy[i], width: textWidth(ctx, id), gap: size / 2 + 2 };
  });
  const boxes = placeLabels(candidates, { limit: MAX_LABELS });
  ctx.fillStyle = "#cbd5e1";
  ctx.textAlign = "center";
  for (const box of boxes) ctx.fillText(box.id, box.x + box.w / 2, box.y + box.h - 3);
  ctx.textAlign = "start";
  return boxes;
}

// Whether any two of `boxes` overlap (what the browser tests check of the drawn labels).
export function overlapping(boxes) {
  for (let i = 0; i < boxes.length; i += 1) {
    for (let j = i + 1; j < boxes.length; j += 1) {
      if (intersects(boxes[i], boxes[j])) return [boxes[i].id, boxes[j].id];
    }
  }
  return null;
}
