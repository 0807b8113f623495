// The host charts' bar: whose history it is, the range buttons and Reset zoom, the step the
// charts are drawn at, the hovered time (else "latest values"), and the close button.

import { formatMoment } from "./chart-format.js";
import { element } from "./dom.js";
import { RANGES } from "./history-step.js";
import { t } from "./i18n.js";

export class ChartsBar {
  constructor({ onRange, onReset, onClose }) {
    this.title = element("h2", "charts-title");
    const ranges = element("div", "charts-ranges");
    ranges.setAttribute("role", "group");
    ranges.setAttribute("aria-label", t("charts.ranges"));
    this.rangeButtons = RANGES.map((range) => {
      const button = element("button", "", t(`charts.range.${range.key}`));
      button.type = "button";
      button.dataset.range = range.key;
      button.addEventListener("click", () => onRange(range.key));
      return button;
    });
    this.reset = element("button", "charts-reset", t("charts.reset"));
    this.reset.type = "button";
    this.reset.hidden = true;
    this.reset.addEventListener("click", onReset);
    ranges.append(...this.rangeButtons, this.reset);
    this.stepNote = element("span", "charts-step");
    this.moment = element("span", "charts-moment");
    const close = element("button", "charts-close", "×");
    close.type = "button";
    close.title = t("charts.close");
    close.setAttribute("aria-label", t("charts.close"));
    close.addEventListener("click", onClose);
    this.element = element("header", "charts-bar");
    this.element.append(this.title, ranges, this.stepNote, this.moment, close);
  }

  // {hostId, range, zoom, step, hoverTime}: the current range's button marked unless zoomed.
  show({ hostId, range, zoom, step, hoverTime }) {
    this.title.textContent = t("charts.heading", { host: hostId ?? "" });
    for (const button of this.rangeButtons) {
      button.classList.toggle("current", !zoom && button.dataset.range === range);
    }
    this.reset.hidden = !zoom;
    this.stepNote.textContent = step ? t(`charts.step.${step}`) : "";
    this.moment.textContent =
      hoverTime == null ? t("charts.latest") : t("charts.at", { time: formatMoment(hoverTime) });
  }
}
