// The view in the address bar (hud/url-state.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { urlOfView, viewInUrl } from "../../../hud/url-state.js";

test("a link's host and layer are read, anything else about them is not", () => {
  assert.deepEqual(viewInUrl("?host=web-1&layer=3&testing=1"), { host: "web-1", layer: 3 });
  assert.deepEqual(viewInUrl("?layer=9"), { host: null, layer: null });
  assert.deepEqual(viewInUrl("?layer=2.5&host="), { host: null, layer: null });
  assert.deepEqual(viewInUrl(""), { host: null, layer: null });
});

test("the bar follows the view and keeps the other parameters", () => {
  const href = "http://h:8100/?testing=1#x";
  assert.equal(
    urlOfView({ host: "sim-0421", layer: 3 }, href),
    "/?testing=1&host=sim-0421&layer=3#x",
  );
  assert.equal(urlOfView({ host: null, layer: null }, "http://h/?host=a&layer=2"), "/");
});
