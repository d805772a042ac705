// What the open message's actions do: sync to the CRM, mark synced or unsynced, open in the CRM
// (which of them the pane offers is message-state.js's table, drawn by action-row.js).
import * as api from "../../addin/shared/api.js";
import { t } from "../../addin/shared/i18n.js";
import * as mailbox from "../../addin/shared/mailbox.js";
import * as row from "./action-row.js";
import { clearAlert, showError } from "./alerts.js";
import { callPatiently, currentTicket, isCurrent, view } from "./current-view.js";
import { render } from "./message.js";
import { announce, isAbort } from "./ui.js";

export function init() {
  row.init((kind) => runAction(kind));
}

export const setActionsEnabled = row.setActionsEnabled;
export const setActionsBusy = row.setActionsBusy;

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
      // Marked unsynced: the note under the badge says when (and whether) a sync will file it.
      done = t(kind === "markSynced" ? "status.markedSynced" : "status.markedUnsynced");
    } else {
      data = view.data;
      if (!data || !data.crm_url) {
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
