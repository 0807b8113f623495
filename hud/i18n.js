// The HUD's words, in one catalogue per language (strings/en.js, strings/ko.js), and numbers
// and dates in the chosen locale. English is complete by definition; a key missing from
// another language falls back to English, and the unit test lists any such key as a failure.

import { EN } from "./strings/en.js";
import { KO } from "./strings/ko.js";

export const CATALOGUES = { en: EN, ko: KO };
export const LANGUAGES = Object.keys(CATALOGUES);
export const STORAGE_KEY = "mirror-stage.language.v1";
const LOCALES = { en: "en-US", ko: "ko-KR" };

let current = "en";

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

// The string for `key`, with each {name} replaced by params[name]; the key itself when no
// catalogue has it, so a missing string shows as what it is rather than as nothing.
export function t(key, params) {
  const text = CATALOGUES[current][key] ?? EN[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    name in params ? String(params[name]) : whole,
  );
}

export function formatNumber(value, options) {
  return new Intl.NumberFormat(locale(), options).format(value);
}

export function formatDateTime(date, options = { dateStyle: "short", timeStyle: "medium" }) {
  return new Intl.DateTimeFormat(locale(), options).format(date);
}

// Every element under `root` with data-i18n="key" gets t(key) as its text; data-i18n-placeholder,
// data-i18n-title and data-i18n-aria-label set those attributes.
export function translatePage(root) {
  for (const element of root.querySelectorAll("[data-i18n]"))
    element.textContent = t(element.dataset.i18n);
  for (const [data, attribute] of [
    ["i18nPlaceholder", "placeholder"],
    ["i18nTitle", "title"],
    ["i18nAriaLabel", "aria-label"],
  ]) {
    const selector = `[data-${data.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}]`;
    for (const element of root.querySelectorAll(selector))
      element.setAttribute(attribute, t(element.dataset[data]));
  }
}
