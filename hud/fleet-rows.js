// The fleet table's rows: every host as the twin holds it, filtered and sorted (pure; the
// table's DOM is fleet-table.js).

import { searchHosts } from "./search.js";

const STATUS_ORDER = { offline: 0, stale: 1, online: 2 };

// The columns, in order: what each shows (its head is the catalogue's table.column.<key>)
// and how it sorts (numbers; a host without a reading sorts last whichever the direction).
export const COLUMNS = [
  { key: "host_id", text: true },
  { key: "status", value: (h) => STATUS_ORDER[h.status] ?? -1 },
  { key: "layer", value: (h) => h.layer },
  { key: "cpu_load", value: (h) => h.cpu_load },
  { key: "memory_used_percent", value: (h) => h.memory_used_percent },
  { key: "disk_used_percent", value: (h) => h.disk_used_percent },
  { key: "net", value: netRate },
  { key: "active_alerts", value: (h) => h.active_alerts },
];

export function netRate(host) {
  const tx = host.net_tx_bits_per_s;
  const rx = host.net_rx_bits_per_s;
  return tx == null && rx == null ? null : (tx ?? 0) + (rx ?? 0);
}

function compare(column, descending) {
  const sign = descending ? -1 : 1;
  if (column.text) {
    return (a, b) => sign * a[column.key].localeCompare(b[column.key]);
  }
  return (a, b) => {
    const x = column.value(a);
    const y = column.value(b);
    if (x == null || y == null) {
      return (x == null) - (y == null) || a.host_id.localeCompare(b.host_id);
    }
    return sign * (x - y) || a.host_id.localeCompare(b.host_id);
  };
}

// The rows for `hosts` (HostViews): those matching every filter given (`status`, `layer`, and
// `text` as the search box reads it), sorted by `sort` (a column key).
export function fleetRows(hosts, { sort = "host_id", descending = false, status, layer, text }) {
  let rows = [...hosts];
  if (status) rows = rows.filter((host) => host.status === status);
  if (layer) rows = rows.filter((host) => host.layer === layer);
  if (text && text.trim()) {
    const matching = new Set(
      searchHosts(rows, text, rows.length).map((match) => match.host.host_id),
    );
    rows = rows.filter((host) => matching.has(host.host_id));
  }
  const column = COLUMNS.find((c) => c.key === sort) ?? COLUMNS[0];
  return rows.sort(compare(column, descending));
}

// `fresh` (rows as fleetRows gives them) in the order of `shown` (the rows on screen): a row
// still there keeps its place, a new one goes last. What the table shows while the pointer
// is over it, so that a row does not move from under a click as the load changes.
export function keptOrder(shown, fresh) {
  const byId = new Map(fresh.map((host) => [host.host_id, host]));
  const kept = [];
  for (const host of shown) {
    const now = byId.get(host.host_id);
    if (now === undefined) continue;
    kept.push(now);
    byId.delete(host.host_id);
  }
  return kept.concat([...byId.values()]);
}
