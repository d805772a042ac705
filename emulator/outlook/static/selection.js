// Which messages are selected: click, Ctrl/Shift-click and arrow keys, as in Outlook's message list.

import { $, state } from "./page-state.js";
import { renderReadingPane } from "./reading-pane.js";
import { tellPaneAboutSelection } from "./taskpane-host.js";

export function setSelection(ids, { keepAnchor = false } = {}) {
  const before = state.selected.slice();
  state.selected = ids;
  if (!keepAnchor || !state.anchor) state.anchor = ids[0] || null;
  for (const row of $("message-list").children) row.setAttribute("aria-selected", String(ids.includes(row.dataset.id)));
  renderReadingPane();
  tellPaneAboutSelection(before, ids);
}

export function onRowClick(event, id) {
  if (event.shiftKey && state.anchor) {
    const ids = state.messages.map((m) => m.id);
    const [a, b] = [ids.indexOf(state.anchor), ids.indexOf(id)].sort((x, y) => x - y);
    setSelection(ids.slice(a, b + 1), { keepAnchor: true });
  } else if (event.ctrlKey || event.metaKey) {
    const next = state.selected.includes(id) ? state.selected.filter((x) => x !== id) : [...state.selected, id];
    setSelection(next.slice(0, 100));
  } else {
    setSelection([id]);
  }
}

export function wireArrowKeys() {
  $("message-list").addEventListener("keydown", (event) => {
    const ids = state.messages.map((m) => m.id);
    if (!ids.length) return;
    const current = state.selected[state.selected.length - 1];
    const index = current ? ids.indexOf(current) : -1;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const next = ids[Math.max(0, Math.min(ids.length - 1, index + (event.key === "ArrowDown" ? 1 : -1)))];
      if (event.shiftKey) setSelection([...new Set([...state.selected, next])], { keepAnchor: true });
      else setSelection([next]);
    }
  });
}
