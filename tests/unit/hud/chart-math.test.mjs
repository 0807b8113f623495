// The charts' arithmetic (hud/chart-math.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  bytesToBits,
  dragSpan,
  linear,
  nearestIndex,
  niceTicks,
  timeAt,
  timeTicks,
} from "../../../hud/chart-math.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const utc = () => 0;

test("bytes per second become bits per second, and no value stays none", () => {
  assert.equal(bytesToBits(125_000), 1_000_000);
  assert.equal(bytesToBits(0), 0);
  assert.equal(bytesToBits(null), null);
  assert.equal(bytesToBits(undefined), null);
});

test("a value axis ends on round ticks that cover the data", () => {
  assert.deepEqual(niceTicks(0, 100, 5), { lo: 0, hi: 100, ticks: [0, 20, 40, 60, 80, 100] });
  assert.deepEqual(niceTicks(0, 3.7, 4).ticks, [0, 1, 2, 3, 4]);
  const bits = niceTicks(0, 8.3e8, 4);
  assert.equal(bits.lo, 0);
  assert.ok(bits.hi >= 8.3e8 && bits.hi <= 1e9, String(bits.hi));
  assert.deepEqual(niceTicks(0.1, 0.35, 5).ticks, [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
});

test("a flat or empty series still gets an axis with height", () => {
  assert.deepEqual(niceTicks(0, 0, 5).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const flat = niceTicks(50, 50, 4);
  assert.ok(flat.lo <= 50 && flat.hi > 50);
  assert.deepEqual(niceTicks(NaN, NaN, 5).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(10, 0, 5), niceTicks(0, 10, 5));
});

test("time ticks fall on round minutes, hours and local midnights", () => {
  const t0 = Date.UTC(2026, 0, 15, 10, 7);
  const quarter = timeTicks(t0, t0 + 15 * MINUTE, 6, utc);
  assert.equal(quarter.step, 5 * MINUTE);
  assert.deepEqual(
    quarter.ticks.map((t) => new Date(t).toISOString().slice(11, 16)),
    ["10:10", "10:15", "10:20"],
  );
  const day = timeTicks(t0, t0 + DAY, 6, utc);
  assert.equal(day.step, 6 * HOUR);
  assert.ok(day.ticks.every((t) => t % (6 * HOUR) === 0));
  const month = timeTicks(t0, t0 + 30 * DAY, 6, utc);
  assert.equal(month.step, 7 * DAY);
  // Nine hours east of Greenwich (Seoul), days start at 15:00 UTC.
  const seoul = timeTicks(t0, t0 + 4 * DAY, 6, () => 9 * HOUR);
  assert.equal(seoul.step, DAY);
  assert.ok(seoul.ticks.every((t) => new Date(t).getUTCHours() === 15));
  assert.equal(seoul.ticks.length, 4);
});

test("a linear map sends the domain's ends to the range's ends", () => {
  const y = linear([0, 100], [200, 0]);
  assert.equal(y(0), 200);
  assert.equal(y(100), 0);
  assert.equal(y(25), 150);
  assert.equal(linear([5, 5], [0, 10])(5), 5);
});

test("the nearest point to a time, and none in a gap wider than allowed", () => {
  const times = [0, 10, 20, 60];
  assert.equal(nearestIndex(times, 11), 1);
  assert.equal(nearestIndex(times, 15), 1);
  assert.equal(nearestIndex(times, 16), 2);
  assert.equal(nearestIndex(times, -100), 0);
  assert.equal(nearestIndex(times, 1000), 3);
  assert.equal(nearestIndex(times, 40, 10), -1);
  assert.equal(nearestIndex(times, 55, 10), 3);
  assert.equal(nearestIndex([], 5), -1);
});

test("a drag across a plot selects the span under it, either way, clamped to the plot", () => {
  const domain = [0, HOUR];
  assert.deepEqual(dragSpan(100, 300, 400, domain), { since: 15 * MINUTE, until: 45 * MINUTE });
  assert.deepEqual(dragSpan(300, 100, 400, domain), { since: 15 * MINUTE, until: 45 * MINUTE });
  assert.deepEqual(dragSpan(-50, 500, 400, domain), { since: 0, until: HOUR });
  assert.equal(timeAt(200, 400, domain), 30 * MINUTE);
});

test("a click, or a span shorter than the history can show, is no zoom", () => {
  assert.equal(dragSpan(100, 102, 400, [0, HOUR]), null);
  assert.equal(dragSpan(100, 110, 400, [0, 10 * MINUTE]), null);
  assert.deepEqual(dragSpan(100, 110, 400, [0, 10 * MINUTE], { minMs: 1000 }), {
    since: 150_000,
    until: 165_000,
  });
});
