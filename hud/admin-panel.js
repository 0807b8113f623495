// The admin panel: tabs Rules, Silences and Receivers for everyone (their changes for
// operators and admins), Users and Tokens for admins. Opened by its button in the top bar or
// the key `a`; Escape or the button again closes it. Each tab reads its list when shown.

import { button } from "./admin-ui.js";
import { element } from "./dom.js";
import { onLanguageChange, translated } from "./i18n.js";
import { tokensTab, usersTab } from "./people.js";
import { receiversTab } from "./receivers.js";
import { rulesTab } from "./rule-editor.js";
import { silencesTab } from "./silences.js";

// `topbar` gets the button (before `before`); `host` the panel. `principal` decides the tabs
// and whether they offer changes (the server decides all the same).
export function installAdminPanel({ topbar, before, host, principal }) {
  const role = principal.role;
  const canChange = role === "operator" || role === "admin";
  const tabs = [rulesTab({ canChange }), silencesTab({ canChange }), receiversTab()];
  if (role === "admin") tabs.push(usersTab({ self: principal.name }), tokensTab());

  const panel = element("section", "admin-panel");
  panel.id = "admin-panel";
  panel.hidden = true;
  panel.dataset.readonly = String(!canChange);
  translated(panel, "admin.title", "aria-label");
  const bar = element("header", "admin-bar");
  const strip = element("nav", "admin-tabs");
  strip.setAttribute("role", "tablist");
  const body = element("div", "admin-body");
  const switches = tabs.map((tab) => {
    const node = button(tab.labelKey, "admin-tab-button", () => show(tab.id));
    node.dataset.tab = tab.id;
    node.setAttribute("role", "tab");
    return node;
  });
  strip.append(...switches);
  const close = button("admin.close", "admin-close", () => toggle(false));
  translated(close, "admin.close_title", "title");
  const heading = element("h2");
  heading.append(translated(element("span"), "admin.title"));
  if (!canChange) heading.append(translated(element("span", "admin-readonly"), "admin.read_only"));
  bar.append(heading, strip, close);
  for (const tab of tabs) tab.element.hidden = true;
  body.append(...tabs.map((tab) => tab.element));
  panel.append(bar, body);
  host.append(panel);

  const opener = button("admin.button", "", () => toggle());
  opener.id = "admin-toggle";
  translated(opener, "admin.button_title", "title");
  topbar.insertBefore(opener, before);

  let current = tabs[0].id;
  function show(id) {
    current = id;
    for (const tab of tabs) tab.element.hidden = tab.id !== id;
    for (const node of switches)
      node.setAttribute("aria-selected", String(node.dataset.tab === id));
    panel.dataset.tab = id;
    tabs.find((tab) => tab.id === id)?.load();
  }
  function toggle(open = panel.hidden) {
    panel.hidden = !open;
    opener.setAttribute("aria-pressed", String(open));
    if (open) show(current);
  }

  // A language switch: the marked words change by themselves; the open tab's rows are read
  // and written again.
  onLanguageChange(() => {
    if (!panel.hidden) show(current);
  });

  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest?.("input, textarea, select, [contenteditable]");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "a") toggle();
    else if (event.key === "Escape" && !panel.hidden && !document.querySelector(".admin-dialog")) {
      toggle(false);
    }
  });
  return {
    open(id = current) {
      current = id;
      toggle(true);
    },
    close: () => toggle(false),
  };
}
