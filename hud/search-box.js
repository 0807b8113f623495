// The header's search: `/` focuses it; matches are listed as the operator types (search.js);
// arrows move through them, Enter or a click chooses one, Escape leaves.

import { element } from "./dom.js";
import { tValue } from "./i18n.js";
import { searchHosts } from "./search.js";

const SHOWN = 12;

export function searchBox({ input, list, fleet, choose }) {
  let matches = [];
  let active = 0;

  function render() {
    list.hidden = matches.length === 0;
    list.replaceChildren(
      ...matches.map(({ host, why }, index) => {
        const item = element("li", index === active ? "active" : "", "");
        item.setAttribute("role", "option");
        item.dataset.host = host.host_id;
        item.append(
          element("span", "match-id", host.host_id),
          element("span", `match-status status-${host.status}`, tValue("status", host.status)),
          // The field that matched (a tag is shown as it is: key=value).
          element("span", "match-why", why === "host_id" ? "" : tValue("search.field", why)),
        );
        item.addEventListener("mousedown", (event) => {
          event.preventDefault(); // keep the focus until chosen
          pick(host.host_id);
        });
        return item;
      }),
    );
  }

  function update() {
    matches = searchHosts(fleet.hosts.values(), input.value, SHOWN);
    active = 0;
    render();
  }

  function pick(hostId) {
    matches = [];
    render();
    input.value = "";
    input.blur();
    choose(hostId);
  }

  input.addEventListener("input", update);
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!matches.length) return;
      active = (active + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
      render();
    } else if (event.key === "Enter" && matches.length) {
      event.preventDefault();
      pick(matches[active].host.host_id);
    } else if (event.key === "Escape") {
      input.value = "";
      update();
      input.blur();
    }
  });
  input.addEventListener("blur", () => {
    matches = [];
    render();
  });
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest?.("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      input.focus();
    }
  });
}
