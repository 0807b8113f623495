import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import {
  CATALOGUES,
  STORAGE_KEY,
  chooseLanguage,
  formatDateTime,
  formatNumber,
  language,
  onLanguageChange,
  setLanguage,
  startLanguage,
  switchLanguage,
  t,
  tValue,
} from "../../../hud/i18n.js";
import { ALERT_METRICS } from "../../../hud/alert-metrics.js";
import { EN } from "../../../hud/strings/en.js";

const HUD = new URL("../../../hud/", import.meta.url);

// A Storage as the browser's: strings by key. `refuses` makes it throw, as a browser's
// private mode may.
function storage({ refuses = false, held = {} } = {}) {
  const items = new Map(Object.entries(held));
  const guard = () => {
    if (refuses) throw new Error("SecurityError: storage refused");
  };
  return {
    getItem: (key) => (guard(), items.get(key) ?? null),
    setItem: (key, value) => (guard(), items.set(key, String(value))),
    items,
  };
}

test("every language has every English key, and no key English lacks", () => {
  for (const [language, catalogue] of Object.entries(CATALOGUES)) {
    const missing = Object.keys(EN).filter((key) => !(key in catalogue));
    const extra = Object.keys(catalogue).filter((key) => !(key in EN));
    assert.deepEqual({ language, missing, extra }, { language, missing: [], extra: [] });
  }
});

test("every language keeps each string's placeholders", () => {
  const names = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const [language, catalogue] of Object.entries(CATALOGUES)) {
    for (const [key, text] of Object.entries(EN)) {
      assert.deepEqual(names(catalogue[key] ?? text), names(text), `${language} ${key}`);
    }
  }
});

test("Korean is written, not copied: only technical names read the same as in English", () => {
  // CPU, GPU, IP, OS as every operator reads them, alone, with a unit, or with placeholders.
  const name = /^((CPU|GPU|IP|OS)( %| \{\w+\})?|\{\w+\} · \{\w+\})$/;
  const same = Object.keys(EN).filter((key) => CATALOGUES.ko[key] === EN[key]);
  assert.deepEqual(
    same.filter((key) => !name.test(EN[key])),
    [],
  );
});

// The catalogue keys the HUD's source names: quoted "area.what" strings, and the areas of
// keys it builds (`status.${...}`, tValue("status", ...)).
function keysInSource() {
  const literals = new Set();
  const areas = new Set();
  for (const name of readdirSync(HUD)) {
    if (!name.endsWith(".js") && !name.endsWith(".html")) continue;
    const text = readFileSync(new URL(name, HUD), "utf8");
    for (const [, key] of text.matchAll(/["']([a-z_]+(?:\.[a-z0-9_]+)+)["']/g)) literals.add(key);
    for (const [, area] of text.matchAll(/`([a-z_]+(?:\.[a-z0-9_]+)*)\.\$\{/g)) areas.add(area);
    for (const [, area] of text.matchAll(/tValue\(\s*"([a-z_.]+)"/g)) areas.add(area);
  }
  return { literals, areas };
}

test("every key the HUD names is in the catalogue, and every key in it is used", () => {
  const { literals, areas } = keysInSource();
  // Alert metric names ("disk.used_percent") are the server's words, not catalogue keys.
  const unknown = [...literals].filter(
    (key) => !(key in EN) && !areas.has(key) && !ALERT_METRICS.includes(key),
  );
  assert.deepEqual(unknown, [], "keys the source names that no catalogue has");
  const unused = Object.keys(EN).filter(
    (key) => !literals.has(key) && ![...areas].some((area) => key.startsWith(`${area}.`)),
  );
  assert.deepEqual(unused, [], "catalogue keys nothing uses");
});

test("the stored choice wins, then the browser's languages, then English", () => {
  assert.equal(chooseLanguage("ko", ["en-US"]), "ko");
  assert.equal(chooseLanguage(null, ["fr-FR", "ko-KR", "en"]), "ko");
  assert.equal(chooseLanguage("xx", ["fr"]), "en");
});

test("the page starts in the stored language, else the browser's, even when storage refuses", () => {
  assert.equal(startLanguage(storage({ held: { [STORAGE_KEY]: "en" } }), ["ko-KR"]), "en");
  assert.equal(startLanguage(storage(), ["ko-KR", "en-US"]), "ko");
  assert.equal(startLanguage(storage({ refuses: true }), ["ko"]), "ko");
  assert.equal(startLanguage(storage({ held: { [STORAGE_KEY]: "<script>" } }), []), "en");
  setLanguage("en");
});

test("a switch is remembered and heard at once; a storage that refuses still switches", () => {
  const held = storage();
  const heard = [];
  const stop = onLanguageChange((now) => heard.push(now));
  try {
    switchLanguage("ko", held);
    assert.equal(held.items.get(STORAGE_KEY), "ko");
    assert.equal(t("card.uptime"), "가동 시간");
    switchLanguage("en", storage({ refuses: true }));
    assert.equal(language(), "en");
    switchLanguage("xx", held); // not a language we speak: English
    assert.equal(held.items.get(STORAGE_KEY), "en");
    assert.deepEqual(heard, ["ko", "en", "en"]);
  } finally {
    stop();
    setLanguage("en");
  }
  switchLanguage("ko", storage());
  assert.deepEqual(heard, ["ko", "en", "en"], "a stopped listener hears no more");
  setLanguage("en");
});

test("t fills placeholders and falls back to the key", () => {
  setLanguage("ko");
  assert.equal(t("language.name"), "한국어");
  assert.equal(t("table.count", { shown: 3, total: 200 }), "호스트 200대 중 3대");
  assert.equal(t("no.such.key"), "no.such.key");
  setLanguage("en");
});

test("a server's word is translated when the catalogue knows it, else shown as sent", () => {
  setLanguage("ko");
  assert.equal(tValue("status", "online"), "온라인");
  assert.equal(tValue("command", "timed_out"), "시간 초과");
  assert.equal(tValue("status", "rebooting"), "rebooting");
  assert.equal(tValue("search.field", "tier=db"), "tier=db");
  setLanguage("en");
  assert.equal(tValue("command", "timed_out"), "timed out");
});

test("numbers and times follow the language's locale", () => {
  const noon = Date.UTC(2025, 0, 2, 15, 4, 5);
  // A 24-hour clock: how each ICU names the afternoon is its own business.
  const options = { dateStyle: "medium", timeStyle: "short", timeZone: "UTC", hourCycle: "h23" };
  setLanguage("en");
  assert.equal(formatNumber(1234.5), "1,234.5");
  assert.equal(formatDateTime(noon, options), "Jan 2, 2025, 15:04");
  setLanguage("ko");
  assert.equal(formatNumber(1234.5), "1,234.5");
  assert.equal(formatDateTime(noon, options), "2025. 1. 2. 15:04");
  setLanguage("en");
});
