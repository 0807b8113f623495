// Numbers as the HUD shows them (hud/format.js), in the page's locale.

import assert from "node:assert/strict";
import { test } from "node:test";

import { formatBits, formatBytes, formatDuration, percent } from "../../../hud/format.js";
import { setLanguage } from "../../../hud/i18n.js";

test("bytes step by 1024 and keep one decimal under 10 of a unit, none for plain bytes", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(20 * 1024 ** 3), "20 GiB");
  assert.equal(formatBytes(2 * 1024 ** 6), "2,048 PiB"); // no unit above PiB; grouped
  assert.equal(formatBytes(null), "?");
});

test("bit rates step by 1000 and keep one decimal under 10", () => {
  assert.equal(formatBits(0), "0.0 b/s");
  assert.equal(formatBits(2.5e9), "2.5 Gb/s");
  assert.equal(formatBits(25e9), "25 Gb/s");
  assert.equal(formatBits(undefined), "?");
});

test("a percentage is rounded; an unknown one is a dash", () => {
  assert.equal(percent(42.6), "43%");
  assert.equal(percent(null), "–");
});

test("a duration shows its two largest units, and ? when it cannot be one", () => {
  assert.equal(formatDuration(59), "0m");
  assert.equal(formatDuration(2 * 3600 + 5 * 60), "2h 5m");
  assert.equal(formatDuration(3 * 86400 + 7200 + 60), "3d 2h");
  for (const bad of [null, -1, NaN, Infinity]) assert.equal(formatDuration(bad), "?");
});

test("in Korean the numbers keep their unit symbols and a duration reads in days, hours, minutes", () => {
  setLanguage("ko");
  try {
    assert.equal(formatBytes(1536), "1.5 KiB");
    assert.equal(formatBits(2.5e9), "2.5 Gb/s");
    assert.equal(percent(42.6), "43%");
    assert.equal(formatDuration(3 * 86400 + 7200 + 60), "3일 2시간");
    assert.equal(formatDuration(2 * 3600 + 5 * 60), "2시간 5분");
    assert.equal(formatDuration(59), "0분");
  } finally {
    setLanguage("en");
  }
});
