// Small DOM pieces the pane's sections share: elements, announcements, errors in plain words with Retry.
import { getToken, SignInNeeded } from "../../addin/shared/auth.js";
import { errorKey } from "../../addin/shared/error-words.js";
import { t } from "../../addin/shared/i18n.js";

export const $ = (id) => document.getElementById(id);

/** document.createElement with properties/attributes and children (strings become text). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && !key.includes("-")) node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

let ids = 0;
/** A document-unique id for label/aria wiring. */
export const uid = (prefix) => `${prefix}-${(ids += 1)}`;

export function button(text, props = {}) {
  return el("button", { type: "button", class: "button", ...props }, text);
}

/** Says `text` in the pane's polite live region (the status line). */
export function announce(text, kind = "") {
  const status = document.getElementById("status");
  if (!status) return;
  status.textContent = text;
  status.dataset.kind = kind;
}

export const isAbort = (error) => Boolean(error && error.name === "AbortError");

/** Plain words for any failure; never the raw body or a stack (shared/error-words.js). */
export function describeError(error) {
  return t(errorKey(error));
}

/**
 * An inline error (role=alert) with Retry, or Sign in when that is what is missing.
 * `retry` runs after the box removes itself.
 */
export function errorBox(error, retry) {
  const box = el("div", { class: "alert inline-alert", role: "alert" }, el("p", { text: describeError(error) }));
  if (retry) {
    const signIn = error instanceof SignInNeeded;
    const action = button(t(signIn ? "action.signIn" : "action.retry"), {
      onclick: async () => {
        box.remove();
        if (signIn) {
          try {
            await getToken({ forceRefresh: true, prompt: true });
          } catch {
            // Still signed out: the retry fails the same way and offers Sign in again.
          }
        }
        retry();
      },
    });
    box.append(action);
  }
  return box;
}

/** A grey placeholder (aria-hidden) where content is loading; `extraClass` gives its shape. */
export function skeleton(extraClass, width) {
  return el("span", { class: `skeleton ${extraClass || ""}`, "aria-hidden": "true", style: width ? `width:${width}` : null });
}

/** Skeleton lines for a section that is loading. */
export function skeletonLines(count, widths = ["70%", "45%", "60%"]) {
  return Array.from({ length: count }, (_, i) => skeleton("skeleton-line", widths[i % widths.length]));
}

/** Marks a group of controls busy (still focusable, announced as disabled). */
export function setBusy(container, busy) {
  container.setAttribute("aria-busy", String(busy));
  for (const control of container.querySelectorAll("button, input, select, textarea")) {
    control.setAttribute("aria-disabled", String(busy));
  }
}

export const isBusy = (container) => container.getAttribute("aria-busy") === "true";

/** Local date and time, short, in the pane's language. */
export function when(iso, lang) {
  if (!iso) return "";
  const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  try {
    return date.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
  } catch {
    return date.toISOString().slice(0, 16).replace("T", " ");
  }
}
