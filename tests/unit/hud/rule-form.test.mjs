// The admin panel's pure logic (hud/rule-form.js), and its words in every catalogue.

import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";

import { setLanguage } from "../../../hud/i18n.js";
import {
  blankFields,
  conditionText,
  debounce,
  fieldsFromRule,
  parseDuration,
  parseTags,
  ruleFromFields,
  scopeText,
} from "../../../hud/rule-form.js";
import { EN } from "../../../hud/strings/en.js";

test("a duration is read in seconds, minutes, hours, days and weeks", () => {
  assert.equal(parseDuration("15m"), 900);
  assert.equal(parseDuration("1h30m"), 5400);
  assert.equal(parseDuration(" 2d "), 172800);
  assert.equal(parseDuration("1w"), 604800);
  assert.equal(parseDuration("45"), 2700); // a bare number is minutes
  assert.equal(parseDuration("1.5h"), 5400);
});

test("a duration that is none, zero or longer than a year is refused", () => {
  for (const text of ["", "soon", "10x", "h", "-5m", "0m", "400d", "1h foo"]) {
    assert.equal(parseDuration(text), null, text);
  }
});

test("a rule's fields make the body the alerts API takes, and back", () => {
  const fields = {
    ...blankFields(),
    id: " cpu-web ",
    name: "Web CPU",
    threshold: "85",
    clear_threshold: "",
    for_seconds: "30",
    host_ids: "web-1, web-2,",
    tags: "tier=web, env = prod",
  };
  const rule = ruleFromFields(fields);
  assert.deepEqual(rule, {
    kind: "threshold",
    id: "cpu-web",
    name: "Web CPU",
    metric: "cpu_load",
    operator: ">",
    threshold: 85,
    for_seconds: 30,
    severity: "warning",
    scope: { host_ids: ["web-1", "web-2"], tags: { tier: "web", env: "prod" } },
    enabled: true,
  });
  const back = fieldsFromRule(rule);
  assert.equal(back.host_ids, "web-1, web-2");
  assert.equal(back.tags, "tier=web, env=prod");
  assert.equal(back.threshold, "85");
  assert.deepEqual(ruleFromFields(back), rule);
});

test("an empty id and name are left out for the server to name (or the preview to fill)", () => {
  const rule = ruleFromFields({ ...blankFields(), id: " ", name: "" });
  assert.equal("id" in rule, false);
  assert.equal("name" in rule, false);
});

test("a number field that is not a number goes as typed, for the server to name", () => {
  const rule = ruleFromFields({ ...blankFields(), threshold: "ninety" });
  assert.equal(rule.threshold, "ninety");
});

test("an offline rule carries its intervals and none of a threshold's fields", () => {
  const rule = ruleFromFields({ ...blankFields(), kind: "offline", after_intervals: "6" });
  assert.equal(rule.after_intervals, 6);
  assert.equal("metric" in rule, false);
  assert.equal("threshold" in rule, false);
});

test("tags without '=' are kept for the server to refuse by name", () => {
  assert.deepEqual(parseTags("tier=web, broken"), { tier: "web", broken: "" });
});

test("a rule reads in one line, in the chosen language", () => {
  setLanguage("en");
  assert.equal(
    conditionText({ kind: "threshold", metric: "cpu_load", operator: ">", threshold: 90 }),
    "cpu_load > 90",
  );
  assert.equal(
    conditionText({
      kind: "threshold",
      metric: "cpu_load",
      operator: ">",
      threshold: 90,
      for_seconds: 60,
    }),
    "cpu_load > 90 for 60 s",
  );
  assert.equal(conditionText({ kind: "offline", after_intervals: 12 }), "silent > 12 intervals");
  setLanguage("ko");
  assert.match(conditionText({ kind: "offline", after_intervals: 12 }), /무응답/);
  setLanguage("en");
  assert.equal(scopeText({ host_ids: ["a", "b"], tags: { tier: "db" } }), "a, b · tier=db");
  assert.equal(scopeText({}), "");
});

test("a debounced call runs once, with the last arguments, after the quiet time", () => {
  const pending = [];
  const timers = {
    setTimeout: (run) => pending.push(run) - 1,
    clearTimeout: (id) => {
      if (id != null) pending[id] = null;
    },
  };
  const seen = [];
  const later = debounce((value) => seen.push(value), 300, timers);
  later(1);
  later(2);
  later(3);
  for (const run of pending) run?.();
  assert.deepEqual(seen, [3]);
});

test("every word the admin panel asks for is in the English catalogue", () => {
  const hud = new URL("../../../hud/", import.meta.url);
  const modules = [
    "admin-panel.js",
    "admin-ui.js",
    "rule-editor.js",
    "rule-form.js",
    "silences.js",
    "receivers.js",
    "people.js",
    "card.js",
    "widgets.js",
  ];
  assert.ok(readdirSync(hud).includes("admin-panel.js"));
  const missing = [];
  for (const name of modules) {
    const source = readFileSync(new URL(name, hud), "utf8");
    for (const [, key] of source.matchAll(/["`](admin\.[A-Za-z.]+[A-Za-z])["`]/g)) {
      if (!(key in EN)) missing.push(`${name}: ${key}`);
    }
  }
  assert.deepEqual(missing, []);
  for (const prefix of [
    "admin.severity.",
    "admin.role.",
    "admin.rules.kind.",
    "admin.receivers.outcome.",
    "admin.silences.preset.",
  ]) {
    assert.ok(
      Object.keys(EN).some((key) => key.startsWith(prefix)),
      prefix,
    );
  }
});
