// The stage's links: each drawn from host to host, or to its bundle's junction and on as one
// trunk (bundles.js); pulses along them; and which one is under the pointer. Functions of the
// Stage (stage.js), which has placed every end on screen for the frame.

import { trunkWidth } from "./bundles.js";
import { BROKEN, LINK_COLOURS, needsAttention, styleColour, styleWidth } from "./link-style.js";

export const MARGIN = 20; // pixels beyond the canvas where hosts still count as on screen
// Links on screen beyond which detail goes, each step keeping a frame's pixels bounded:
const PULSE_LINK_LIMIT = 600; // no pulses
const WIDE_LINK_LIMIT = 300; // one-pixel lines (width no longer shows utilization)
const ALL_LINK_LIMIT = 3000; // straight lines, and only those needing attention (link-style.js)

// The control point of a link's curve between screen points (ax, ay) and (bx, by).
function lift(ax, ay, bx, by) {
  return Math.min(60, Math.hypot(bx - ax, by - ay) * 0.25 + 6);
}

function curveBetween(ax, ay, bx, by) {
  return [ax, ay, (ax + bx) / 2, (ay + by) / 2 - lift(ax, ay, bx, by), bx, by];
}

// A straight segment as a quadratic curve (its control point halfway).
function straight(ax, ay, bx, by) {
  return [ax, ay, (ax + bx) / 2, (ay + by) / 2, bx, by];
}

// The point at `t` (0 to 1) along a quadratic curve [ax, ay, cx, cy, bx, by].
function pointOn([ax, ay, cx, cy, bx, by], t) {
  const u = 1 - t;
  return [u * u * ax + 2 * u * t * cx + t * t * bx, u * u * ay + 2 * u * t * cy + t * t * by];
}

// A link's curve on screen: its ends and the control point between them, lifted.
function curve(stage, a, b) {
  return curveBetween(stage.endX(a), stage.endY(a), stage.endX(b), stage.endY(b));
}

// A bundle's trunk on screen: from its junction to its target.
function trunk(stage, k) {
  const target = stage.scene.bundleTarget[k];
  return curveBetween(stage.bsx[k], stage.bsy[k], stage.endX(target), stage.endY(target));
}

function trunkVisible(stage, k) {
  const x = stage.bsx[k];
  const y = stage.bsy[k];
  const near = x > -MARGIN && y > -MARGIN && x < stage.width + MARGIN && y < stage.height + MARGIN;
  return near || stage.endVisible(stage.scene.bundleTarget[k]);
}

export function drawLinks(stage, ctx, now, scene) {
  const { linkA, linkB, linkStyle, linkCount, linkBundle } = scene;
  let drawn = 0;
  for (let j = 0; j < linkCount; j += 1) {
    if (stage.endVisible(linkA[j]) || stage.endVisible(linkB[j])) drawn += 1;
  }
  stage.drawnLinks = drawn;
  const thin = drawn > WIDE_LINK_LIMIT;
  const all = drawn <= ALL_LINK_LIMIT;
  stage.linkDetail = thin ? (all ? "thin" : "attention") : "full";
  const alpha = ctx.globalAlpha;
  ctx.globalAlpha = alpha * 0.75;
  let style = -1;
  for (let j = 0; j < linkCount; j += 1) {
    const a = linkA[j];
    const b = linkB[j];
    if (!stage.endVisible(a) && !stage.endVisible(b)) continue;
    if (!all && !needsAttention(linkStyle[j])) continue;
    if (linkStyle[j] !== style) {
      if (style !== -1) ctx.stroke();
      style = linkStyle[j];
      ctx.strokeStyle = styleColour(style);
      ctx.lineWidth = thin ? 1 : styleWidth(style);
      ctx.setLineDash(style === BROKEN ? [5, 4] : []);
      ctx.beginPath();
    }
    const ax = stage.endX(a);
    const ay = stage.endY(a);
    const k = linkBundle[j];
    ctx.moveTo(ax, ay);
    if (k >= 0) {
      ctx.lineTo(stage.bsx[k], stage.bsy[k]); // to its bundle's junction
      continue;
    }
    const bx = stage.endX(b);
    const by = stage.endY(b);
    if (all) ctx.quadraticCurveTo((ax + bx) / 2, (ay + by) / 2 - lift(ax, ay, bx, by), bx, by);
    else ctx.lineTo(bx, by);
  }
  if (style !== -1) ctx.stroke();
  drawTrunks(stage, ctx, scene, thin, !all);
  ctx.setLineDash([]);
  ctx.globalAlpha = alpha;
  stage.showPulses = drawn > 0 && drawn <= PULSE_LINK_LIMIT && stage.camera.zoom >= 1.5;
  if (stage.showPulses) drawPulses(stage, ctx, now, scene);
}

// One line per bundle, from its junction to its target, as wide as its members are many
// (one pixel when links are `thin`: too many on screen for widths to read; `straight` when
// only the links needing attention are drawn, as those are); bundles come
// sorted by look (bundles.js), so one path is stroked per look.
function drawTrunks(stage, ctx, scene, thin, straight) {
  let look = null;
  for (let k = 0; k < scene.bundleCount; k += 1) {
    if (!trunkVisible(stage, k)) continue;
    const broken = scene.bundleBroken[k] === 1;
    const width = thin ? 1 : trunkWidth(scene.bundleSize[k]);
    const next = broken ? "broken" : `${scene.bundleLevel[k]}:${width}`;
    if (next !== look) {
      if (look !== null) ctx.stroke();
      look = next;
      ctx.strokeStyle = broken ? styleColour(BROKEN) : LINK_COLOURS[scene.bundleLevel[k]];
      ctx.lineWidth = width;
      ctx.setLineDash(broken ? [5, 4] : []);
      ctx.beginPath();
    }
    const [ax, ay, cx, cy, bx, by] = trunk(stage, k);
    ctx.moveTo(ax, ay);
    if (straight) ctx.lineTo(bx, by);
    else ctx.quadraticCurveTo(cx, cy, bx, by);
  }
  if (look !== null) ctx.stroke();
}

// Pulses along the links of their own and along the trunks, faster with more traffic.
function drawPulses(stage, ctx, now, scene) {
  const { linkA, linkB, linkCount, linkBundle } = scene;
  const seconds = now / 1000;
  const dot = (curve, speed, phase) => {
    const [x, y] = pointOn(curve, (seconds * speed + phase) % 1);
    ctx.moveTo(x + 2.5, y);
    ctx.arc(x, y, 2.5, 0, Math.PI * 2);
  };
  ctx.beginPath();
  for (let j = 0; j < linkCount; j += 1) {
    const speed = scene.linkSpeed[j];
    const a = linkA[j];
    const b = linkB[j];
    if (speed === 0 || linkBundle[j] >= 0 || (!stage.endVisible(a) && !stage.endVisible(b)))
      continue;
    dot(curve(stage, a, b), speed, scene.linkPhase[j]);
  }
  for (let k = 0; k < scene.bundleCount; k += 1) {
    if (scene.bundleSpeed[k] === 0 || !trunkVisible(stage, k)) continue;
    dot(trunk(stage, k), scene.bundleSpeed[k], scene.bundlePhase[k]);
  }
  ctx.fillStyle = "#e0f2fe";
  ctx.fill();
}

// The link (or bundle's trunk, as a link-shaped summary) under the screen point (x, y).
export function linkAt(stage, x, y) {
  const scene = stage.scene;
  if (!scene || stage.drawnLinks > PULSE_LINK_LIMIT) return null;
  let best = null;
  let bestDistance = 36;
  const nearest = (curve, found) => {
    for (let k = 1; k < 16; k += 1) {
      const [px, py] = pointOn(curve, k / 16);
      const d = (px - x) ** 2 + (py - y) ** 2;
      if (d < bestDistance) {
        best = found;
        bestDistance = d;
      }
    }
  };
  for (let j = 0; j < scene.linkCount; j += 1) {
    const a = scene.linkA[j];
    const b = scene.linkB[j];
    if (!stage.endVisible(a) && !stage.endVisible(b)) continue;
    const k = scene.linkBundle[j];
    const path =
      k >= 0
        ? straight(stage.endX(a), stage.endY(a), stage.bsx[k], stage.bsy[k])
        : curve(stage, a, b);
    nearest(path, scene.links[j]);
  }
  for (let k = 0; k < scene.bundleCount; k += 1) {
    if (trunkVisible(stage, k)) nearest(trunk(stage, k), scene.bundleLink[k]);
  }
  return best;
}
