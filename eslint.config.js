// ESLint over every JavaScript file of the repository (flat config): recommended rules, browser and Office globals.
import js from "@eslint/js";
import globals from "globals";

// Loaded by the host page (office.js) or on demand (MSAL's UMD build), never imported.
const OFFICE_GLOBALS = { Office: "readonly", OfficeRuntime: "readonly", msal: "readonly" };

export default [
  // Installed and generated trees (as in .gitignore): a local .venv ships JavaScript of its own.
  { ignores: [".venv/", "instance/", "tmp/", "test-results/"] },
  js.configs.recommended,
  {
    // The pane and the function commands, and the emulator's Outlook-like page that hosts them.
    files: ["addin/**/*.js", "emulator/outlook/static/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, ...OFFICE_GLOBALS },
    },
    rules: {
      // Each file restates the Office globals it uses (/* global Office */, the house style); that is not a redeclaration.
      "no-redeclare": ["error", { builtinGlobals: false }],
    },
  },
  {
    // Plain <script>s: the emulator's Office.js stand-in (as office.js loads), the admin pages' job progress,
    // and the event handlers (classic Outlook on Windows runs them without a DOM or modules).
    files: ["emulator/outlook/static/office-shim.js", "server/static/*.js", "addin/events/events.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "script", globals: globals.browser },
  },
  {
    // The function commands' tests run in node on a mocked Office; the Office.js check (scripts/) runs in node.
    files: ["tests/addin/**/*.mjs", "scripts/**/*.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
  },
];
