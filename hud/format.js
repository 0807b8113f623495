// Numbers as the HUD shows them: bytes, bits per second, percentages, durations, in the
// page's locale (i18n.js); the unit symbols (B, GiB, b/s, %) are the same in every language.

import { formatNumber, t } from "./i18n.js";

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const BIT_RATE_UNITS = ["b/s", "kb/s", "Mb/s", "Gb/s", "Tb/s"];

// `amount` in the largest of `units` (each `step` times the one before) it reaches.
function scale(amount, step, units) {
  let value = amount;
  let unit = 0;
  while (value >= step && unit < units.length - 1) {
    value /= step;
    unit += 1;
  }
  return { value, unit };
}

// `value` with exactly `digits` decimals, in the locale.
export const formatFixed = (value, digits) =>
  formatNumber(value, { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function formatBytes(bytes) {
  if (bytes == null) return "?";
  const { value, unit } = scale(bytes, 1024, BYTE_UNITS);
  return `${formatFixed(value, value < 10 && unit > 0 ? 1 : 0)} ${BYTE_UNITS[unit]}`;
}

export function formatBits(bitsPerSecond) {
  if (bitsPerSecond == null) return "?";
  const { value, unit } = scale(bitsPerSecond, 1000, BIT_RATE_UNITS);
  return `${formatFixed(value, value < 10 ? 1 : 0)} ${BIT_RATE_UNITS[unit]}`;
}

export const percent = (value) => (value == null ? "–" : `${formatFixed(value, 0)}%`);

export function formatDuration(seconds) {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "?";
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days) return t("duration.days", { days: formatNumber(days), hours });
  if (hours) return t("duration.hours", { hours, minutes });
  return t("duration.minutes", { minutes });
}
