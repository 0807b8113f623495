// The selection card beside the selected host: who it is, what it runs on, and its state.

import { element } from "./dom.js";
import { formatBytes, formatDuration, percent } from "./format.js";
import { formatNumber, t, tValue } from "./i18n.js";

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
  return t("card.storage_value", {
    used: formatBytes(used),
    total: formatBytes(total),
    count: formatNumber(disks.length),
  });
}

// The card's rows for a host's view (from the frame) and its latest sample (may be null).
export function cardRows(view, sample, now = Date.now()) {
  const iface = primaryInterface(sample?.interfaces);
  const address = iface?.addresses.find((a) => a.family === "ipv4")?.address;
  const booted = view.booted_at ? Date.parse(view.booted_at) : null;
  const uptime = booted ? (now - booted) / 1000 : sample?.uptime_seconds;
  const none = t("card.none");
  const gpus = sample?.gpus?.length
    ? sample.gpus.map((gpu) => gpu.name || t("card.gpu_index", { index: gpu.index })).join(", ")
    : view.gpu_count
      ? formatNumber(view.gpu_count)
      : none;
  const os =
    [sample?.os_distro ?? view.os_distro, sample?.os_release].filter(Boolean).join(" ") ||
    view.platform ||
    "?";
  const tags =
    Object.entries(view.tags ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(" ") || none;
  const cores = view.cpu_logical_cores == null ? "?" : formatNumber(view.cpu_logical_cores);
  return [
    [t("card.status"), tValue("status", view.status)],
    [t("card.os"), os],
    [t("card.cpu"), t("card.cpu_value", { model: sample?.cpu_model ?? "?", cores })],
    [
      t("card.memory"),
      view.memory_total_bytes
        ? t("card.memory_value", {
            total: formatBytes(view.memory_total_bytes),
            percent: percent(view.memory_used_percent ?? 0),
          })
        : "?",
    ],
    [t("card.gpus"), gpus],
    [t("card.ip"), address ? addressText(address, iface) : "?"],
    [t("card.storage"), storageSummary(sample?.disks)],
    [t("card.uptime"), formatDuration(uptime)],
    [
      t("card.agent"),
      view.source === "scrape"
        ? t("card.agent_scraped", { source: view.agent_version ?? "node_exporter" })
        : (view.agent_version ?? "?"),
    ],
    [t("card.rack"), view.rack ?? none],
    [t("card.tags"), tags],
  ];
}

function addressText(address, iface) {
  const at = { address, interface: iface.name };
  return iface.speed_mbps
    ? t("card.ip_speed", { ...at, speed: formatNumber(iface.speed_mbps) })
    : t("card.ip_value", at);
}

export class SelectionCard {
  // `actions`: elements shown under the rows (the charts button); `silence(hostId)`, when
  // given, is offered beside them.
  constructor(root, { actions = [], silence = null } = {}) {
    this.root = root;
    this.root.hidden = true;
    // Kept across redraws, so that a click is not lost to a refresh between press and release.
    this.actions = element("div", "card-actions");
    this.actions.append(...actions);
    if (silence) {
      const button = element("button", "card-silence", t("admin.silence_host"));
      button.type = "button";
      button.addEventListener("click", () => silence(this.root.dataset.host));
      this.actions.append(button);
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
    this.root.replaceChildren(title, list, this.actions);
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
