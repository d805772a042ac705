// The right-click "Categorize" menu: our two categories and the mailbox's master categories, toggled via Graph.

import { graph } from "./graph.js";
import { renderMessageList } from "./message-list.js";
import { $, messageById, state } from "./page-state.js";
import { renderReadingPane } from "./reading-pane.js";
import { setSelection } from "./selection.js";

const OUR_CATEGORIES = ["Sync to CRM", "Don't sync to CRM"];

export async function loadMasterCategories() {
  try {
    const answer = await graph("GET", "/me/outlook/masterCategories");
    state.masterCategories = ((answer && answer.value) || []).map((c) => c.displayName);
  } catch {
    state.masterCategories = [];
  }
}

function openContextMenu(x, y) {
  const selected = state.selected.map(messageById).filter(Boolean);
  if (!selected.length) return;
  const menu = $("context-menu");
  const names = [...OUR_CATEGORIES, ...state.masterCategories.filter((n) => !OUR_CATEGORIES.includes(n) && n !== "Synced to CRM")];
  const title = document.createElement("div");
  title.className = "menu-title";
  title.textContent = "Categorize";
  const buttons = names.map((name) => {
    const all = selected.every((m) => (m.categories || []).includes(name));
    const button = document.createElement("button");
    button.type = "button";
    button.role = "menuitemcheckbox";
    button.setAttribute("aria-checked", String(all));
    button.dataset.category = name;
    button.innerHTML = `<span class="check">${all ? "✓" : ""}</span>`;
    button.append(document.createTextNode(name));
    button.addEventListener("click", () => {
      closeContextMenu();
      toggleCategory(selected, name, !all);
    });
    return button;
  });
  menu.replaceChildren(title, ...buttons);
  menu.style.left = `${Math.min(x, innerWidth - 240)}px`;
  menu.style.top = `${Math.min(y, innerHeight - 40 * (names.length + 1))}px`;
  menu.hidden = false;
  buttons[0].focus();
}

function closeContextMenu() {
  $("context-menu").hidden = true;
}

export async function toggleCategory(messages, name, add) {
  for (const message of messages) {
    const current = message.categories || [];
    const next = add ? [...new Set([...current, name])] : current.filter((c) => c !== name);
    await graph("PATCH", `/me/messages/${encodeURIComponent(message.id)}`, { categories: next });
    message.categories = next;
  }
  renderMessageList();
  renderReadingPane();
}

export function wireContextMenu() {
  // Right-click on a row selects it (unless it is already part of the selection) and opens the menu.
  $("message-list").addEventListener("contextmenu", (event) => {
    const row = event.target.closest(".message-row");
    if (!row) return;
    event.preventDefault();
    if (!state.selected.includes(row.dataset.id)) setSelection([row.dataset.id]);
    openContextMenu(event.clientX, event.clientY);
  });
  // The keyboard's menu key and Shift+F10 open it under the last selected row.
  $("message-list").addEventListener("keydown", (event) => {
    if (!(event.key === "ContextMenu" || (event.shiftKey && event.key === "F10"))) return;
    if (!state.messages.length) return;
    const current = state.selected[state.selected.length - 1];
    event.preventDefault();
    const row = document.querySelector(`.message-row[data-id="${CSS.escape(current || "")}"]`);
    const box = row ? row.getBoundingClientRect() : { left: 100, bottom: 100 };
    openContextMenu(box.left + 20, box.bottom - 4);
  });
  $("context-menu").addEventListener("keydown", (event) => {
    const buttons = [...$("context-menu").querySelectorAll("button")];
    const index = buttons.indexOf(document.activeElement);
    if (event.key === "Escape") {
      closeContextMenu();
      $("message-list").focus();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      buttons[(index + (event.key === "ArrowDown" ? 1 : buttons.length - 1)) % buttons.length].focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (!$("context-menu").contains(event.target)) closeContextMenu();
  });
}
