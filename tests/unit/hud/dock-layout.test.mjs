// Where the widgets sit in the two docks (hud/dock-layout.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DEFAULT_LAYOUT,
  FOOTPRINTS,
  STORAGE_KEY,
  fits,
  freeSpot,
  loadLayout,
  moved,
  saveLayout,
  validLayout,
} from "../../../hud/dock-layout.js";

// localStorage's two calls, over a Map.
function memoryStorage(initial = {}) {
  const items = new Map(Object.entries(initial));
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => items.set(key, String(value)),
  };
}

test("the default layout is valid and places every widget but temperatures and GPUs", () => {
  assert.deepEqual(validLayout(DEFAULT_LAYOUT), DEFAULT_LAYOUT);
  const placed = DEFAULT_LAYOUT.map((item) => item.type).sort();
  const missing = Object.keys(FOOTPRINTS).filter((type) => !placed.includes(type));
  assert.deepEqual(missing.sort(), ["gpus", "temperatures"]);
});

test("a widget fits only inside a dock and off every other widget", () => {
  assert.equal(fits([], { type: "cpu", side: "left", col: 2, row: 8 }), true);
  assert.equal(fits([], { type: "cpu", side: "left", col: 3, row: 0 }), false); // 2 wide
  assert.equal(fits([], { type: "cpu", side: "middle", col: 0, row: 0 }), false);
  assert.equal(fits([], { type: "clock", side: "left", col: 0, row: 0 }), false);
  const cpu = { type: "cpu", side: "left", col: 0, row: 0 };
  assert.equal(fits([cpu], { type: "memory", side: "left", col: 1, row: 1 }), false);
  assert.equal(fits([cpu], { type: "memory", side: "right", col: 1, row: 1 }), true);
  assert.equal(fits([cpu], { ...cpu, col: 1 }), true); // its own old place does not block it
});

test("moving a widget replaces its entry, or refuses an occupied spot", () => {
  const layout = moved(DEFAULT_LAYOUT, "links", "left", 0, 9);
  assert.equal(layout.length, DEFAULT_LAYOUT.length);
  assert.deepEqual(layout.at(-1), { type: "links", side: "left", col: 0, row: 9 });
  assert.equal(moved(DEFAULT_LAYOUT, "cpu", "left", 1, 0), null);
});

test("a free spot is the first that fits, left dock first, and none when full", () => {
  assert.deepEqual(freeSpot([], "processes"), { type: "processes", side: "left", col: 0, row: 0 });
  assert.equal(freeSpot(DEFAULT_LAYOUT, "temperatures"), null);
  const withoutLinks = DEFAULT_LAYOUT.filter((item) => item.type !== "links");
  assert.deepEqual(freeSpot(withoutLinks, "temperatures"), {
    type: "temperatures",
    side: "right",
    col: 0,
    row: 8,
  });
});

test("a saved layout comes back as saved; a broken or overlapping one gives the default", () => {
  const storage = memoryStorage();
  const layout = moved(DEFAULT_LAYOUT, "links", "left", 0, 9);
  saveLayout(storage, layout);
  assert.deepEqual(loadLayout(storage), layout);
  for (const saved of ["{not json", "{}", JSON.stringify([...DEFAULT_LAYOUT, DEFAULT_LAYOUT[0]])]) {
    assert.equal(loadLayout(memoryStorage({ [STORAGE_KEY]: saved })), DEFAULT_LAYOUT, saved);
  }
  const fractional = [{ type: "cpu", side: "left", col: 0.5, row: 0 }];
  assert.equal(validLayout(fractional), null);
});
