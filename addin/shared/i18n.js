// Chooses the user's language from Office's display language and fills strings in (en, pl, cs).
/* global Office */
import cs from "./strings/cs.js";
import en from "./strings/en.js";
import pl from "./strings/pl.js";

const CATALOGUE = { en, pl, cs };

let current = "en";

/** Picks the catalogue for a BCP 47 tag such as "pl-PL"; anything unknown gets English. */
function setLanguage(tag) {
  const base = String(tag || "").toLowerCase().split(/[-_]/)[0];
  current = CATALOGUE[base] ? base : "en";
  if (typeof document !== "undefined") document.documentElement.lang = current;
  return current;
}

export function language() {
  return current;
}

/** The string for `key` in the current language, English when missing, with {name} filled in. */
export function t(key, params = {}) {
  const text = CATALOGUE[current][key] ?? CATALOGUE.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Fills every [data-i18n] (text) and [data-i18n-aria] (aria-label) under `root`. */
export function translatePage(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
}

/** Chooses the language Office reports (Office.context.displayLanguage). */
export function useOfficeLanguage() {
  const tag = typeof Office !== "undefined" && Office.context ? Office.context.displayLanguage : "";
  return setLanguage(tag || (typeof navigator !== "undefined" ? navigator.language : "en"));
}
