// The HUD's words, in one catalogue per language (strings/en.js, strings/ko.js), and numbers
// and dates in the chosen locale. English is complete by definition; a key missing from
// another language falls back to English, and the unit test lists any such key as a failure.

import { EN } from "./strings/en.js";
import { KO } from "./strings/ko.js";

export const CATALOGUES = { en: EN, ko: KO };
export const LANGUAGES = Object.keys(CATALOGUES);
export const STORAGE_KEY = "mirror-stage.language.v1";
const LOCALES = { en: "en-US", ko: "ko-KR" };
const MAX_FORMATTERS = 64; // Intl formatters kept for reuse; the HUD uses a handful

let current = "en";
const listeners = new Set();
const formatters = new Map();

// The language to start in: the one the operator chose before, else the first of the
// browser's languages we speak, else English.
export function chooseLanguage(stored, browserLanguages = []) {
  if (LANGUAGES.includes(stored)) return stored;
  for (const tag of browserLanguages) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

export function setLanguage(language) {
  current = LANGUAGES.includes(language) ? language : "en";
  if (typeof document !== "undefined") document.documentElement.lang = current;
  return current;
}

export const language = () => current;
export const locale = () => LOCALES[current];

// The page's first language: the stored choice or the browser's, applied to index.html.
// A storage the browser refuses (private modes may) counts as no choice made.
export function startLanguage(storage = localStorage, browserLanguages = navigator.languages) {
  let stored;
  try {
    stored = storage.getItem(STORAGE_KEY);
  } catch {
    stored = null;
  }
  setLanguage(chooseLanguage(stored, browserLanguages));
  if (typeof document !== "undefined") translatePage(document);
  return current;
}

// The operator's switch: the new language is remembered, index.html's words change at once
// and every listener redraws what it wrote with t().
export function switchLanguage(language, storage = localStorage) {
  setLanguage(language);
  try {
    storage.setItem(STORAGE_KEY, current);
  } catch {
    // Not remembered, still switched: the page works without storage.
  }
  if (typeof document !== "undefined") translatePage(document);
  for (const listener of listeners) listener(current);
  return current;
}

// `listener(language)` runs after each switch; the returned function stops it.
export function onLanguageChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// The string for `key`, with each {name} replaced by params[name]; the key itself when no
// catalogue has it, so a missing string shows as what it is rather than as nothing.
export function t(key, params) {
  const text = CATALOGUES[current][key] ?? EN[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    name in params ? String(params[name]) : whole,
  );
}

// A value the server sends (a status, a role, a severity) in the page's language: the
// catalogue's `area.value` when there is one, else the value as the server sent it.
export function tValue(area, value) {
  const key = `${area}.${value}`;
  return key in EN ? t(key) : String(value ?? "");
}

// Building an Intl formatter costs far more than using one: they are kept, per locale and
// options, for the table's and widgets' many numbers.
function formatter(kind, options) {
  const key = `${kind} ${locale()} ${JSON.stringify(options ?? {})}`;
  let found = formatters.get(key);
  if (!found) {
    if (formatters.size >= MAX_FORMATTERS) formatters.clear();
    found =
      kind === "number"
        ? new Intl.NumberFormat(locale(), options)
        : new Intl.DateTimeFormat(locale(), options);
    formatters.set(key, found);
  }
  return found;
}

export function formatNumber(value, options) {
  return formatter("number", options).format(value);
}

export function formatDateTime(date, options = { dateStyle: "short", timeStyle: "medium" }) {
  return formatter("date", options).format(date);
}

const MARKS = {
  text: "i18n",
  placeholder: "i18nPlaceholder",
  title: "i18nTitle",
  "aria-label": "i18nAriaLabel",
};

// Every element under `root` with data-i18n="key" gets t(key) as its text; data-i18n-placeholder,
// data-i18n-title and data-i18n-aria-label set those attributes.
export function translatePage(root) {
  for (const [attribute, mark] of Object.entries(MARKS)) {
    const selector = `[data-${mark.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}]`;
    for (const element of root.querySelectorAll(selector)) {
      const text = t(element.dataset[mark]);
      if (attribute === "text") element.textContent = text;
      else element.setAttribute(attribute, text);
    }
  }
}

// `node` with t(key) as its text (or as `attribute`), marked so that translatePage keeps it
// current after every switch; returns `node`.
export function translated(node, key, attribute = "text") {
  const mark = MARKS[attribute];
  if (!mark) throw new Error(`translated: no data-i18n mark for attribute ${attribute}`);
  node.dataset[mark] = key;
  if (attribute === "text") node.textContent = t(key);
  else node.setAttribute(attribute, t(key));
  return node;
}
