// The two docks on the DOM: widgets placed on their grids, moved by dragging their title bar
// (with a drop preview that says whether the spot is free), added and removed from the palette.

import {
  COLUMNS,
  FOOTPRINTS,
  ROWS,
  freeSpot,
  loadLayout,
  moved,
  saveLayout,
} from "./dock-layout.js";
import { element } from "./dom.js";
import { t } from "./i18n.js";

export class Docks {
  constructor({ left, right, palette, widgets, storage = localStorage }) {
    this.elements = { left, right };
    this.palette = palette;
    this.widgets = widgets; // type -> widget {title, element}
    this.storage = storage;
    this.layout = loadLayout(storage);
    this.drag = null;
    this.preview = element("div", "drop-preview");
    this.bindDrag();
    this.render();
  }

  render() {
    const placed = new Set();
    for (const item of this.layout) {
      const widget = this.widgets.get(item.type);
      if (!widget) continue;
      const [width, height] = FOOTPRINTS[item.type];
      const element = widget.element;
      element.style.gridColumn = `${item.col + 1} / span ${width}`;
      element.style.gridRow = `${item.row + 1} / span ${height}`;
      element.dataset.side = item.side;
      if (element.parentElement !== this.elements[item.side])
        this.elements[item.side].append(element);
      placed.add(item.type);
    }
    for (const [type, widget] of this.widgets) {
      if (!placed.has(type)) widget.element.remove();
      widget.visible = placed.has(type);
    }
    this.renderPalette();
  }

  renderPalette() {
    this.palette.replaceChildren(
      ...[...this.widgets].map(([type, widget]) => {
        const label = element("label");
        const box = element("input");
        box.type = "checkbox";
        box.checked = this.layout.some((item) => item.type === type);
        box.dataset.palette = type;
        box.addEventListener("change", () => (box.checked ? this.add(type) : this.remove(type)));
        label.append(box, ` ${widget.title}`);
        return label;
      }),
    );
  }

  add(type) {
    if (this.layout.some((item) => item.type === type)) return true;
    const spot = freeSpot(this.layout, type);
    if (!spot) {
      this.renderPalette();
      this.palette.dataset.message = t("palette.no_room", {
        widget: this.widgets.get(type)?.title ?? type,
      });
      return false;
    }
    delete this.palette.dataset.message;
    this.commit([...this.layout, spot]);
    return true;
  }

  remove(type) {
    delete this.palette.dataset.message;
    this.commit(this.layout.filter((item) => item.type !== type));
  }

  commit(layout) {
    this.layout = layout;
    saveLayout(this.storage, layout);
    this.render();
  }

  // The grid cell under a page point: {side, col, row}, or null outside both docks.
  cellAt(x, y) {
    for (const [side, dock] of Object.entries(this.elements)) {
      const rect = dock.getBoundingClientRect();
      if (x < rect.left || x >= rect.right || y < rect.top || y >= rect.bottom) continue;
      const col = Math.floor(((x - rect.left) / rect.width) * COLUMNS);
      const row = Math.floor(((y - rect.top) / rect.height) * ROWS);
      return { side, col, row };
    }
    return null;
  }

  bindDrag() {
    document.addEventListener("pointerdown", (event) => {
      const handle = event.target.closest?.(".widget-title");
      if (!handle || event.target.closest("button")) return;
      const type = handle.parentElement.dataset.widget;
      this.drag = { type, pointerId: event.pointerId, target: null };
      handle.parentElement.classList.add("dragging");
      event.preventDefault();
    });
    document.addEventListener("pointermove", (event) => {
      if (!this.drag || event.pointerId !== this.drag.pointerId) return;
      const cell = this.cellAt(event.clientX, event.clientY);
      if (!cell) {
        this.preview.remove();
        this.drag.target = null;
        return;
      }
      const [width, height] = FOOTPRINTS[this.drag.type];
      const ok = moved(this.layout, this.drag.type, cell.side, cell.col, cell.row) !== null;
      this.drag.target = ok ? cell : null;
      this.preview.style.gridColumn = `${cell.col + 1} / span ${width}`;
      this.preview.style.gridRow = `${cell.row + 1} / span ${height}`;
      this.preview.classList.toggle("blocked", !ok);
      if (this.preview.parentElement !== this.elements[cell.side])
        this.elements[cell.side].append(this.preview);
    });
    const finish = (event) => {
      if (!this.drag || event.pointerId !== this.drag.pointerId) return;
      const { type, target } = this.drag;
      this.drag = null;
      this.preview.remove();
      this.widgets.get(type)?.element.classList.remove("dragging");
      if (event.type !== "pointerup" || !target) return;
      const layout = moved(this.layout, type, target.side, target.col, target.row);
      if (layout) this.commit(layout);
    };
    document.addEventListener("pointerup", finish);
    document.addEventListener("pointercancel", finish);
  }
}
