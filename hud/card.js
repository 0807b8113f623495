// The selection card beside the selected host: who it is, what it runs on, and its state.

import { element } from "./dom.js";
import { formatBytes, formatDuration } from "./format.js";
import { t } from "./i18n.js";

// The interface a host is most likely reached on: up, with an IPv4 address other than
// loopback, the one that moved the most bytes.
export function primaryInterface(interfaces) {
  const candidates = (interfaces ?? []).filter(
    (iface) =>
      iface.is_up &&
      iface.addresses?.some((a) => a.family === "ipv4" && !a.address.startsWith("127.")),
  );
  candidates.sort((a, b) => b.bytes_sent + b.bytes_recv - (a.bytes_sent + a.bytes_recv));
  return candidates[0] ?? null;
}

function storageSummary(disks) {
  if (!disks?.length) return "?";
  const total = disks.reduce((sum, disk) => sum + disk.total_bytes, 0);
  const used = disks.reduce((sum, disk) => sum + disk.used_bytes, 0);
  return `${formatBytes(used)} of ${formatBytes(total)} on ${disks.length} disk(s)`;
}

// The card's rows for a host's view (from the frame) and its latest sample (may be null).
export function cardRows(view, sample, now = Date.now()) {
  const iface = primaryInterface(sample?.interfaces);
  const address = iface?.addresses.find((a) => a.family === "ipv4")?.address;
  const booted = view.booted_at ? Date.parse(view.booted_at) : null;
  const uptime = booted ? (now - booted) / 1000 : sample?.uptime_seconds;
  const gpus = sample?.gpus?.length
    ? sample.gpus.map((gpu) => gpu.name || `GPU ${gpu.index}`).join(", ")
    : String(view.gpu_count || "none");
  const os =
    [sample?.os_distro ?? view.os_distro, sample?.os_release].filter(Boolean).join(" ") ||
    view.platform ||
    "?";
  const tags =
    Object.entries(view.tags ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(" ") || "none";
  return [
    ["Status", view.status],
    ["OS", os],
    ["CPU", `${sample?.cpu_model ?? "?"} · ${view.cpu_logical_cores ?? "?"} cores`],
    [
      "Memory",
      view.memory_total_bytes
        ? `${formatBytes(view.memory_total_bytes)} (${Math.round(view.memory_used_percent ?? 0)}% used)`
        : "?",
    ],
    ["GPUs", gpus],
    [
      "IP",
      address
        ? `${address} on ${iface.name}${iface.speed_mbps ? ` (${iface.speed_mbps} Mb/s)` : ""}`
        : "?",
    ],
    ["Storage", storageSummary(sample?.disks)],
    ["Uptime", formatDuration(uptime)],
    [
      "Agent",
      view.source === "scrape"
        ? `none: scraped from ${view.agent_version ?? "node_exporter"} (no commands)`
        : (view.agent_version ?? "?"),
    ],
    ["Rack", view.rack ?? "none"],
    ["Tags", tags],
  ];
}

export class SelectionCard {
  // `silence(hostId)`, when given, is offered as the card's action.
  constructor(root, { silence = null } = {}) {
    this.root = root;
    this.root.hidden = true;
    // Kept across redraws, so that a click is not lost to a refresh between press and release.
    this.actions = [];
    if (silence) {
      const actions = element("div", "card-actions");
      const button = element("button", "card-silence", t("admin.silenceHost"));
      button.type = "button";
      button.addEventListener("click", () => silence(this.root.dataset.host));
      actions.append(button);
      this.actions.push(actions);
    }
  }

  show(view, sample) {
    if (!view) {
      this.root.hidden = true;
      return;
    }
    const title = element("h2", "card-title", view.hostname || view.host_id);
    title.dataset.role = "card-name";
    const list = element("dl", "card-rows");
    for (const [name, value] of cardRows(view, sample)) {
      list.append(element("dt", "", name), element("dd", "", value));
    }
    this.root.replaceChildren(title, list, ...this.actions);
    this.root.dataset.host = view.host_id;
    this.root.dataset.status = view.status;
    this.root.hidden = false;
  }

  // Beside the host on screen, kept inside the stage.
  moveTo(point, bounds) {
    if (this.root.hidden || !point) return;
    const width = this.root.offsetWidth;
    const height = this.root.offsetHeight;
    const x = Math.min(bounds.width - width - 8, Math.max(8, point.x + 24));
    const y = Math.min(bounds.height - height - 8, Math.max(8, point.y - height / 2));
    this.root.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
  }
}
