// The admin panel's Receivers tab: where notifications go (without the secrets of their URLs
// and headers) and how each one's last delivery ended. Read-only for every role: receivers
// are configured in the alerts service's receivers file.

import * as api from "./api.js";
import { attempt, messageLine, row, table, when } from "./admin-ui.js";
import { element } from "./dom.js";
import { t } from "./i18n.js";
import { tagsText } from "./rule-form.js";

export function receiversTab() {
  const root = element("div", "admin-tab");
  root.dataset.tab = "receivers";
  const line = messageLine();
  const list = element("div", "admin-list");
  root.append(element("p", "hint", t("admin.receivers.about")), line, list);

  async function load() {
    const found = await attempt(line, () => api.listReceivers());
    if (!found) return;
    const rows = found.items.map((receiver) =>
      row(
        [
          receiver.name,
          receiver.format,
          receiver.destination,
          wants(receiver),
          lastDelivery(receiver.last_delivery),
        ],
        { receiver: receiver.name, outcome: receiver.last_delivery?.outcome ?? "none" },
      ),
    );
    list.replaceChildren(
      rows.length
        ? table(
            [
              "admin.receivers.name",
              "admin.receivers.format",
              "admin.receivers.destination",
              "admin.receivers.wants",
              "admin.receivers.last",
            ],
            rows,
          )
        : element("p", "hint", t("admin.receivers.none")),
    );
  }

  return { id: "receivers", labelKey: "admin.tab.receivers", element: root, load };
}

function wants(receiver) {
  const parts = [];
  parts.push(
    receiver.severities.length
      ? receiver.severities.map((s) => t(`admin.severity.${s}`)).join(", ")
      : t("admin.receivers.any_severity"),
  );
  if (Object.keys(receiver.tags).length) parts.push(tagsText(receiver.tags));
  if (!receiver.send_resolved) parts.push(t("admin.receivers.no_resolved"));
  return parts.join(" · ");
}

function lastDelivery(delivery) {
  const node = element("span", "delivery");
  if (!delivery) {
    node.textContent = t("admin.receivers.never");
    return node;
  }
  node.dataset.outcome = delivery.outcome;
  const detail = [
    delivery.status != null ? `HTTP ${delivery.status}` : "",
    delivery.error ?? "",
    t("admin.receivers.attempts", { count: delivery.attempts }),
  ]
    .filter(Boolean)
    .join(", ");
  node.textContent = t("admin.receivers.delivery", {
    outcome: t(`admin.receivers.outcome.${delivery.outcome}`),
    at: when(delivery.at),
    detail,
    what: `${delivery.rule_id} · ${delivery.host_id}`,
  });
  return node;
}
