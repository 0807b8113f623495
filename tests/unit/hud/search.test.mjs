// Finding hosts (hud/search.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { searchHosts } from "../../../hud/search.js";

const HOSTS = [
  { host_id: "web-10", hostname: "web-10.example.com", status: "online", tags: { role: "web" } },
  { host_id: "web-1", hostname: "web-1.example.com", status: "offline", rack: "r1" },
  {
    host_id: "db-7",
    hostname: "db-7",
    status: "online",
    tags: { role: "db" },
    address: "10.0.0.7",
  },
  { host_id: "sim-0421", hostname: "sim-0421", status: "stale", tags: { env: "lab" } },
];

const ids = (query, limit) => searchHosts(HOSTS, query, limit).map((m) => m.host.host_id);

test("the host id itself comes first, then ids starting with the query", () => {
  assert.deepEqual(ids("web-1"), ["web-1", "web-10"]);
  assert.deepEqual(ids("WEB"), ["web-1", "web-10"]);
});

test("a tag, a rack, an address, a status or a hostname finds its hosts", () => {
  assert.deepEqual(ids("role=db"), ["db-7"]);
  assert.deepEqual(ids("lab"), ["sim-0421"]);
  assert.deepEqual(ids("r1"), ["web-1"]);
  assert.deepEqual(ids("10.0.0.7"), ["db-7"]);
  assert.deepEqual(ids("stale"), ["sim-0421"]);
  assert.deepEqual(ids("example.com"), ["web-1", "web-10"]);
});

test("every word must match, and the list says why each host is in it", () => {
  assert.deepEqual(ids("web online"), ["web-10"]);
  assert.deepEqual(ids("web nowhere"), []);
  assert.deepEqual(ids("   "), []);
  assert.equal(searchHosts(HOSTS, "role=db")[0].why, "role=db");
  assert.equal(searchHosts(HOSTS, "10.0.0")[0].why, "address");
  assert.deepEqual(ids("e", 2).length, 2);
});
