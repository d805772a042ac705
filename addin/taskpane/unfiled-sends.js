// Emails sent while the CRM could not be reached: the send handler (events/events.js) let them go
// out unfiled and wrote them down; the pane, read or compose, says so when it opens, with
// "File now" and "Dismiss".
//
// Where they are written down: Office.context.roamingSettings (Mailbox 1.1), the one store the
// event handlers and the pane share on every client. Classic Outlook on Windows runs the handlers
// in a JavaScript-only runtime that has no localStorage or cookies, and elsewhere the handlers'
// runtime is another page than the pane, so only the add-in's settings in the mailbox reach both.
// Outlook reads them when the pane opens (not while it stays open), hence "the next time".
/* global Office */
import * as api from "../../addin/shared/api.js";
import { language, t } from "../../addin/shared/i18n.js";
import { $, announce, button, el, errorBox, setBusy, when } from "./ui.js";

// The roaming setting's name and shape are shared with events/events.js (which cannot import):
// [{subject, to: [address], at: ISO time of Send, reason: "unreachable"|"error"}], the newest last.
export const UNFILED_KEY = "crm_unfiled_sends";

const settings = () => (typeof Office !== "undefined" && Office.context && Office.context.roamingSettings) || null;

/** The remembered sends, oldest first; [] when there are none or the client has no roaming settings. */
export function unfiledSends() {
  const store = settings();
  const list = store ? store.get(UNFILED_KEY) : null;
  return Array.isArray(list) ? list.filter((entry) => entry && entry.at) : [];
}

/**
 * Forgets one send (by its time and subject) and saves the settings. saveAsync stores the pane's
 * whole copy, read when it opened: a send noted by the handler while this pane stayed open is
 * overwritten by it. Office.js offers no finer write; the window is one pane's lifetime.
 */
async function forget(entry) {
  const store = settings();
  const rest = unfiledSends().filter((e) => !(e.at === entry.at && e.subject === entry.subject));
  if (rest.length) store.set(UNFILED_KEY, rest);
  else store.remove(UNFILED_KEY);
  await new Promise((resolve, reject) => {
    store.saveAsync((result) => (result.status === Office.AsyncResultStatus.Succeeded ? resolve() : reject(result.error)));
  });
}

function sentWhen(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  if (date.toDateString() === new Date().toDateString()) {
    return t("unfiled.atTime", { time: date.toLocaleTimeString(language(), { hour: "2-digit", minute: "2-digit" }) });
  }
  return t("unfiled.onDate", { date: when(iso, language()) });
}

/** Fills the #unfiled region (if the page has one) with a notice per remembered send. */
export function showUnfiledSends() {
  const region = $("unfiled");
  if (!region) return;
  const entries = unfiledSends().slice().reverse(); // the newest first
  region.replaceChildren(...entries.map((entry) => notice(entry, region)));
  region.hidden = entries.length === 0;
}

function notice(entry, region) {
  const subject = entry.subject || t("unfiled.noSubject");
  const reason = t(entry.reason === "unreachable" ? "unfiled.unreachable" : "unfiled.failed");
  const text = el("p", { text: t("unfiled.notice", { subject, when: sentWhen(entry.at), reason }) });
  const fileNow = button(t("action.fileNow"), { class: "button primary", "data-action": "file-unfiled" });
  const dismiss = button(t("unfiled.dismiss"), { "data-action": "dismiss-unfiled" });
  const actions = el("div", { class: "form-actions", role: "group", "aria-label": subject }, fileNow, dismiss);
  const box = el("div", { class: "unfiled-send", role: "group", "aria-label": t("unfiled.title"), "data-at": entry.at }, text, actions);

  const done = async (message) => {
    try {
      await forget(entry);
    } catch {
      // Not saved: the notice comes back next time, and "Dismiss" removes it then.
    }
    const next = box.nextElementSibling || box.previousElementSibling;
    box.remove();
    region.hidden = region.children.length === 0;
    announce(message);
    if (next) next.querySelector("button")?.focus();
  };

  const file = async () => {
    if (box.getAttribute("aria-busy") === "true") return;
    box.querySelector(".inline-alert")?.remove();
    setBusy(box, true);
    announce(t("status.syncing"));
    try {
      const found = await api.findSent({ subject: entry.subject || "", sentAt: entry.at, to: (entry.to || []).slice(0, 20) });
      const message = (found.messages || [])[0];
      if (!message) {
        announce("");
        box.append(el("div", { class: "alert inline-alert", role: "alert" }, el("p", { text: t("unfiled.notFound") })));
        return;
      }
      if (message.state !== "synced") await api.syncMessage(message.id);
      await done(t("unfiled.filed", { subject }));
    } catch (error) {
      announce("");
      box.append(errorBox(error, file));
    } finally {
      setBusy(box, false);
    }
  };

  fileNow.addEventListener("click", file);
  dismiss.addEventListener("click", () => {
    if (box.getAttribute("aria-busy") !== "true") done(t("unfiled.dismissed"));
  });
  return box;
}
