// What the panels compute before they draw: the card's rows, the console's targets, a link's
// label, the socket's backoff (hud/card.js, console.js, stage-input.js, api.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { reconnectDelay } from "../../../hud/api.js";
import { cardRows, primaryInterface } from "../../../hud/card.js";
import { targetOf } from "../../../hud/console.js";
import { setLanguage } from "../../../hud/i18n.js";
import { linkLabel } from "../../../hud/stage-input.js";

const nic = (name, is_up, bytes, address) => ({
  name,
  is_up,
  bytes_sent: bytes,
  bytes_recv: bytes,
  speed_mbps: 1000,
  addresses: [{ family: "ipv4", address }],
});

test("the primary interface is the busiest one up with an address other than loopback", () => {
  const lo = nic("lo", true, 9e9, "127.0.0.1");
  const eth0 = nic("eth0", true, 10, "10.0.0.5");
  const eth1 = nic("eth1", false, 1e9, "10.0.1.5");
  const eth2 = nic("eth2", true, 20, "10.0.2.5");
  assert.equal(primaryInterface([lo, eth1, eth0, eth2]).name, "eth2");
  assert.equal(primaryInterface([lo]), null);
  assert.equal(primaryInterface(undefined), null);
});

test("the card's rows come from the frame's view and the latest sample, ? where unknown", () => {
  const now = Date.parse("2025-01-02T03:00:00Z");
  const view = {
    status: "online",
    platform: "linux",
    booted_at: "2025-01-01T01:00:00Z",
    memory_total_bytes: 8 * 1024 ** 3,
    memory_used_percent: 24.6,
    tags: { role: "db", rack: "r1" },
  };
  const sample = {
    os_distro: "Debian",
    os_release: "12",
    interfaces: [nic("eth0", true, 10, "10.0.0.5")],
    disks: [{ total_bytes: 1024 ** 4, used_bytes: 1024 ** 3 }],
  };
  const rows = Object.fromEntries(cardRows(view, sample, now));
  assert.equal(rows.OS, "Debian 12");
  assert.equal(rows.Memory, "8.0 GiB (25% used)");
  assert.equal(rows.IP, "10.0.0.5 on eth0 (1,000 Mb/s)");
  assert.equal(rows.Storage, "1.0 GiB of 1.0 TiB on 1 disk(s)");
  assert.equal(rows.Uptime, "1d 2h");
  assert.equal(rows.Tags, "role=db rack=r1");
  const bare = Object.fromEntries(cardRows({ status: "stale" }, null, now));
  assert.deepEqual(
    [bare.OS, bare.IP, bare.Storage, bare.GPUs, bare.Rack],
    ["?", "?", "?", "none", "none"],
  );
});

test("in Korean the card's names and words are Korean, its figures and units as they were", () => {
  const now = Date.parse("2025-01-02T03:00:00Z");
  const view = {
    status: "offline",
    booted_at: "2025-01-01T01:00:00Z",
    cpu_logical_cores: 16,
    memory_total_bytes: 8 * 1024 ** 3,
    memory_used_percent: 24.6,
    gpu_count: 0,
  };
  const sample = {
    cpu_model: "EPYC 7443",
    interfaces: [nic("eth0", true, 10, "10.0.0.5")],
    disks: [{ total_bytes: 1024 ** 4, used_bytes: 1024 ** 3 }],
  };
  setLanguage("ko");
  try {
    const rows = Object.fromEntries(cardRows(view, sample, now));
    assert.deepEqual(rows, {
      상태: "오프라인",
      OS: "?",
      CPU: "EPYC 7443 · 16코어",
      메모리: "8.0 GiB (25% 사용)",
      GPU: "없음",
      IP: "10.0.0.5 (eth0, 1,000 Mb/s)",
      저장소: "1.0 TiB 중 1.0 GiB 사용 · 디스크 1개",
      "가동 시간": "1일 2시간",
      에이전트: "?",
      랙: "없음",
      태그: "없음",
    });
    assert.throws(() => targetOf("tag", "role"), /key=value 형식/);
  } finally {
    setLanguage("en");
  }
});

test("the console sends one host, a list of hosts, or a tag selector", () => {
  assert.deepEqual(targetOf("host", " web-01 "), { hostname: "web-01" });
  assert.deepEqual(targetOf("hosts", "web-01, web-02 db-01"), {
    targets: ["web-01", "web-02", "db-01"],
  });
  assert.deepEqual(targetOf("tag", "env = a=b"), { selector: { tags: { env: "a=b" } } });
  assert.throws(() => targetOf("tag", "role"), /a tag is key=value/);
  assert.throws(() => targetOf("host", "  "), /name a host, hosts or a tag/);
});

test("a link's label gives its ends, interface, throughput over capacity and utilization", () => {
  const link = {
    source: "a",
    target: "hub",
    interface: "eth0",
    throughput_bits_per_s: 2.5e8,
    capacity_bits_per_s: 1e9,
    utilization: 0.25,
  };
  assert.equal(linkLabel(link), "a → hub (eth0) · 250 Mb/s / 1.0 Gb/s · 25%");
  assert.equal(linkLabel({ source: "a", target: "b" }), "a → b · ? / ? · ?");
});

test("the socket's backoff doubles from 0.5 s to 15 s, each wait jittered by up to half", () => {
  const range = (attempt) => [reconnectDelay(attempt, () => 0), reconnectDelay(attempt, () => 1)];
  assert.deepEqual(range(0), [250, 500]);
  assert.deepEqual(range(3), [2000, 4000]);
  assert.deepEqual(range(5), [7500, 15000]); // 16 s, capped
  assert.deepEqual(range(50), [7500, 15000]);
});
