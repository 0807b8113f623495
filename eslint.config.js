// ESLint for the HUD (browser ES modules) and its unit tests (Node's test runner).

import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["hud/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.browser },
    // A const used in its own initializer (say one shadowing the function it calls) throws
    // at run time (the temporal dead zone), which no unit test of the pure modules would see.
    rules: {
      "no-use-before-define": ["error", { functions: false, classes: true, variables: false }],
    },
  },
  {
    files: ["tests/unit/hud/**/*.mjs", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node },
  },
];
