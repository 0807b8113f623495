// The stage's hosts: one path per status (faded off the chosen layer), alert badges, the
// selection ring and the labels that fit. Functions of the Stage (stage.js), which has placed
// every host on screen for the frame.

import { KINDS } from "./fleet.js";
import { drawHostLabels } from "./labels.js";
import { STATUSES } from "./scene.js";

const STATUS_COLOURS = ["#34d399", "#fbbf24", "#6b7280"]; // online, stale, offline
const BADGE_COUNT_SIZE = 6; // hosts drawn smaller: alert badges without their count
const SHAPE_HOST_LIMIT = 3000; // more hosts on screen than this: squares, not shapes

export function drawHosts(stage, ctx, scene, size) {
  const n = scene.count;
  const { sx, sy, visible } = stage;
  const shapes = size >= 4 && stage.drawnHosts <= SHAPE_HOST_LIMIT;
  // Squares on whole pixels: no edges to antialias, the cheapest fill there is.
  const whole = Math.max(2, Math.round(size));
  const half = whole / 2;
  const filter = stage.layerFilter;
  const alpha = ctx.globalAlpha;
  // Hosts off the chosen layer first, faded; then one path per status.
  for (let pass = -1; pass < STATUSES.length; pass += 1) {
    if (pass === -1 && filter === null) continue;
    ctx.beginPath();
    for (let i = 0; i < n; i += 1) {
      if (!visible[i]) continue;
      const faded = filter !== null && scene.layer[i] !== filter;
      if (pass === -1 ? !faded : faded || scene.status[i] !== pass) continue;
      if (shapes) traceShape(ctx, KINDS[scene.kind[i]], sx[i], sy[i], size);
      else ctx.rect(Math.round(sx[i] - half), Math.round(sy[i] - half), whole, whole);
    }
    ctx.fillStyle = pass === -1 ? "#94a3b8" : STATUS_COLOURS[pass];
    ctx.globalAlpha = pass === -1 ? alpha * 0.15 : alpha;
    ctx.fill();
  }
  ctx.globalAlpha = alpha;

  drawBadges(stage, ctx, scene, size);
  const selected = stage.selectedId ? scene.index.get(stage.selectedId) : undefined;
  if (selected !== undefined && visible[selected]) {
    ctx.beginPath();
    ctx.arc(sx[selected], sy[selected], size + 6, 0, Math.PI * 2);
    ctx.strokeStyle = "#f0abfc";
    ctx.lineWidth = 2;
    ctx.stroke();
  }
  const hovered = stage.hoveredId ? scene.index.get(stage.hoveredId) : undefined;
  stage.labelBoxes = drawHostLabels(ctx, scene, stage, size, {
    selected,
    hovered,
    all: stage.showLabels,
  });
}

// A red badge on each alerting host, in one path; the count in it once hosts are large
// enough to read it by.
function drawBadges(stage, ctx, scene, size) {
  if (size < 3) return;
  const { sx, sy, visible } = stage;
  const radius = size >= BADGE_COUNT_SIZE ? 5 : 3;
  ctx.beginPath();
  for (let i = 0; i < scene.count; i += 1) {
    if (!visible[i] || !scene.alerts[i]) continue;
    ctx.moveTo(sx[i] + size + radius, sy[i] - size);
    ctx.arc(sx[i] + size, sy[i] - size, radius, 0, Math.PI * 2);
  }
  ctx.fillStyle = "#ef4444";
  ctx.fill();
  if (size < BADGE_COUNT_SIZE) return;
  ctx.font = "bold 9px system-ui, sans-serif";
  ctx.fillStyle = "#fff";
  for (let i = 0; i < scene.count; i += 1) {
    if (!visible[i] || !scene.alerts[i]) continue;
    ctx.fillText(String(Math.min(9, scene.alerts[i])), sx[i] + size - 2.5, sy[i] - size + 3);
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
