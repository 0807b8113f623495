// How the charts write values and times (hud/chart-format.js), in English and Korean.

import assert from "node:assert/strict";
import { test } from "node:test";

import { timeFormatter, valueFormatter } from "../../../hud/chart-format.js";
import { setLanguage } from "../../../hud/i18n.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test("each unit is written its own way, shorter on the axis", () => {
  setLanguage("en");
  assert.equal(valueFormatter("percent")(42.44, false), "42.4%");
  assert.equal(valueFormatter("percent")(42.44, true), "42%");
  assert.equal(valueFormatter("celsius")(71.25, false), "71.3 °C");
  assert.equal(valueFormatter("bits")(8_000_000, false), "8.0 Mb/s");
  assert.equal(valueFormatter("load")(12345.678, false), "12,345.68");
  assert.equal(valueFormatter("load")(0.456, true), "0.5");
});

test("time labels say the hour within a day, the date beyond", () => {
  setLanguage("en");
  const noon = new Date(2026, 0, 15, 12, 30).getTime();
  assert.match(timeFormatter(HOUR)(noon, 15 * 60_000), /^12:30\sPM$/);
  assert.match(timeFormatter(3 * DAY)(noon, 6 * HOUR), /^1\/15, 12:30\sPM$/);
  assert.equal(timeFormatter(30 * DAY)(noon, 7 * DAY), "Jan 15");
});

test("Korean numbers and dates follow the Korean locale", () => {
  setLanguage("ko");
  const noon = new Date(2026, 0, 15, 12, 30).getTime();
  assert.equal(timeFormatter(30 * DAY)(noon, 7 * DAY), "1월 15일");
  assert.equal(valueFormatter("percent")(1234.5, false), "1,234.5%");
  setLanguage("en");
});
