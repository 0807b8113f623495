// The admin panel's Rules tab: every rule listed; an operator creates, edits and deletes them
// in an editor that previews, as they type (debounced), the hosts the rule would fire for now.
// A viewer sees the list alone.

import * as api from "./api.js";
import {
  attempt,
  button,
  field,
  input,
  messageLine,
  row,
  select,
  table,
  twoStep,
  when,
} from "./admin-ui.js";
import { element } from "./dom.js";
import { formatNumber, t, translated } from "./i18n.js";
import {
  KINDS,
  METRICS,
  OPERATORS,
  SEVERITIES,
  blankFields,
  conditionText,
  debounce,
  fieldsFromRule,
  ruleFromFields,
  scopeText,
} from "./rule-form.js";

const PREVIEW_WAIT_MS = 350;
const PREVIEW_SHOWN = 30; // hosts listed in the preview; its counts cover them all

export function rulesTab({ canChange }) {
  const root = element("div", "admin-tab");
  root.dataset.tab = "rules";
  const line = messageLine();
  const list = element("div", "admin-list");
  const editor = element("div", "rule-editor");
  editor.hidden = true;
  const tools = element("div", "admin-tools");
  if (canChange) {
    const create = button("admin.rules.new", "rule-new", () => openEditor(null));
    create.dataset.action = "new-rule";
    tools.append(create);
  }
  root.append(tools, line, list, editor);

  async function load() {
    const found = await attempt(line, () => api.listRules());
    if (!found) return;
    const rows = found.items.map((record) => ruleRow(record));
    list.replaceChildren(
      rows.length
        ? table(
            [
              "admin.rules.id",
              "admin.rules.name",
              "admin.rules.condition",
              "admin.rules.scope",
              "admin.rules.severity",
              "admin.rules.enabled",
              "admin.rules.updated",
              "",
            ],
            rows,
          )
        : element("p", "hint", t("admin.rules.none")),
    );
  }

  function ruleRow(record) {
    const { rule } = record;
    const actions = element("span", "admin-actions");
    if (canChange) {
      const edit = button("admin.rules.edit", "rule-edit", () => openEditor(record));
      const remove = twoStep(
        "admin.rules.delete",
        "admin.rules.delete_confirm",
        "rule-delete",
        () =>
          attempt(line, async () => {
            await api.deleteRule(rule.id);
            line.show(t("admin.rules.deleted", { id: rule.id }), "done");
            await load();
          }),
      );
      actions.append(edit, remove);
    }
    const updated = `${record.updated_by} · ${when(record.updated_at)}`;
    return row(
      [
        rule.id,
        rule.name,
        conditionText(rule),
        scopeText(rule.scope) || t("admin.rules.every_host"),
        t(`admin.severity.${rule.severity}`),
        rule.enabled ? t("admin.rules.yes") : t("admin.rules.no"),
        updated,
        actions,
      ],
      { rule: rule.id },
    );
  }

  function openEditor(record) {
    const form = ruleForm(record, {
      onSaved: async (saved) => {
        editor.hidden = true;
        list.hidden = false;
        tools.hidden = false;
        line.show(t("admin.rules.saved", { id: saved.rule.id }), "done");
        await load();
      },
      onCancel: () => {
        editor.hidden = true;
        list.hidden = false;
        tools.hidden = false;
      },
    });
    editor.replaceChildren(form);
    editor.hidden = false;
    list.hidden = true;
    tools.hidden = true;
    form.querySelector("input:not([readonly]), select")?.focus();
  }

  return { id: "rules", labelKey: "admin.tab.rules", element: root, load };
}

// The editor of one rule (`record` null: a new one), its live preview beside it.
function ruleForm(record, { onSaved, onCancel }) {
  const editing = record !== null;
  const start = editing ? fieldsFromRule(record.rule) : blankFields();
  const form = element("form", "rule-form");
  form.noValidate = true;
  const prefix = "rule";
  const controls = {
    kind: select("kind", KINDS, start.kind, { prefix, label: (k) => t(`admin.rules.kind.${k}`) }),
    id: input("id", start.id, { prefix, placeholder: "cpu-high-web" }),
    name: input("name", start.name, { prefix, placeholder: t("admin.rules.name_placeholder") }),
    metric: select("metric", METRICS, start.metric, { prefix }),
    operator: select("operator", OPERATORS, start.operator, { prefix }),
    threshold: input("threshold", start.threshold, { prefix, type: "text" }),
    clear_threshold: input("clear_threshold", start.clear_threshold, { prefix }),
    for_seconds: input("for_seconds", start.for_seconds, { prefix }),
    after_intervals: input("after_intervals", start.after_intervals, { prefix }),
    severity: select("severity", SEVERITIES, start.severity, {
      prefix,
      label: (s) => t(`admin.severity.${s}`),
    }),
    host_ids: input("host_ids", start.host_ids, { prefix, placeholder: "web-1, web-2" }),
    tags: input("tags", start.tags, { prefix, placeholder: "tier=web, env=prod" }),
    enabled: input("enabled", "", { prefix, type: "checkbox" }),
  };
  controls.enabled.checked = start.enabled;
  if (editing) controls.id.readOnly = true;
  const thresholdOnly = element("div", "rule-fields");
  thresholdOnly.append(
    field("admin.rules.metric", controls.metric),
    field("admin.rules.operator", controls.operator),
    field("admin.rules.threshold", controls.threshold),
    field("admin.rules.clear_threshold", controls.clear_threshold),
    field("admin.rules.for_seconds", controls.for_seconds),
  );
  const offlineOnly = element("div", "rule-fields");
  offlineOnly.append(field("admin.rules.after_intervals", controls.after_intervals));
  const common = element("div", "rule-fields");
  common.append(
    field("admin.rules.kind", controls.kind),
    field("admin.rules.id", controls.id),
    field("admin.rules.name", controls.name),
    field("admin.rules.severity", controls.severity),
  );
  const scope = element("div", "rule-fields");
  scope.append(
    field("admin.rules.host_ids", controls.host_ids),
    field("admin.rules.tags", controls.tags),
    field("admin.rules.enabled", controls.enabled, "admin-field admin-check"),
  );
  const line = messageLine();
  const save = translated(
    element("button", "rule-save"),
    editing ? "admin.rules.save" : "admin.rules.create",
  );
  save.type = "submit";
  const cancel = button("admin.rules.cancel", "rule-cancel", onCancel);
  const actions = element("div", "admin-tools");
  actions.append(save, cancel);
  const preview = element("section", "rule-preview");
  preview.setAttribute("aria-live", "polite");
  const fields = element("div", "rule-form-fields");
  fields.append(
    element(
      "h3",
      "",
      t(editing ? "admin.rules.editing" : "admin.rules.creating", { id: start.id }),
    ),
    common,
    thresholdOnly,
    offlineOnly,
    scope,
    line,
    actions,
  );
  form.append(fields, preview);

  const read = () => ({
    ...Object.fromEntries(
      Object.entries(controls)
        .filter(([name]) => name !== "enabled")
        .map(([name, node]) => [name, node.value]),
    ),
    enabled: controls.enabled.checked,
  });
  const showKind = () => {
    const offline = controls.kind.value === "offline";
    thresholdOnly.hidden = offline;
    offlineOnly.hidden = !offline;
  };
  let asked = 0;
  const refresh = debounce(async () => {
    const mine = (asked += 1);
    preview.dataset.state = "asking";
    try {
      const found = await api.previewRule(ruleFromFields(read()));
      if (mine === asked) showPreview(preview, found);
    } catch (error) {
      if (mine !== asked) return;
      preview.dataset.state = "refused";
      preview.replaceChildren(
        element("h4", "", t("admin.rules.preview_title")),
        element("p", "admin-message", api.errorText(error)),
      );
    }
  }, PREVIEW_WAIT_MS);
  form.addEventListener("input", () => {
    showKind();
    refresh();
  });
  form.addEventListener("change", () => {
    showKind();
    refresh();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const rule = ruleFromFields(read());
    const saved = await attempt(line, () =>
      editing ? api.updateRule(start.id, rule) : api.createRule(rule),
    );
    if (saved) {
      refresh.cancel();
      onSaved(saved);
    }
  });
  showKind();
  refresh();
  return form;
}

// The preview's answer: how many hosts would fire, and which (with the figure that would).
function showPreview(node, found) {
  node.dataset.state = "shown";
  const matches = found.matches.slice(0, PREVIEW_SHOWN);
  const hosts = element("ul", "preview-hosts");
  for (const match of matches) {
    const item = element("li");
    item.dataset.host = match.host_id;
    const where = match.resource ? `${match.host_id} ${match.resource}` : match.host_id;
    item.append(
      element("span", "preview-host", where),
      element("span", "preview-value", formatNumber(match.value, { maximumFractionDigits: 1 })),
    );
    hosts.append(item);
  }
  const summary = t("admin.rules.preview_summary", {
    matching: formatNumber(found.hosts_matching),
    scope: formatNumber(found.hosts_in_scope),
  });
  const parts = [
    element("h4", "", t("admin.rules.preview_title")),
    element("p", "", summary),
    hosts,
  ];
  const more = found.hosts_matching - new Set(matches.map((m) => m.host_id)).size;
  if (more > 0) parts.push(element("p", "hint", t("admin.rules.preview_more", { count: more })));
  if (found.hosts_without_reading > 0) {
    const count = formatNumber(found.hosts_without_reading);
    parts.push(element("p", "hint", t("admin.rules.preview_no_reading", { count })));
  }
  node.dataset.matching = String(found.hosts_matching);
  node.replaceChildren(...parts);
}
