// Which history to ask for and how much of it to draw (hud/history-step.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  MAX_DRAWN,
  MAX_REQUESTED,
  RANGES,
  REPLY_BUDGET_BYTES,
  chooseStep,
  foldPoints,
  pointBytes,
  requestSpans,
  stepMs,
  windowOf,
} from "../../../hud/history-step.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

test("each range gets the finest step that keeps a request bounded", () => {
  const steps = Object.fromEntries(RANGES.map((r) => [r.key, chooseStep(r.ms, 5)]));
  assert.deepEqual(steps, { "15m": "raw", "1h": "raw", "24h": "1m", "7d": "1h", "30d": "1h" });
  for (const range of RANGES) {
    const step = chooseStep(range.ms, 5);
    assert.ok(range.ms / stepMs(step, 5) <= MAX_REQUESTED, range.key);
  }
});

test("a host sampling every second gets minutes sooner; a bad interval counts as 5 s", () => {
  assert.equal(chooseStep(HOUR, 1), "1m");
  assert.equal(chooseStep(HOUR, 0), "raw");
  assert.equal(chooseStep(HOUR, undefined), "raw");
  assert.equal(chooseStep(26 * HOUR, 5), "1h");
});

test("a range ends now; a zoomed span is asked for as it is", () => {
  const now = Date.UTC(2026, 0, 1, 12);
  assert.deepEqual(windowOf({ range: "24h" }, now), { since: now - 24 * HOUR, until: now });
  assert.deepEqual(windowOf({ range: "nonsense" }, now), { since: now - HOUR, until: now });
  const zoom = { since: now - 3 * HOUR, until: now - 2 * HOUR };
  assert.deepEqual(windowOf({ range: "7d", zoom }, now), zoom);
});

test("few points are drawn as they are", () => {
  const times = [0, 1, 2];
  const series = [{ avg: [1, 2, 3], max: null }];
  assert.deepEqual(foldPoints(times, series, 10), { times, series, bucketMs: 0 });
});

test("many points fold into buckets: mean of averages, largest maximum, mean time", () => {
  const times = Array.from({ length: 1440 }, (_, i) => i * MINUTE);
  const avg = times.map((_, i) => (i === 700 ? 90 : 10));
  const max = times.map((_, i) => (i === 701 ? 99 : null));
  const {
    times: folded,
    series,
    bucketMs,
  } = foldPoints(times, [{ key: "cpu", avg, max }], MAX_DRAWN, [0, 1440 * MINUTE]);
  assert.ok(folded.length <= MAX_DRAWN && folded.length >= MAX_DRAWN - 1, String(folded.length));
  assert.equal(bucketMs, (1440 * MINUTE) / MAX_DRAWN);
  assert.equal(series[0].key, "cpu");
  const spike = series[0].avg.findIndex((v) => v > 10);
  assert.ok(spike > 0);
  assert.ok(series[0].avg[spike] < 90, "the spike is averaged with its neighbours");
  assert.equal(Math.max(...series[0].max), 99, "but the band keeps the largest maximum");
  assert.ok(folded.every((t, i) => i === 0 || t > folded[i - 1]));
});

test("a bucket of points without a value has none", () => {
  const times = [0, 1, 2, 3];
  const { series } = foldPoints(times, [{ avg: [null, null, 5, 7], max: null }], 2, [0, 4]);
  assert.deepEqual(series[0].avg, [null, 6]);
  assert.deepEqual(series[0].max, [null, 7]);
});

test("a point's size is estimated at or above what such a host's points measure", () => {
  // Measured with mirror_schema.history's points of realistic values (3 decimals).
  const big = { cores: 128, gpus: 8, interfaces: 2, disks: 2, sensors: 2 };
  assert.ok(pointBytes("1m", big) >= 4170);
  assert.ok(pointBytes("raw", big) >= 1851);
  assert.ok(pointBytes("1h", { cores: 0, gpus: 0, interfaces: 4, disks: 2, sensors: 2 }) >= 1180);
  assert.ok(pointBytes("raw", { interfaces: 1, disks: 2, sensors: 2 }) >= 408);
});

test("a window is asked for in consecutive spans, each answer within the budget", () => {
  const window = { since: 0, until: 24 * HOUR };
  const hour = { since: 0, until: HOUR };
  assert.deepEqual(requestSpans(hour, "raw", { cores: 4, interfaces: 1 }), [hour]);
  // Even a small host's day of minutes (1,440 points of about 1.2 kB) takes more than one.
  assert.equal(requestSpans(window, "1m", { cores: 4, interfaces: 1 }).length, 4);
  const big = { cores: 128, gpus: 8, interfaces: 2 };
  const spans = requestSpans(window, "1m", big);
  assert.ok(spans.length > 1);
  assert.equal(spans[0].since, 0);
  assert.equal(spans.at(-1).until, 24 * HOUR);
  for (let i = 1; i < spans.length; i += 1) assert.equal(spans[i].since, spans[i - 1].until);
  for (const span of spans) {
    const points = (span.until - span.since) / MINUTE;
    assert.ok(points * pointBytes("1m", big) <= REPLY_BUDGET_BYTES, String(points));
  }
  const raw = requestSpans({ since: 0, until: HOUR }, "raw", big, 5);
  assert.ok(
    raw.every((s) => ((s.until - s.since) / 5000) * pointBytes("raw", big) <= REPLY_BUDGET_BYTES),
  );
});

test("however large a host's points, each request asks for some", () => {
  const huge = { cores: 100_000 };
  const spans = requestSpans({ since: 0, until: HOUR }, "1m", huge);
  assert.equal(spans.length, 2);
  assert.equal(spans[0].until - spans[0].since, 30 * MINUTE);
});
