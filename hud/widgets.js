// The dock widgets except the console. Each shows the selected host, or the fleet when none is
// selected, and redraws from `hud` (fleet, selection, its latest sample, history, alerts).

import { openAlerts } from "./alerts.js";
import { element } from "./dom.js";
import { formatBits, formatBytes, formatFixed, percent } from "./format.js";
import { formatDateTime, formatNumber, t, tValue, translated } from "./i18n.js";
import { interfaceRates } from "./interface-rates.js";
import { sparkRange } from "./spark-scale.js";

const SPARK_POINTS = 120;

// A widget's frame: title bar (the drag handle) with a remove button, and a body. `titleKey`
// is the title's catalogue key: the title follows the page's language.
export function shell(type, titleKey, onRemove) {
  const root = element("section", "widget");
  root.dataset.widget = type;
  const bar = element("header", "widget-title");
  const close = translated(element("button", "widget-remove", "×"), "widget.remove", "title");
  close.addEventListener("click", () => onRemove(type));
  bar.append(translated(element("span"), titleKey), close);
  const body = element("div", "widget-body");
  root.append(bar, body);
  return {
    element: root,
    body,
    get title() {
      return t(titleKey);
    },
    visible: false,
  };
}

function pager(items, perPage, state, onChange) {
  const pages = Math.max(1, Math.ceil(items.length / perPage));
  state.page = Math.min(state.page, pages - 1);
  const dots = element("div", "page-dots");
  for (let i = 0; i < pages && pages > 1; i += 1) {
    const dot = element("button", i === state.page ? "dot current" : "dot");
    dot.title = t("widget.page", { page: formatNumber(i + 1), pages: formatNumber(pages) });
    dot.addEventListener("click", () => {
      state.page = i;
      onChange();
    });
    dots.append(dot);
  }
  return { shown: items.slice(state.page * perPage, state.page * perPage + perPage), dots };
}

function drawRing(canvas, value, colour) {
  const ctx = canvas.getContext("2d");
  const size = canvas.width;
  ctx.clearRect(0, 0, size, size);
  ctx.lineWidth = size * 0.1;
  ctx.strokeStyle = "#1e293b";
  ctx.beginPath();
  ctx.arc(size / 2, size / 2, size * 0.38, 0, Math.PI * 2);
  ctx.stroke();
  if (value == null) return;
  ctx.strokeStyle = colour;
  ctx.beginPath();
  ctx.arc(
    size / 2,
    size / 2,
    size * 0.38,
    -Math.PI / 2,
    -Math.PI / 2 + (Math.PI * 2 * Math.min(100, value)) / 100,
  );
  ctx.stroke();
}

function drawSpark(canvas, values, colour) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const points = values.filter((v) => v != null);
  if (points.length < 2) return;
  const { lo, hi } = sparkRange(points);
  ctx.beginPath();
  points.forEach((value, i) => {
    const x = (i / (points.length - 1)) * width;
    const share = (Math.min(hi, Math.max(lo, value)) - lo) / (hi - lo);
    const y = height - share * (height - 2) - 1;
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1.5;
  ctx.stroke();
}

// CPU or memory: a ring with the value and a sparkline, for the selection or the fleet mean.
export function gaugeWidget(type, titleKey, field, colour, onRemove) {
  const widget = shell(type, titleKey, onRemove);
  const ring = element("canvas", "gauge-ring");
  ring.width = ring.height = 96;
  const value = element("div", "gauge-value", "–");
  const scope = element("div", "gauge-scope", t("gauge.fleet"));
  const spark = element("canvas", "sparkline");
  spark.width = 140;
  spark.height = 28;
  widget.body.append(ring, value, scope, spark);
  const fleetSeries = [];
  widget.sample = (hud) => {
    const mean = hud.fleet.averages()[field === "cpu_load" ? "cpu" : "memory"];
    fleetSeries.push(mean);
    if (fleetSeries.length > SPARK_POINTS) fleetSeries.shift();
  };
  widget.update = (hud) => {
    const host = hud.selectedId ? hud.fleet.hosts.get(hud.selectedId) : null;
    const current = host
      ? host[field]
      : hud.fleet.averages()[field === "cpu_load" ? "cpu" : "memory"];
    value.textContent = percent(current);
    widget.element.dataset.value = current == null ? "" : String(Math.round(current));
    scope.textContent = host
      ? host.hostname || host.host_id
      : t("gauge.fleet_mean", { count: formatNumber(hud.fleet.hosts.size) });
    drawRing(ring, current, colour);
    const series = host ? hud.history.map((point) => point[field]) : fleetSeries;
    drawSpark(spark, series, colour);
  };
  return widget;
}

export function linksWidget(onRemove) {
  const widget = shell("links", "widget.links", onRemove);
  widget.update = (hud) => {
    let healthy = 0;
    let busy = 0;
    let down = 0;
    const links = [...hud.fleet.links.values()];
    for (const link of links) {
      // An end that is no host (the twin's virtual hub) is always up.
      const up = ["source", "target"].every(
        (end) => (hud.fleet.hosts.get(link[end])?.status ?? "online") === "online",
      );
      if (!up) down += 1;
      else if ((link.utilization ?? 0) >= 0.8) busy += 1;
      else healthy += 1;
    }
    const summary = element("div", "link-summary");
    summary.append(
      element("span", "ok", t("links.ok", { count: formatNumber(healthy) })),
      element("span", "busy", t("links.busy", { count: formatNumber(busy) })),
      element("span", "down", t("links.down", { count: formatNumber(down) })),
    );
    const top = links
      .filter((link) => link.utilization != null)
      .sort((a, b) => b.utilization - a.utilization)
      .slice(0, 3)
      .map((link) =>
        element("div", "row", `${link.source} → ${link.target} ${percent(link.utilization * 100)}`),
      );
    widget.body.replaceChildren(summary, ...top);
    widget.element.dataset.count = String(links.length);
  };
  return widget;
}

export function temperaturesWidget(onRemove) {
  const widget = shell("temperatures", "widget.temperatures", onRemove);
  widget.update = (hud) => {
    let rows;
    if (hud.selectedId && hud.detail) {
      rows = Object.entries(hud.detail.temperatures ?? {})
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([sensor, celsius]) => `${sensor} ${celsiusText(celsius)}`);
    } else {
      rows = [...hud.fleet.hosts.values()]
        .filter((host) => host.temperature_max_celsius != null)
        .sort((a, b) => b.temperature_max_celsius - a.temperature_max_celsius)
        .slice(0, 4)
        .map(
          (host) => `${host.hostname || host.host_id} ${celsiusText(host.temperature_max_celsius)}`,
        );
    }
    widget.body.replaceChildren(
      ...(rows.length ? rows : [t("temperatures.none")]).map((text) => element("div", "row", text)),
    );
  };
  return widget;
}

export function gpusWidget(onRemove) {
  const widget = shell("gpus", "widget.gpus", onRemove);
  widget.update = (hud) => {
    let rows;
    if (hud.selectedId && hud.detail) {
      rows = (hud.detail.gpus ?? []).map(
        (gpu) =>
          `#${gpu.index} ${gpu.name} ${percent(gpu.utilization_percent)}${gpu.temperature_celsius != null ? ` ${celsiusText(gpu.temperature_celsius)}` : ""}`,
      );
    } else {
      const withGpus = [...hud.fleet.hosts.values()].filter((host) => host.gpu_count > 0);
      const gpus = withGpus.reduce((sum, host) => sum + host.gpu_count, 0);
      const busy = withGpus.filter((host) => host.gpu_utilization_percent != null);
      const mean = busy.length
        ? busy.reduce((s, h) => s + h.gpu_utilization_percent, 0) / busy.length
        : null;
      rows = [
        t("gpus.summary", { gpus: formatNumber(gpus), hosts: formatNumber(withGpus.length) }),
        t("gpus.mean", { percent: percent(mean) }),
      ];
    }
    widget.body.replaceChildren(
      ...(rows.length ? rows : [t("gpus.none")]).map((text) => element("div", "row", text)),
    );
  };
  return widget;
}

const celsiusText = (celsius) => `${formatFixed(celsius, 0)}°C`;

// A list of the selected host's items, `perPage` at a time, with page dots.
function pagedWidget(type, titleKey, perPage, itemsOf, render, onRemove) {
  const widget = shell(type, titleKey, onRemove);
  const state = { page: 0 };
  let last = null;
  widget.update = (hud) => {
    last = hud;
    if (!hud.selectedId || !hud.detail) {
      widget.body.replaceChildren(element("div", "hint", t("widget.select_host")));
      return;
    }
    const items = itemsOf(hud.detail, hud);
    const { shown, dots } = pager(items, perPage, state, () => widget.update(last));
    widget.body.replaceChildren(...shown.map(render), dots);
  };
  return widget;
}

export function processesWidget(onRemove) {
  return pagedWidget(
    "processes",
    "widget.processes",
    3,
    (sample) => sample.top_processes ?? [],
    (process) =>
      element(
        "div",
        "row",
        t("processes.row", {
          name: process.name,
          pid: process.pid,
          cpu: `${formatFixed(process.cpu_percent, 0)}%`,
          memory: `${formatFixed(process.memory_percent, 1)}%`,
        }),
      ),
    onRemove,
  );
}

export function interfacesWidget(onRemove) {
  return pagedWidget(
    "interfaces",
    "widget.interfaces",
    2,
    (sample, hud) => {
      const rates = interfaceRates(sample, hud.detailBefore);
      return (sample.interfaces ?? []).map((iface) => ({ iface, rate: rates.get(iface.name) }));
    },
    ({ iface, rate }) => {
      const address = iface.addresses?.find((a) => a.family === "ipv4")?.address ?? "";
      const speed = iface.speed_mbps
        ? `${formatNumber(iface.speed_mbps)} Mb/s`
        : t("interfaces.speed_unknown");
      // Rates once two samples are in; until then, what the link has carried since boot.
      const traffic = rate
        ? `↑${formatBits(rate.tx)} ↓${formatBits(rate.rx)}`
        : t("interfaces.since_boot", {
            sent: formatBytes(iface.bytes_sent),
            received: formatBytes(iface.bytes_recv),
          });
      return element(
        "div",
        "row",
        `${iface.name} ${t(iface.is_up ? "interfaces.up" : "interfaces.down")} ${speed} ${address} ${traffic}`,
      );
    },
    onRemove,
  );
}

export function storageWidget(onRemove) {
  return pagedWidget(
    "storage",
    "widget.storage",
    2,
    (sample) => sample.disks ?? [],
    (disk) => {
      const row = element("div", "row disk");
      const bar = element("div", "bar");
      const fill = element("div", "fill");
      fill.style.width = `${Math.min(100, disk.used_percent)}%`;
      bar.append(fill);
      row.append(
        element(
          "span",
          "",
          t("storage.row", {
            mount: disk.mountpoint,
            percent: percent(disk.used_percent),
            total: formatBytes(disk.total_bytes),
          }),
        ),
        bar,
      );
      return row;
    },
    onRemove,
  );
}

// Open alerts, newest first; an operator acknowledges or silences one with its buttons.
export function alertsWidget(onRemove, acknowledge, silence) {
  const widget = shell("alerts", "widget.alerts", onRemove);
  widget.update = (hud) => {
    const alerts = openAlerts(hud.alerts)
      .filter((alert) => !hud.selectedId || alert.host_id === hud.selectedId)
      .sort((a, b) =>
        String(b.fired_at ?? b.timestamp).localeCompare(String(a.fired_at ?? a.timestamp)),
      );
    widget.element.dataset.count = String(alerts.length);
    if (!alerts.length) {
      widget.body.replaceChildren(element("div", "hint", t("alerts.none")));
      return;
    }
    widget.body.replaceChildren(
      ...alerts.slice(0, 20).map((alert) => {
        const row = element("div", `alert-row ${alert.severity} ${alert.state}`);
        row.dataset.alertId = alert.alert_id;
        row.dataset.state = alert.state;
        const fired = Date.parse(alert.fired_at ?? alert.timestamp);
        if (Number.isFinite(fired)) row.title = t("alerts.fired", { time: formatDateTime(fired) });
        row.append(
          element("span", "severity", tValue("severity", alert.severity)),
          element("span", "message", `${alert.host_id}: ${alert.message}`),
        );
        if (alert.state === "acknowledged") {
          row.append(
            element("span", "acked", t("alerts.acked", { by: alert.acknowledged_by ?? "" })),
          );
        } else if (hud.principal?.role !== "viewer") {
          const button = element("button", "ack", t("alerts.ack"));
          button.addEventListener("click", () => acknowledge(alert.alert_id));
          row.append(button);
        }
        if (silence && hud.principal?.role !== "viewer") {
          const button = element("button", "silence", t("admin.silence_alert"));
          button.title = t("admin.silence_alert_title");
          button.addEventListener("click", () => silence(alert));
          row.append(button);
        }
        return row;
      }),
    );
  };
  return widget;
}
