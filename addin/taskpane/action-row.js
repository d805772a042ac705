// The open message's action row, drawn from the table in message-state.js: the primary action, one
// more beside it, and the rest behind "More actions", so the row never wraps in the narrow pane.
import { t } from "../../addin/shared/i18n.js";
import { view } from "./current-view.js";
import { actionsFor } from "./message-state.js";
import { $ } from "./ui.js";

const IN_ROW = 2; // primary + one at most; a third does not fit 320 px in any of our languages
const BUTTONS = ["btn-sync", "btn-mark-synced", "btn-mark-unsynced", "btn-open"];

let shownFor; // the view the row was last drawn for: drawn again when the pane's width changes

/** Wires the "More actions" toggle; `onAction(run)` runs an action chosen in the row or the menu. */
export function init(onAction) {
  for (const id of BUTTONS) {
    $(id).addEventListener("click", () => {
      closeMenu();
      onAction($(id).dataset.run);
    });
  }
  const toggle = $("btn-more-actions");
  toggle.title = t("actions.more");
  toggle.addEventListener("click", () => (isMenuOpen() ? closeMenu() : openMenu()));
  $("actions").addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isMenuOpen()) {
      closeMenu();
      toggle.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (isMenuOpen() && !$("actions").contains(event.target)) closeMenu();
  });
  window.addEventListener("resize", () => {
    if (shownFor !== undefined && !isMenuOpen()) renderActions(shownFor);
  });
}

const isMenuOpen = () => $("btn-more-actions").getAttribute("aria-expanded") === "true";

function openMenu() {
  $("actions-menu").hidden = false;
  $("btn-more-actions").setAttribute("aria-expanded", "true");
  const first = $("actions-menu").querySelector("button:not([hidden])");
  if (first) first.focus();
}

function closeMenu() {
  $("actions-menu").hidden = true;
  $("btn-more-actions").setAttribute("aria-expanded", "false");
}

/** Shows the actions, badge and note for a message view (`"loading"`, or null when it failed to load). */
export function renderActions(data) {
  const shown = actionsFor(data);
  closeMenu();
  const row = $("actions");
  const menu = $("actions-menu");
  const toggle = $("btn-more-actions");
  for (const id of BUTTONS) $(id).hidden = true;
  shown.actions.forEach((action, index) => {
    const button = $(action.button);
    button.hidden = false;
    button.textContent = t(action.label);
    button.title = t(action.label);
    button.dataset.run = action.run;
    button.dataset.action = action.id;
    button.classList.toggle("primary", index === 0);
    if (index < IN_ROW) row.insertBefore(button, toggle);
    else menu.append(button);
  });
  toggle.hidden = shown.actions.length <= IN_ROW;
  fitRow(row, menu, toggle);
  shownFor = data;
  row.dataset.situation = shown.situation;
  const note = $("state-note");
  note.textContent = shown.note ? t(shown.note) : "";
  note.hidden = !shown.note;
  return shown;
}

/** Moves the second action into the menu when the two do not fit side by side at their full width. */
function fitRow(row, menu, toggle) {
  const inRow = [...row.children].filter((child) => child.tagName === "BUTTON" && child !== toggle && !child.hidden);
  if (inRow.length < 2 || !row.clientWidth) return; // nothing to move, or not laid out (hidden)
  row.classList.add("measuring");
  const overflows = row.scrollWidth > row.clientWidth;
  row.classList.remove("measuring");
  if (!overflows) return;
  menu.prepend(inRow[inRow.length - 1]);
  toggle.hidden = false;
}

export function setActionsEnabled(enabled) {
  for (const button of $("actions").querySelectorAll("button")) {
    button.disabled = !enabled;
  }
}

/** Marks the buttons busy (still focusable, announced as disabled) while an action runs. */
export function setActionsBusy(busy) {
  view.busy = busy;
  $("actions").setAttribute("aria-busy", String(busy));
  for (const button of $("actions").querySelectorAll("button")) button.setAttribute("aria-disabled", String(busy));
}
