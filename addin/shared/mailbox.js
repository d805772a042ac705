// The only code that touches Office.context.mailbox: turns Outlook items into plain objects.
/* global Office */

const MAX_SELECTED = 100;

function mailbox() {
  return Office.context.mailbox;
}

function person(address) {
  if (!address) return null;
  return { name: address.displayName || "", address: address.emailAddress || "" };
}

/** Converts an EWS id (what item.itemId holds) into the REST id the API and Graph take. */
function toRestId(ewsId) {
  if (!ewsId) return null;
  const mb = mailbox();
  if (mb && typeof mb.convertToRestId === "function") {
    const version = Office.MailboxEnums && Office.MailboxEnums.RestVersion ? Office.MailboxEnums.RestVersion.v2_0 : "v2.0";
    return mb.convertToRestId(ewsId, version);
  }
  // Same mapping Outlook applies (EWS ids are URL-unsafe base64).
  return ewsId.replace(/\//g, "-").replace(/\+/g, "_");
}

/** The open message as a plain object, or null when nothing (or not a message) is open. */
export function currentMessage() {
  const item = mailbox() && mailbox().item;
  if (!item || !item.itemId) return null;
  return {
    id: toRestId(item.itemId),
    ewsId: item.itemId,
    subject: item.subject || "",
    internetMessageId: item.internetMessageId || "",
    conversationId: item.conversationId || "",
    from: person(item.from),
    to: (item.to || []).map(person),
    cc: (item.cc || []).map(person),
  };
}

/** The signed-in user's address (to leave out of lists), or "". */
export function userAddress() {
  const profile = mailbox() && mailbox().userProfile;
  return (profile && profile.emailAddress) || "";
}

/** Resolves to the selected messages [{id, ewsId, subject}] (Mailbox 1.13); one-item list otherwise. */
export function selectedMessages() {
  return new Promise((resolve) => {
    const mb = mailbox();
    if (!mb || typeof mb.getSelectedItemsAsync !== "function") {
      const one = currentMessage();
      resolve(one ? [{ id: one.id, ewsId: one.ewsId, subject: one.subject }] : []);
      return;
    }
    mb.getSelectedItemsAsync((result) => {
      if (result.status !== Office.AsyncResultStatus.Succeeded) {
        const one = currentMessage();
        resolve(one ? [{ id: one.id, ewsId: one.ewsId, subject: one.subject }] : []);
        return;
      }
      resolve(
        (result.value || [])
          .filter((it) => !it.itemType || String(it.itemType).toLowerCase() === "message")
          .slice(0, MAX_SELECTED)
          .map((it) => ({ id: toRestId(it.itemId), ewsId: it.itemId, subject: it.subject || "" })),
      );
    });
  });
}

function addHandler(eventType, handler) {
  const mb = mailbox();
  if (!mb || typeof mb.addHandlerAsync !== "function" || !eventType) return;
  mb.addHandlerAsync(eventType, handler, () => {});
}

/** Calls `handler()` when a pinned pane moves to another message (ItemChanged). */
export function onItemChanged(handler) {
  // The event types come with their sets (ItemChanged: Mailbox 1.5): an older client has neither.
  if (Office.EventType.ItemChanged) addHandler(Office.EventType.ItemChanged, () => handler());
}

/** Calls `handler()` when the selection of several messages changes (Mailbox 1.13). */
export function onSelectionChanged(handler) {
  if (Office.EventType.SelectedItemsChanged) addHandler(Office.EventType.SelectedItemsChanged, () => handler());
}

/** Shows a line of feedback on the open message (the ribbon commands' way to report). */
export function notify(text, { error = false, key = "crmSync" } = {}) {
  return new Promise((resolve) => {
    const item = mailbox() && mailbox().item;
    if (!item || !item.notificationMessages) {
      resolve(false);
      return;
    }
    const message = error
      ? { type: Office.MailboxEnums.ItemNotificationMessageType.ErrorMessage, message: text.slice(0, 150) }
      : {
          type: Office.MailboxEnums.ItemNotificationMessageType.InformationalMessage,
          message: text.slice(0, 150),
          icon: "Icon.16x16",
          persistent: false,
        };
    item.notificationMessages.replaceAsync(key, message, (result) => {
      resolve(result.status === Office.AsyncResultStatus.Succeeded);
    });
  });
}

/** Opens a CRM page in the user's browser (Office's own API where present, else a new tab). */
export function openInBrowser(url) {
  const ui = Office.context && Office.context.ui;
  if (ui && typeof ui.openBrowserWindow === "function") {
    try {
      ui.openBrowserWindow(url);
      return;
    } catch {
      // Hosts without OpenBrowserWindowApi 1.1 throw: fall through.
    }
  }
  window.open(url, "_blank", "noopener");
}
