// The add-in's task pane as Outlook hosts it: open, close, pin, and following the selection.

import { postToFrame } from "./frames.js";
import { officeItem } from "./office-item.js";
import { $, singleSelected, state } from "./page-state.js";

export function openPane(control, { compose = false } = {}) {
  if (compose ? !state.compose : !state.selected.length) return;
  if (state.pane.open && state.pane.control === control.id) {
    closePane();
    return;
  }
  state.pane = { open: true, pinned: state.pane.pinned, ready: false, control: control.id, compose };
  $("taskpane-title").textContent = control.label;
  $("taskpane").hidden = false;
  $(`ribbon-${control.id}`).setAttribute("aria-pressed", "true");
  $("taskpane-frame").src = control.action.url;
}

export function closePane() {
  if (state.pane.control) $(`ribbon-${state.pane.control}`)?.setAttribute("aria-pressed", "false");
  state.pane = { open: false, pinned: state.pane.pinned, ready: false, control: null };
  $("taskpane").hidden = true;
  $("taskpane-frame").src = "about:blank";
}

// As Outlook does: an unpinned pane closes when the selection empties or moves to another single
// message; a pinned pane is told of the new item, and any pane of a multi-selection change.
export function tellPaneAboutSelection(before, after) {
  if (!state.pane.open || state.pane.compose) return; // a compose pane follows its draft, not the list
  const wasSingle = before.length === 1;
  const isSingle = after.length === 1;
  if (!after.length) {
    if (!state.pane.pinned) closePane();
    return;
  }
  if (wasSingle && isSingle) {
    if (before[0] === after[0]) return;
    if (!state.pane.pinned) {
      closePane();
      return;
    }
    postToFrame($("taskpane-frame"), { type: "itemChanged", item: officeItem(singleSelected()) });
    return;
  }
  postToFrame($("taskpane-frame"), { type: "selectionChanged", item: officeItem(singleSelected()) });
}

export function wireTaskpaneButtons() {
  $("taskpane-close").addEventListener("click", closePane);
  $("taskpane-pin").addEventListener("click", () => {
    state.pane.pinned = !state.pane.pinned;
    $("taskpane-pin").setAttribute("aria-pressed", String(state.pane.pinned));
    $("taskpane-pin").textContent = state.pane.pinned ? "Pinned" : "Pin";
  });
}
