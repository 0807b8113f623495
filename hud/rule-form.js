// The admin panel's pure logic: a rule as the editor's fields and back, how a rule reads in a
// list, silence durations ("15m", "1h30m", "1d"), and a debounce for the live preview. No DOM.

import { ALERT_METRICS } from "./alert-metrics.js";
import { formatNumber, t } from "./i18n.js";

// The metrics a threshold rule may watch: the alerts service's catalogue.
export const METRICS = ALERT_METRICS;
export const OPERATORS = [">", ">=", "<", "<="];
export const SEVERITIES = ["info", "warning", "critical"];
export const KINDS = ["threshold", "offline"];

// The silence durations offered, in seconds, by their label.
export const SILENCE_PRESETS = [
  ["15m", 900],
  ["1h", 3600],
  ["4h", 14400],
  ["1d", 86400],
];
const DURATION_UNITS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const MAX_SILENCE_SECONDS = 366 * 86400;

// "90m", "1h30m", "2d", "45s" (a bare number is minutes) in seconds; null when it is none of
// those, zero, or longer than a year.
export function parseDuration(text) {
  const source = String(text ?? "")
    .trim()
    .toLowerCase()
    .replace(/\s+/g, "");
  if (!source) return null;
  if (/^\d+(\.\d+)?$/.test(source)) return checkDuration(Number(source) * 60);
  if (!/^(\d+(\.\d+)?[smhdw])+$/.test(source)) return null;
  let seconds = 0;
  for (const [, amount, unit] of source.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) {
    seconds += Number(amount) * DURATION_UNITS[unit];
  }
  return checkDuration(seconds);
}

function checkDuration(seconds) {
  return seconds > 0 && seconds <= MAX_SILENCE_SECONDS ? Math.round(seconds) : null;
}

// "a, b ,, c" as ["a", "b", "c"].
export function splitList(text) {
  return String(text ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
}

// "tier=web, env=prod" as {tier: "web", env: "prod"}; a part without "=" is kept whole as a
// key with an empty value, so that the server names it rather than the HUD dropping it.
export function parseTags(text) {
  const tags = {};
  for (const part of splitList(text)) {
    const at = part.indexOf("=");
    if (at < 0) tags[part] = "";
    else tags[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return tags;
}

export const tagsText = (tags) =>
  Object.entries(tags ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(", ");

// A number field's value: a number, null when empty, or the text itself when it is not a
// number (the server then names the field, as it would for any client).
function numberOf(text) {
  const trimmed = String(text ?? "").trim();
  if (trimmed === "") return null;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : trimmed;
}

// The editor's fields (strings and booleans, as read from the form) as a rule body for the
// alerts API. Empty optional fields are left out: the service's defaults apply.
export function ruleFromFields(fields) {
  const rule = { kind: fields.kind };
  if (fields.id?.trim()) rule.id = fields.id.trim();
  if (fields.name?.trim()) rule.name = fields.name.trim();
  if (fields.kind === "offline") {
    const after = numberOf(fields.after_intervals);
    if (after !== null) rule.after_intervals = after;
  } else {
    rule.metric = fields.metric;
    rule.operator = fields.operator;
    const threshold = numberOf(fields.threshold);
    if (threshold !== null) rule.threshold = threshold;
    const clear = numberOf(fields.clear_threshold);
    if (clear !== null) rule.clear_threshold = clear;
    const forSeconds = numberOf(fields.for_seconds);
    if (forSeconds !== null) rule.for_seconds = forSeconds;
  }
  rule.severity = fields.severity;
  const scope = {};
  const hostIds = splitList(fields.host_ids);
  if (hostIds.length) scope.host_ids = hostIds;
  const tags = parseTags(fields.tags);
  if (Object.keys(tags).length) scope.tags = tags;
  if (Object.keys(scope).length) rule.scope = scope;
  rule.enabled = fields.enabled !== false;
  return rule;
}

// A stored rule as the editor's fields.
export function fieldsFromRule(rule) {
  const text = (value) => (value == null ? "" : String(value));
  return {
    kind: rule.kind ?? "threshold",
    id: rule.id ?? "",
    name: rule.name ?? "",
    metric: rule.metric ?? METRICS[0],
    operator: rule.operator ?? ">",
    threshold: text(rule.threshold),
    clear_threshold: text(rule.clear_threshold),
    for_seconds: text(rule.for_seconds),
    after_intervals: text(rule.after_intervals),
    severity: rule.severity ?? (rule.kind === "offline" ? "critical" : "warning"),
    host_ids: (rule.scope?.host_ids ?? []).join(", "),
    tags: tagsText(rule.scope?.tags),
    enabled: rule.enabled !== false,
  };
}

// A new rule's fields: CPU above 90 % for a minute, on every host.
export function blankFields() {
  return fieldsFromRule({
    kind: "threshold",
    metric: "cpu_load",
    operator: ">",
    threshold: 90,
    for_seconds: 60,
    severity: "warning",
  });
}

// What a rule watches, in one line: "cpu_load > 90 for 60 s" or "silent > 12 intervals".
export function conditionText(rule) {
  if (rule.kind === "offline") {
    return t("admin.rules.condition_offline", {
      intervals: formatNumber(rule.after_intervals ?? 12),
    });
  }
  const condition = `${rule.metric} ${rule.operator} ${formatNumber(rule.threshold)}`;
  if (!rule.for_seconds) return condition;
  return t("admin.rules.condition_held", { condition, seconds: formatNumber(rule.for_seconds) });
}

// Which hosts a rule or a silence covers, in one line ("" when it covers every host).
export function scopeText(scope) {
  const parts = [];
  if (scope?.host_ids?.length) parts.push(scope.host_ids.join(", "));
  if (scope?.tags && Object.keys(scope.tags).length) parts.push(tagsText(scope.tags));
  return parts.join(" · ");
}

// `run` called `wait` ms after the last of a burst of calls, with that call's arguments.
export function debounce(run, wait, timers = globalThis) {
  let timer = null;
  const debounced = (...args) => {
    timers.clearTimeout(timer);
    timer = timers.setTimeout(() => {
      timer = null;
      run(...args);
    }, wait);
  };
  debounced.cancel = () => {
    timers.clearTimeout(timer);
    timer = null;
  };
  return debounced;
}
