// The Outlook-like page: mailbox UI over the emulated Graph, our ribbon, and the host side of the Office.js shim.
// This entry wires the page's parts together and loads the mailbox; each part is its own module.

import { loadMasterCategories, wireContextMenu } from "./category-menu.js";
import { wireCompose } from "./compose-form.js";
import { loadFolders } from "./folder-list.js";
import { loadFunctionFile } from "./function-commands.js";
import { loadMessages } from "./message-list.js";
import { $, messageById, state } from "./page-state.js";
import { renderRibbon, wireRibbonMenus } from "./ribbon.js";
import { setSelection, wireArrowKeys } from "./selection.js";
import { wireShimHost } from "./shim-host.js";
import { wireTaskpaneButtons } from "./taskpane-host.js";
import { loadUsers } from "./user-picker.js";

wireArrowKeys();
wireContextMenu();
wireRibbonMenus();
wireTaskpaneButtons();
wireShimHost();
wireCompose();

$("refresh").addEventListener("click", async () => {
  await loadMessages();
  setSelection(state.selected.filter((id) => messageById(id)));
});

async function start() {
  renderRibbon();
  await loadUsers();
  loadFunctionFile();
  await loadMasterCategories();
  await loadFolders();
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  document.body.dataset.ready = "error";
  $("reading-empty").textContent = `The emulated mailbox did not load: ${error.message}`;
});
