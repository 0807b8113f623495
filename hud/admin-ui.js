// The admin panel's building blocks: buttons, labelled fields, tables, the line that says
// what went wrong, a secret shown once, and a button that asks to be pressed twice.

import { errorText } from "./api.js";
import { element } from "./dom.js";
import { formatDateTime, t, translated } from "./i18n.js";

const ARMED_MS = 4000;

export function button(labelKey, className, onClick) {
  // Marked with its key, so that a language switch relabels it (i18n.js translatePage).
  const node = translated(element("button", className), labelKey);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

// An input named `name` (its id "<prefix>-<name>" when a prefix is given, for the tests).
export function input(name, value = "", { type = "text", prefix = "", placeholder = "" } = {}) {
  const node = element("input");
  node.type = type;
  node.name = name;
  node.value = value;
  node.autocomplete = "off";
  node.spellcheck = false;
  if (prefix) node.id = `${prefix}-${name}`;
  if (placeholder) node.placeholder = placeholder;
  return node;
}

// A <select> of `values`, each shown as label(value).
export function select(name, values, value, { prefix = "", label = (v) => v } = {}) {
  const node = element("select");
  node.name = name;
  if (prefix) node.id = `${prefix}-${name}`;
  for (const option of values) node.append(new Option(label(option), option));
  node.value = value;
  return node;
}

// `control` with its label above it.
export function field(labelKey, control, className = "admin-field") {
  const label = element("label", className);
  label.append(translated(element("span", "admin-label"), labelKey), control);
  return label;
}

export const when = (iso) => (iso ? formatDateTime(new Date(iso)) : t("admin.never"));

// A table with a head of translated titles and `rows` (arrays of cells: text or nodes).
export function table(headKeys, rows, className = "admin-table") {
  const node = element("table", className);
  const head = element("tr");
  head.append(...headKeys.map((key) => (key ? translated(element("th"), key) : element("th"))));
  const thead = element("thead");
  thead.append(head);
  const body = element("tbody");
  for (const row of rows) body.append(row);
  node.append(thead, body);
  return node;
}

// One table row; `cells` are text or nodes; the row carries `data` as data-* attributes.
export function row(cells, data = {}) {
  const node = element("tr");
  Object.assign(node.dataset, data);
  for (const cell of cells) {
    const td = element("td");
    if (cell instanceof Node) td.append(cell);
    else td.textContent = cell == null ? "" : String(cell);
    node.append(td);
  }
  return node;
}

// The line under a form or a list: what went wrong (red) or what was done.
export function messageLine(className = "admin-message") {
  const node = element("p", className);
  node.setAttribute("role", "status");
  node.show = (text, kind = "error") => {
    node.textContent = text;
    node.dataset.kind = kind;
  };
  node.clear = () => node.show("", "");
  return node;
}

// Run `work`; a failure is said on `line` (the server's detail names the field).
export async function attempt(line, work) {
  try {
    line.clear();
    return await work();
  } catch (error) {
    line.show(errorText(error));
    return undefined;
  }
}

// A secret (a one-time password, a token) shown this once, selected for copying.
export function secretBox(noteKey, params, secret) {
  const box = element("div", "admin-secret");
  const value = input("secret", secret);
  value.readOnly = true;
  value.dataset.secret = "";
  value.addEventListener("focus", () => value.select());
  box.append(element("p", "", t(noteKey, params)), value);
  return box;
}

// A button that runs `action` on its second press within a few seconds (the first arms it:
// removing a rule or a user is not undone).
export function twoStep(labelKey, confirmKey, className, action) {
  let armed = null;
  const node = button(labelKey, className, () => {
    if (armed === null) {
      node.textContent = t(confirmKey);
      node.dataset.armed = "true";
      armed = setTimeout(disarm, ARMED_MS);
      return;
    }
    disarm();
    action();
  });
  function disarm() {
    clearTimeout(armed);
    armed = null;
    node.textContent = t(labelKey);
    delete node.dataset.armed;
  }
  return node;
}
