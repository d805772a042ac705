// The open message's action buttons: sync to the CRM, mark synced or unsynced, open in the CRM.
import * as api from "../../addin/shared/api.js";
import { t } from "../../addin/shared/i18n.js";
import * as mailbox from "../../addin/shared/mailbox.js";
import { clearAlert, showError } from "./alerts.js";
import { callPatiently, currentTicket, isCurrent, view } from "./current-view.js";
import { render } from "./message.js";
import { $, announce, isAbort } from "./ui.js";

export function init() {
  $("btn-sync").addEventListener("click", () => runAction("sync"));
  $("btn-mark-synced").addEventListener("click", () => runAction("markSynced"));
  $("btn-mark-unsynced").addEventListener("click", () => runAction("markUnsynced"));
  $("btn-open").addEventListener("click", () => runAction("open"));
  $("open-link").addEventListener("click", (event) => {
    event.preventDefault();
    runAction("open");
  });
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

function syncedStatus(data) {
  const contacts = new Set();
  for (const person of (data && data.people) || []) for (const contact of person.contacts || []) contacts.add(contact.id);
  if (contacts.size === 1) return t("status.syncedOneContact");
  return contacts.size ? t("status.syncedContacts", { count: contacts.size }) : t("status.synced");
}

async function runAction(kind) {
  if (view.busy || !view.message) return;
  const ticket = currentTicket();
  const id = view.message.id;
  const call = (fn) => callPatiently(fn, ticket);
  clearAlert();
  setActionsBusy(true);
  try {
    let data;
    let done;
    if (kind === "sync") {
      announce(t("status.syncing"));
      data = await call(() => api.syncMessage(id, { signal: ticket.signal }));
      done = syncedStatus(data);
    } else if (kind === "markSynced" || kind === "markUnsynced") {
      announce(t("status.saving"));
      const state = kind === "markSynced" ? "synced" : "unsynced";
      data = await call(() => api.setMessageState(id, state, { signal: ticket.signal }));
      if (!data || !data.state) data = await call(() => api.getMessage(id, { signal: ticket.signal, message: view.message, own: mailbox.userAddress() }));
      done = t(kind === "markSynced" ? "status.markedSynced" : "status.markedUnsynced");
    } else {
      data = view.data;
      if (!data || data.state !== "synced" || !data.crm_url) {
        announce(t("status.syncing"));
        data = await call(() => api.syncMessage(id, { signal: ticket.signal }));
      }
      if (!isCurrent(ticket)) return;
      if (!data.crm_url) throw new api.ApiError(404, "no_url", "");
      announce(t("status.opening"));
      mailbox.openInBrowser(data.crm_url);
      done = "";
    }
    if (!isCurrent(ticket)) return;
    render(data);
    announce(done);
  } catch (error) {
    if (!isCurrent(ticket) || isAbort(error)) return;
    showError(error, () => runAction(kind));
  } finally {
    if (isCurrent(ticket)) setActionsBusy(false);
  }
}
