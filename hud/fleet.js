// The fleet as the twin last told it: hosts and links by id, updated by frames and diffs.
// Pure: no DOM, no network.

export const KINDS = ["server", "switch", "gateway", "sensor", "client"];

// A host's kind: its `kind` tag when it names one, else what its layer usually holds.
export function kindOf(host) {
  const tagged = (host.tags?.kind ?? host.tags?.type ?? "").toLowerCase();
  if (KINDS.includes(tagged)) return tagged;
  switch (host.layer) {
    case 1:
      return "sensor";
    case 2:
      return "switch";
    case 3:
    case 4:
    case 5:
      return "gateway";
    default:
      return host.tags?.role === "client" ? "client" : "server";
  }
}

export class Fleet {
  constructor() {
    this.hosts = new Map();
    this.links = new Map();
    this.seq = -1;
    this.twinId = null;
    this.version = 0; // bumps on every change: the stage redraws when it moved
    this.framesApplied = 0;
    this.diffsApplied = 0;
    this.lastFrameAt = null;
  }

  // Replace everything with a full frame.
  applyFrame(frame) {
    this.hosts = new Map(frame.hosts.map((host) => [host.host_id, host]));
    this.links = new Map(frame.links.map((link) => [link.id, link]));
    this.seq = frame.seq;
    this.twinId = frame.twin_id;
    this.framesApplied += 1;
    this.lastFrameAt = Date.now();
    this.version += 1;
  }

  // Apply a diff; false when it does not follow what we hold (a full frame is then needed).
  applyDiff(diff) {
    if (diff.twin_id !== this.twinId || diff.base_seq !== this.seq) return false;
    for (const patch of diff.hosts) {
      const held = this.hosts.get(patch.host_id);
      this.hosts.set(patch.host_id, held ? { ...held, ...patch } : patch);
    }
    for (const id of diff.removed_hosts) this.hosts.delete(id);
    for (const patch of diff.links) {
      const held = this.links.get(patch.id);
      this.links.set(patch.id, held ? { ...held, ...patch } : patch);
    }
    for (const id of diff.removed_links) this.links.delete(id);
    this.seq = diff.seq;
    this.diffsApplied += 1;
    this.version += 1;
    return true;
  }

  // Keep a host's alert count current between frames (alerts arrive on the same socket).
  setAlertCount(hostId, count) {
    const host = this.hosts.get(hostId);
    if (!host || host.active_alerts === count) return;
    this.hosts.set(hostId, { ...host, active_alerts: count });
    this.version += 1;
  }

  // Fleet-wide means for the gauges when nothing is selected.
  averages() {
    let cpu = 0;
    let memory = 0;
    let cpuCount = 0;
    let memoryCount = 0;
    for (const host of this.hosts.values()) {
      if (host.status !== "online") continue;
      if (host.cpu_load != null) {
        cpu += host.cpu_load;
        cpuCount += 1;
      }
      if (host.memory_used_percent != null) {
        memory += host.memory_used_percent;
        memoryCount += 1;
      }
    }
    return {
      cpu: cpuCount ? cpu / cpuCount : null,
      memory: memoryCount ? memory / memoryCount : null,
    };
  }
}
