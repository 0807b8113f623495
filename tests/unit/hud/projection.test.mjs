// The stage's 2.5D projection and camera (hud/projection.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  Camera,
  LAYERS,
  MAX_ZOOM,
  MIN_ZOOM,
  PLATE_HALF,
  homeView,
  layerAt,
  onPlate,
  plateCorners,
  platesBox,
  project,
  unproject,
} from "../../../hud/projection.js";

const close = (actual, expected, what) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} is not ${expected}`);

test("unproject inverts project on every layer", () => {
  for (let layer = 1; layer <= LAYERS; layer += 1) {
    const p = project(-20.25, 31, layer);
    const back = unproject(p.x, p.y, layer);
    close(back.x, -20.25, `x on layer ${layer}`);
    close(back.z, 31, `z on layer ${layer}`);
  }
});

test("a plate's centre is on that plate, its corners at its edges; far away is on none", () => {
  const h = PLATE_HALF;
  for (let layer = 1; layer <= LAYERS; layer += 1) {
    const centre = project(0, 0, layer);
    assert.equal(layerAt(centre.x, centre.y), layer);
    const corners = plateCorners(layer).map((c) => unproject(c.x, c.y, layer));
    [
      [-h, -h],
      [h, -h],
      [h, h],
      [-h, h],
    ].forEach(([x, z], i) => {
      close(corners[i].x, x, `corner ${i} x of layer ${layer}`);
      close(corners[i].z, z, `corner ${i} z of layer ${layer}`);
    });
  }
  assert.equal(onPlate(h - 0.1, -h + 0.1), true);
  assert.equal(layerAt(10000, 10000), null);
  assert.equal(onPlate(PLATE_HALF + 0.1, 0), false);
});

test("zooming keeps the point under the pointer and stays within its bounds", () => {
  const camera = new Camera();
  const before = camera.toProjected(300, 200, 800, 600);
  camera.zoomAt(2, 300, 200, 800, 600);
  const after = camera.toProjected(300, 200, 800, 600);
  close(after.x, before.x, "x under the pointer");
  close(after.y, before.y, "y under the pointer");
  camera.zoomAt(1e6, 300, 200, 800, 600);
  assert.equal(camera.zoom, MAX_ZOOM);
  camera.zoomAt(1e-6, 300, 200, 800, 600);
  assert.equal(camera.zoom, MIN_ZOOM);
});

test("toScreen and toProjected are each other's inverse", () => {
  const camera = new Camera();
  camera.panBy(37, -12);
  const screen = camera.toScreen(10, -40, 800, 600);
  const back = camera.toProjected(screen.x, screen.y, 800, 600);
  close(back.x, 10, "x");
  close(back.y, -40, "y");
});

test("easing reaches its target and stops; panning cancels it", () => {
  const camera = new Camera();
  camera.easeTo(20, -50, 9);
  let steps = 0;
  while (camera.step() && steps < 1000) steps += 1;
  assert.ok(steps < 1000, "the easing never ended");
  assert.deepEqual([camera.x, camera.y, camera.zoom], [20, -50, 9]);
  camera.easeTo(0, 0, 3);
  camera.panBy(5, 5);
  assert.equal(camera.target, null);
  assert.equal(camera.step(), false);
});

test("the home view shows the whole stack inside the canvas, at least 60% of it across", () => {
  // The space between the docks at 1600x900, at 1920x1080 and on a 1280x720 laptop.
  for (const [width, height] of [
    [1000, 860],
    [1320, 1040],
    [680, 680],
  ]) {
    const camera = new Camera();
    Object.assign(camera, homeView(width, height));
    const box = platesBox();
    const topLeft = camera.toScreen(box.minX, box.minY, width, height);
    const bottomRight = camera.toScreen(box.maxX, box.maxY, width, height);
    assert.ok(topLeft.x >= 0 && topLeft.y >= 0, `${width}x${height}`);
    assert.ok(bottomRight.x <= width && bottomRight.y <= height, `${width}x${height}`);
    assert.ok((bottomRight.x - topLeft.x) / width >= 0.6, `${width}x${height}`);
  }
});
