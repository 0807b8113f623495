// A window of history fetched in spans and put back together (hud/history-fetch.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { fetchSpans } from "../../../hud/history-fetch.js";

const MINUTE = 60_000;

// An answer of one point per minute of the span, as the API gives 1 m rollups.
const answer = (span) => ({
  host: "web-1",
  step: "1m",
  points: Array.from({ length: (span.until - span.since) / MINUTE }, (_, k) => ({
    timestamp: new Date(span.since + k * MINUTE).toISOString(),
  })),
});

const spansOf = (count, width) =>
  Array.from({ length: count }, (_, k) => ({ since: k * width, until: (k + 1) * width }));

test("the spans' answers are joined in time order, a few requests at a time", async () => {
  let open = 0;
  let most = 0;
  const fetchOne = async (span) => {
    open += 1;
    most = Math.max(most, open);
    // Later spans answer first: the order comes from the spans, not the answers.
    await new Promise((resolve) => setTimeout(resolve, 20 - span.since / (10 * MINUTE)));
    open -= 1;
    return answer(span);
  };
  const history = await fetchSpans(spansOf(7, 10 * MINUTE), fetchOne);
  assert.equal(history.step, "1m");
  assert.equal(history.points.length, 70);
  const times = history.points.map((p) => Date.parse(p.timestamp));
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
  assert.equal(most, 3);
});

test("a span whose answer is too large for the bus is asked for in halves", async () => {
  const asked = [];
  const fetchOne = async (span) => {
    asked.push(span.until - span.since);
    if (span.until - span.since > 15 * MINUTE) {
      const error = new Error("too large");
      error.status = 422;
      error.detail = "the answer is 2000000 bytes, more than NATS carries in one message";
      throw error;
    }
    return answer(span);
  };
  const history = await fetchSpans([{ since: 0, until: 60 * MINUTE }], fetchOne);
  assert.equal(history.points.length, 60);
  assert.deepEqual(
    asked,
    [60, 30, 15, 15, 30, 15, 15].map((m) => m * MINUTE),
  );
});

test("any other failure fails the window", async () => {
  const fetchOne = async (span) => {
    if (span.since > 0) throw Object.assign(new Error("503"), { status: 503, detail: "away" });
    return answer(span);
  };
  await assert.rejects(fetchSpans(spansOf(2, MINUTE), fetchOne), { status: 503 });
});

test("no spans: an empty history", async () => {
  assert.deepEqual(await fetchSpans([], answer), { host: null, step: null, points: [] });
});
