// Interface rates (hud/interface-rates.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { interfaceRates } from "../../../hud/interface-rates.js";

const at = (seconds, sent, recv, name = "eth0") => ({
  timestamp: new Date(Date.UTC(2026, 11, 7, 12, 0, seconds)).toISOString(),
  interfaces: [{ name, bytes_sent: sent, bytes_recv: recv }],
});

test("bits per second between two samples", () => {
  const rates = interfaceRates(at(10, 2000, 5000), at(5, 1000, 0));
  assert.deepEqual(rates.get("eth0"), { tx: 1600, rx: 8000 });
});

test("no rate without a before, across a counter reset, or no time apart", () => {
  assert.equal(interfaceRates(at(10, 1, 1), null).size, 0);
  assert.equal(interfaceRates(at(10, 1, 1), at(5, 9, 0)).size, 0);
  assert.equal(interfaceRates(at(5, 9, 9), at(5, 1, 1)).size, 0);
  assert.equal(interfaceRates(at(10, 9, 9, "eth1"), at(5, 1, 1)).size, 0);
});
