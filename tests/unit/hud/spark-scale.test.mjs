// A sparkline's vertical range (hud/spark-scale.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { sparkRange } from "../../../hud/spark-scale.js";

test("a series that moves a little fills the line, at least ten points tall", () => {
  assert.deepEqual(sparkRange([41, 42, 43]), { lo: 37, hi: 47 });
  assert.deepEqual(sparkRange([10, 80]), { lo: 10, hi: 80 });
});

test("the range stays within 0-100, and an empty series gets the whole of it", () => {
  assert.deepEqual(sparkRange([1, 2]), { lo: 0, hi: 10 });
  assert.deepEqual(sparkRange([99, 100]), { lo: 90, hi: 100 });
  assert.deepEqual(sparkRange([null]), { lo: 0, hi: 100 });
});
