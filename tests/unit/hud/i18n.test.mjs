import assert from "node:assert/strict";
import { test } from "node:test";

import { CATALOGUES, chooseLanguage, setLanguage, t } from "../../../hud/i18n.js";
import { EN } from "../../../hud/strings/en.js";

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

test("the stored choice wins, then the browser's languages, then English", () => {
  assert.equal(chooseLanguage("ko", ["en-US"]), "ko");
  assert.equal(chooseLanguage(null, ["fr-FR", "ko-KR", "en"]), "ko");
  assert.equal(chooseLanguage("xx", ["fr"]), "en");
});

test("t fills placeholders and falls back to the key", () => {
  setLanguage("ko");
  assert.equal(t("language.name"), "한국어");
  assert.equal(t("no.such.key"), "no.such.key");
  setLanguage("en");
});
