// Host labels that never overlap (hud/labels.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { overlapping, placeLabels } from "../../../hud/labels.js";

const at = (id, x, y, width = 40) => ({ id, x, y, width, gap: 8 });

test("a crowd of hosts gets labels that never overlap, the first ones always", () => {
  const crowd = [];
  for (let k = 0; k < 400; k += 1)
    crowd.push(at(`h${k}`, 100 + (k % 20) * 7, 100 + Math.floor(k / 20) * 5));
  const placed = placeLabels([at("selected", 130, 150), ...crowd]);
  assert.equal(placed[0].id, "selected");
  assert.equal(overlapping(placed), null);
  assert.ok(placed.length < 100, `${placed.length} labels drawn in a crowd`);
});

test("a label blocked below goes above; one blocked both ways is not drawn", () => {
  const placed = placeLabels([at("a", 100, 100), at("b", 100, 100), at("c", 100, 100)]);
  assert.deepEqual(
    placed.map((box) => [box.id, box.y]),
    [
      ["a", 108],
      ["b", 80],
    ],
  );
});

test("spread-out hosts all get their labels", () => {
  const placed = placeLabels([at("a", 0, 0), at("b", 200, 0), at("c", 0, 200)]);
  assert.equal(placed.length, 3);
  assert.deepEqual(
    overlapping([
      { id: "x", x: 0, y: 0, w: 10, h: 10 },
      { id: "y", x: 5, y: 5, w: 10, h: 10 },
    ]),
    ["x", "y"],
  );
});
