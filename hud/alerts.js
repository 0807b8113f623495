// The alerts the page holds, a Map by alert id: loaded once, kept current by the socket's
// alert events, acknowledged by an operator; and each host's count of them on the fleet.

import * as api from "./api.js";
import { t } from "./i18n.js";
import { toastError } from "./toast.js";

export const MAX_ALERTS = 2000; // kept on the page; the alerts service holds the rest

// An operator's acknowledgement, merged into `alerts` once the service took it; then
// onChange(). A failure is toasted.
export async function acknowledge(alerts, alertId, onChange) {
  try {
    const alert = await api.acknowledgeAlert(alertId);
    alerts.set(alert.alert_id, { ...alerts.get(alertId), ...alert });
    onChange();
  } catch (error) {
    toastError(t("toast.acknowledge"), error);
  }
}

// Events that arrived while a reload was asking the alerts service (null when none is): they
// are applied again on top of its answer, so none is lost to the reload.
let arrivedDuringReload = null;

// The active alerts from the alerts service, in place of what `alerts` holds, with the events
// that arrived while it answered applied on top, in order; then onChange(). At the start, and
// after a gap on the socket (a resync or a reconnect): whatever fired or resolved meanwhile
// came on no socket. A failure is toasted.
export async function loadActiveAlerts(alerts, onChange) {
  arrivedDuringReload = [];
  try {
    const { items } = await api.activeAlerts();
    const arrived = arrivedDuringReload;
    arrivedDuringReload = null;
    alerts.clear();
    for (const alert of items) alerts.set(alert.alert_id, alert);
    for (const event of arrived) applyAlertEvent(alerts, event);
    onChange();
  } catch (error) {
    toastError(t("toast.alerts"), error);
  } finally {
    arrivedDuringReload = null;
  }
}

// An alert event from the socket: a resolved alert leaves, any other is merged into what is
// held; past MAX_ALERTS the oldest held goes.
export function applyAlertEvent(alerts, event) {
  arrivedDuringReload?.push(event);
  if (event.state === "resolved") alerts.delete(event.alert_id);
  else alerts.set(event.alert_id, { ...alerts.get(event.alert_id), ...event });
  if (alerts.size > MAX_ALERTS) alerts.delete(alerts.keys().next().value);
}

export function openAlerts(alerts) {
  return [...alerts.values()].filter((alert) => alert.state !== "resolved");
}

// Each host's count of open alerts, onto the fleet (the stage draws them as badges).
export function countAlertsOnHosts(alerts, fleet) {
  const counts = new Map();
  for (const alert of openAlerts(alerts)) {
    counts.set(alert.host_id, (counts.get(alert.host_id) ?? 0) + 1);
  }
  for (const hostId of fleet.hosts.keys()) fleet.setAlertCount(hostId, counts.get(hostId) ?? 0);
}
