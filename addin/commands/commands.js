// Ribbon commands without UI: each calls the API, reports on the message, and always completes.
/* global Office */
import * as api from "../../addin/shared/api.js";
import { configureFromPage } from "../../addin/shared/auth.js";
import { errorKey } from "../../addin/shared/error-words.js";
import { t, useOfficeLanguage } from "../../addin/shared/i18n.js";
import * as mailbox from "../../addin/shared/mailbox.js";

const plainError = (error) => t(errorKey(error));

function linkedContacts(data) {
  const ids = new Set();
  for (const person of (data && data.people) || []) for (const contact of person.contacts || []) ids.add(contact.id);
  return ids.size;
}

function syncedText(data) {
  const count = linkedContacts(data);
  return count === 1 ? t("command.syncedOne") : t("command.synced", { count });
}

/** Runs one command body, reports its result (or error) and ALWAYS completes the event. */
function command(body) {
  /** @param {Office.AddinCommands.Event} event */
  return async (event) => {
    try {
      const message = mailbox.currentMessage();
      if (!message) throw new api.ApiError(404, "no_item", "");
      const text = await body(message);
      await mailbox.notify(text);
    } catch (error) {
      await mailbox.notify(t("command.failed", { message: plainError(error) }), { error: true }).catch(() => {});
    } finally {
      event.completed();
    }
  };
}

// One wait on a busy CRM is fine inside a command (Outlook allows a command several minutes).
const patiently = (call) => api.withBusyRetry(call);

export const syncToCrm = command(async (message) => syncedText(await patiently(() => api.syncMessage(message.id))));

export const markSynced = command(async (message) => {
  await patiently(() => api.setMessageState(message.id, "synced"));
  return t("command.markedSynced");
});

export const markUnsynced = command(async (message) => {
  const data = await patiently(() => api.setMessageState(message.id, "unsynced"));
  // Say truthfully who will file it: with automatic sync off (or not reported) only a bulk sync does.
  const automatic = data && data.auto_sync && data.auto_sync !== "off";
  return t(automatic ? "command.markedUnsynced" : "command.markedUnsyncedOff");
});

export const openInCrm = command(async (message) => {
  let data = await patiently(() => api.getMessage(message.id, { message, own: mailbox.userAddress() }));
  if (!data.crm_url) data = await patiently(() => api.syncMessage(message.id));
  if (!data.crm_url) throw new api.ApiError(404, "no_url", "");
  mailbox.openInBrowser(data.crm_url);
  return t("command.opened");
});

export const createOutlookContact = command(async (message) => {
  if (!message.from || !message.from.address) throw new api.ApiError(400, "no_sender", "");
  const { address, name } = message.from;
  // On a message the user sent, the backend makes the contact for its recipient: name whom.
  const answer = await patiently(() => api.createOutlookContact(address, name || address, { messageId: message.id }));
  const who = (answer && (answer.display_name || answer.address)) || name || address;
  return answer && answer.created === false ? t("command.contactExists", { name: who }) : t("command.contactCreated", { name: who });
});

const COMMANDS = { syncToCrm, markSynced, markUnsynced, openInCrm, createOutlookContact };

Office.onReady(() => {
  configureFromPage();
  useOfficeLanguage();
  for (const [name, handler] of Object.entries(COMMANDS)) Office.actions.associate(name, handler);
});
