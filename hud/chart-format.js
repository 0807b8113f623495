// How the charts write values and times: in the chosen locale (hud/i18n.js), per unit, and
// time axis labels that say as much as the span needs (hours within a day, days beyond).

import { formatBits } from "./format.js";
import { formatDateTime, formatNumber } from "./i18n.js";

const DAY = 86_400_000;

// (value, short) -> text, for a chart's unit; `short` is for the axis, where room is scarce.
export function valueFormatter(unit) {
  switch (unit) {
    case "percent":
      return (v, short) => `${formatNumber(v, { maximumFractionDigits: short ? 0 : 1 })}%`;
    case "celsius":
      return (v, short) => `${formatNumber(v, { maximumFractionDigits: short ? 0 : 1 })} °C`;
    case "bits":
      return (v) => formatBits(v);
    default:
      return (v, short) => formatNumber(v, { maximumFractionDigits: short ? 1 : 2 });
  }
}

// (ms, tick step) -> an axis label for a time axis spanning `spanMs`.
export function timeFormatter(spanMs) {
  return (ms, step) => {
    const date = new Date(ms);
    if (step >= DAY) return formatDateTime(date, { month: "short", day: "numeric" });
    if (spanMs > DAY) {
      return formatDateTime(date, {
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "2-digit",
      });
    }
    return formatDateTime(date, { hour: "numeric", minute: "2-digit" });
  };
}

// The hovered time, in full.
export const formatMoment = (ms) => formatDateTime(new Date(ms));
