// Silences: the admin panel's Silences tab (those in force or to come; an operator expires
// them or makes a new one), and the dialog that makes one, for a duration (15m, 1h, 4h, 1d or
// typed), from the tab, from an alert (its host and rule) or from the selected host.

import * as api from "./api.js";
import {
  attempt,
  button,
  field,
  input,
  messageLine,
  row,
  table,
  twoStep,
  when,
} from "./admin-ui.js";
import { element } from "./dom.js";
import { t } from "./i18n.js";
import { SILENCE_PRESETS, parseDuration, scopeText, splitList } from "./rule-form.js";
import { toast } from "./toast.js";

export function silencesTab({ canChange }) {
  const root = element("div", "admin-tab");
  root.dataset.tab = "silences";
  const line = messageLine();
  const list = element("div", "admin-list");
  const tools = element("div", "admin-tools");
  if (canChange) {
    const create = button("admin.silences.new", "silence-new", () =>
      openSilenceDialog({ matchers: {}, onCreated: load }),
    );
    tools.append(create);
  }
  root.append(tools, line, list);

  async function load() {
    const found = await attempt(line, () => api.listSilences());
    if (!found) return;
    const rows = found.items.map((silence) => {
      const actions = element("span", "admin-actions");
      if (canChange) {
        actions.append(
          twoStep("admin.silences.expire", "admin.silences.expire_confirm", "silence-expire", () =>
            attempt(line, async () => {
              await api.expireSilence(silence.id);
              line.show(t("admin.silences.expired"), "done");
              await load();
            }),
          ),
        );
      }
      return row(
        [
          matchersText(silence.matchers),
          when(silence.starts_at),
          when(silence.ends_at),
          silence.created_by,
          silence.comment,
          actions,
        ],
        { silence: silence.id },
      );
    });
    list.replaceChildren(
      rows.length
        ? table(
            [
              "admin.silences.matches",
              "admin.silences.starts",
              "admin.silences.ends",
              "admin.silences.by",
              "admin.silences.comment",
              "",
            ],
            rows,
          )
        : element("p", "hint", t("admin.silences.none")),
    );
  }

  return { id: "silences", labelKey: "admin.tab.silences", element: root, load };
}

// Which alerts a silence covers, in one line.
export function matchersText(matchers) {
  const parts = [];
  const hosts = scopeText({ host_ids: matchers.host_ids, tags: matchers.tags });
  if (hosts) parts.push(hosts);
  if (matchers.rule_ids?.length)
    parts.push(t("admin.silences.rules", { ids: matchers.rule_ids.join(", ") }));
  if (matchers.severities?.length) {
    parts.push(matchers.severities.map((s) => t(`admin.severity.${s}`)).join(", "));
  }
  return parts.join(" · ");
}

// The dialog making a silence of `matchers` (host_ids and rule_ids, editable); onCreated()
// once the service took it.
export function openSilenceDialog({ matchers, onCreated = () => undefined }) {
  document.querySelector(".silence-dialog")?.remove();
  const dialog = element("form", "silence-dialog admin-dialog");
  dialog.setAttribute("role", "dialog");
  dialog.setAttribute("aria-label", t("admin.silences.dialog_title"));
  dialog.noValidate = true;
  const prefix = "silence";
  const hosts = input("hosts", (matchers.host_ids ?? []).join(", "), { prefix });
  const rules = input("rules", (matchers.rule_ids ?? []).join(", "), { prefix });
  const comment = input("comment", "", { prefix, placeholder: t("admin.silences.comment_hint") });
  const custom = input("custom", "", { prefix, placeholder: "2h30m" });
  let seconds = SILENCE_PRESETS[1][1];
  const presets = element("div", "silence-presets");
  presets.setAttribute("role", "radiogroup");
  const choose = (chosen, node) => {
    seconds = chosen;
    for (const other of presets.children) other.setAttribute("aria-checked", "false");
    node?.setAttribute("aria-checked", "true");
  };
  for (const [label, value] of SILENCE_PRESETS) {
    const preset = button(`admin.silences.preset.${label}`, "silence-preset", () => {
      custom.value = "";
      choose(value, preset);
    });
    preset.dataset.duration = label;
    preset.setAttribute("role", "radio");
    preset.setAttribute("aria-checked", String(value === seconds));
    presets.append(preset);
  }
  custom.addEventListener("input", () => choose(parseDuration(custom.value), null));
  const line = messageLine();
  const create = element("button", "silence-create", t("admin.silences.create"));
  create.type = "submit";
  const close = () => {
    dialog.remove();
    document.removeEventListener("keydown", onKey);
  };
  const onKey = (event) => event.key === "Escape" && close();
  document.addEventListener("keydown", onKey);
  const tools = element("div", "admin-tools");
  tools.append(create, button("admin.silences.cancel", "silence-cancel", close));
  dialog.append(
    element("h3", "", t("admin.silences.dialog_title")),
    field("admin.silences.hosts", hosts),
    field("admin.silences.rule_ids", rules),
    field("admin.silences.duration", presets),
    field("admin.silences.custom", custom),
    field("admin.silences.comment", comment),
    line,
    tools,
  );
  dialog.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (seconds == null) {
      line.show(t("admin.silences.bad_duration"));
      return;
    }
    const body = {
      matchers: { host_ids: splitList(hosts.value), rule_ids: splitList(rules.value) },
      duration_seconds: seconds,
      comment: comment.value.trim(),
    };
    const made = await attempt(line, () => api.createSilence(body));
    if (!made) return;
    close();
    toast(
      t("admin.silences.created", { what: matchersText(made.matchers), until: when(made.ends_at) }),
    );
    onCreated(made);
  });
  document.querySelector("#app").append(dialog);
  (hosts.value ? comment : hosts).focus();
  return dialog;
}
