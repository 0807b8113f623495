// The alert thresholds a host's charts draw: each enabled threshold rule that watches the host
// (its scope), on the chart of its metric (the alerts service's catalogue:
// services/alerts/src/mirror_alerts/catalogue.py), in the chart's unit. Pure.

// metric -> the charts it is drawn on, given the charts there are.
const CHARTS_OF = {
  cpu_load: () => ["cpu"],
  memory_used_percent: () => ["memory"],
  swap_used_percent: () => ["memory"],
  load_average: () => ["load"],
  "disk.used_percent": () => ["disks"],
  temperature: () => ["temperatures"],
  "gpu.temperature_celsius": () => ["temperatures"],
  "gpu.utilization_percent": (ids) => ids.filter((id) => id.startsWith("gpu:")),
  "interface.utilization": (ids) => ids.filter((id) => id.startsWith("net:")),
};

// Whether a rule's scope covers the host: no host ids or the host among them, and every tag
// equal (mirror_schema.alert_rules.Scope.matches).
export function inScope(scope, host) {
  const ids = scope?.host_ids ?? [];
  if (ids.length && !ids.includes(host.host_id)) return false;
  const tags = host.tags ?? {};
  return Object.entries(scope?.tags ?? {}).every(([key, value]) => tags[key] === value);
}

// The rules of GET /api/alerts/rules ({items: [{rule, ...}]}) or a bare list of rules.
const rulesOf = (listed) =>
  (Array.isArray(listed) ? listed : (listed?.items ?? [])).map((item) => item.rule ?? item);

// chart id -> [{value, operator, ruleId, name, severity}] for `host` ({host_id, tags}).
// Interface utilization is a percent of the link's capacity: drawn in bits/s on an interface
// whose speed `linkMbps` (name -> Mbit/s) knows, left out on one whose speed is unknown.
export function thresholdsByChart(listed, host, chartIds, linkMbps = {}) {
  const out = new Map();
  if (!host) return out;
  for (const rule of rulesOf(listed)) {
    if (rule.kind !== "threshold" || rule.enabled === false) continue;
    if (!Number.isFinite(rule.threshold) || !inScope(rule.scope, host)) continue;
    const charts = CHARTS_OF[rule.metric]?.(chartIds) ?? [];
    for (const chart of charts) {
      if (!chartIds.includes(chart)) continue;
      let value = rule.threshold;
      if (rule.metric === "interface.utilization") {
        const mbps = linkMbps[chart.slice("net:".length)];
        if (!(mbps > 0)) continue;
        value = (rule.threshold / 100) * mbps * 1e6;
      }
      if (!out.has(chart)) out.set(chart, []);
      out.get(chart).push({
        value,
        operator: rule.operator,
        ruleId: rule.id,
        name: rule.name,
        severity: rule.severity ?? "warning",
      });
    }
  }
  return out;
}

// name -> Mbit/s of a host's interfaces whose speed its latest sample gives.
export function linkSpeeds(sample) {
  const speeds = {};
  for (const iface of sample?.interfaces ?? []) {
    if (iface.speed_mbps > 0) speeds[iface.name] = iface.speed_mbps;
  }
  return speeds;
}
