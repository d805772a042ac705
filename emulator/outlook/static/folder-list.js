// The folder list: the mailbox's folders from Graph; the Inbox opens first.

import { graph } from "./graph.js";
import { loadMessages } from "./message-list.js";
import { $, state } from "./page-state.js";
import { setSelection } from "./selection.js";

export async function loadFolders() {
  const answer = await graph("GET", "/me/mailFolders?$top=50");
  state.folders = (answer && answer.value) || [];
  const inbox = state.folders.find((f) => (f.wellKnownName || f.displayName || "").toLowerCase() === "inbox") || state.folders[0];
  const list = $("folder-list");
  list.replaceChildren(
    ...state.folders.map((folder) => {
      const li = document.createElement("li");
      li.role = "option";
      li.tabIndex = 0;
      li.dataset.id = folder.id;
      li.textContent = folder.displayName;
      li.addEventListener("click", () => openFolder(folder.id));
      li.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && openFolder(folder.id));
      return li;
    }),
  );
  if (inbox) await openFolder(inbox.id);
}

async function openFolder(folderId) {
  state.folderId = folderId;
  for (const li of $("folder-list").children) li.setAttribute("aria-selected", String(li.dataset.id === folderId));
  await loadMessages();
  setSelection([]);
}
