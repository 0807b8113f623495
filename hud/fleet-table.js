// The fleet table: every host in rows, sorted by a column (click its head; again reverses),
// filtered by status, layer and text. Only the rows in view are in the page (a fixed row
// height, the rest stood in for by the scroll height), so 10,000 hosts scroll smoothly. A
// row pressed is the stage's selection; the selected host's row is marked. While the pointer
// is over the rows they keep their order (their figures still change), and a row is chosen
// on the press, not the click: rows redrawn between press and release would lose the click.

import { element } from "./dom.js";
import { COLUMNS, fleetRows, keptOrder, netRate } from "./fleet-rows.js";
import { formatBits, formatFixed } from "./format.js";
import { formatNumber, t, tValue, translated } from "./i18n.js";

export const ROW_HEIGHT = 22;
const OVERSCAN = 8;

function cell(host, key) {
  if (key === "host_id") return host.host_id;
  if (key === "status") return tValue("status", host.status);
  if (key === "layer") return host.layer == null ? "" : `L${host.layer}`;
  if (key === "net") {
    const rate = netRate(host);
    return rate == null ? "" : formatBits(rate);
  }
  const value = host[key];
  if (value == null) return "";
  return key === "active_alerts" ? formatNumber(value) : formatFixed(value, 1);
}

export class FleetTable {
  constructor(root, { fleet, choose, selected }) {
    this.root = root;
    this.fleet = fleet;
    this.choose = choose;
    this.selected = selected; // () => the selected host id
    this.options = { sort: "host_id", descending: false, status: "", layer: 0, text: "" };
    this.rows = [];
    this.shownVersion = -1;
    this.holding = false; // the pointer is over the rows: they keep their order
    this.build();
  }

  build() {
    const text = translated(element("input"), "table.filter", "placeholder");
    text.type = "search";
    text.id = "table-text";
    text.addEventListener("input", () => this.filter({ text: text.value }));
    const status = element("select");
    status.id = "table-status";
    for (const value of ["", "online", "stale", "offline"]) {
      status.append(
        translated(new Option("", value), value ? `status.${value}` : "table.any_status"),
      );
    }
    status.addEventListener("change", () => this.filter({ status: status.value }));
    const layer = element("select");
    layer.id = "table-layer";
    for (const value of [0, 1, 2, 3, 4, 5, 6, 7]) {
      const option = new Option(`L${value}`, String(value));
      layer.append(value ? option : translated(option, "table.any_layer"));
    }
    layer.addEventListener("change", () => this.filter({ layer: Number(layer.value) }));
    this.count = element("span", "table-count");
    this.head = element("div", "table-row table-head");
    this.head.setAttribute("role", "row");
    this.heads = COLUMNS.map((column) => {
      const button = translated(element("button"), `table.column.${column.key}`);
      button.type = "button";
      button.dataset.sort = column.key;
      button.addEventListener("click", () => this.sortBy(column.key));
      return button;
    });
    this.head.append(...this.heads);
    this.body = element("div", "table-body");
    this.spacer = element("div", "table-spacer");
    this.window = element("div", "table-window");
    this.spacer.append(this.window);
    this.body.append(this.spacer);
    this.body.addEventListener("scroll", () => this.renderWindow());
    this.body.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      const row = event.target.closest(".table-row[data-host]");
      if (row) this.choose(row.dataset.host);
    });
    this.body.addEventListener("pointerenter", () => {
      this.holding = true;
    });
    this.body.addEventListener("pointerleave", () => {
      this.holding = false;
      this.update(true);
    });
    const filters = element("div", "table-filters");
    filters.append(text, status, layer, this.count);
    this.root.replaceChildren(filters, this.head, this.body);
  }

  get visible() {
    return !this.root.hidden;
  }

  toggle() {
    this.root.hidden = !this.root.hidden;
    this.update(true);
  }

  filter(changes) {
    Object.assign(this.options, changes);
    this.update(true);
  }

  sortBy(key) {
    const again = this.options.sort === key;
    this.options.sort = key;
    // A column of numbers starts with the highest: the busiest hosts first.
    this.options.descending = again ? !this.options.descending : key !== "host_id";
    this.update(true);
  }

  // Rebuild the rows when the fleet changed (or `force`), then draw the rows in view.
  update(force = false) {
    if (!this.visible) return;
    if (force || this.shownVersion !== this.fleet.version) {
      this.shownVersion = this.fleet.version;
      const fresh = fleetRows(this.fleet.hosts.values(), this.options);
      this.rows = this.holding && !force ? keptOrder(this.rows, fresh) : fresh;
      this.spacer.style.height = `${this.rows.length * ROW_HEIGHT}px`;
      this.count.textContent = t("table.count", {
        shown: formatNumber(this.rows.length),
        total: formatNumber(this.fleet.hosts.size),
      });
      for (const button of this.heads) {
        const sorted = button.dataset.sort === this.options.sort;
        button.classList.toggle("sorted", sorted);
        button.dataset.direction = sorted ? (this.options.descending ? "down" : "up") : "";
      }
    }
    this.renderWindow();
  }

  renderWindow() {
    const first = Math.max(0, Math.floor(this.body.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const shown = Math.ceil(this.body.clientHeight / ROW_HEIGHT) + 2 * OVERSCAN;
    const selected = this.selected();
    this.window.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    this.window.replaceChildren(
      ...this.rows.slice(first, first + shown).map((host) => {
        const row = element("div", host.host_id === selected ? "table-row selected" : "table-row");
        row.dataset.host = host.host_id;
        row.setAttribute("role", "row");
        row.append(
          ...COLUMNS.map((column) =>
            element("span", `cell-${column.key} status-${host.status}`, cell(host, column.key)),
          ),
        );
        return row;
      }),
    );
  }
}
