// The open message: its subject, CRM state badge and link, loaded on every switch and rendered with its people.
import * as api from "../../addin/shared/api.js";
import { t } from "../../addin/shared/i18n.js";
import * as mailbox from "../../addin/shared/mailbox.js";
import { clearAlert, showAlert, showError } from "./alerts.js";
import { callPatiently, isCurrent, view } from "./current-view.js";
import { renderActions } from "./action-row.js";
import * as colleagues from "./colleague-links.js";
import * as filed from "./filed-email.js";
import { actionsFor } from "./message-state.js";
import { clearPeople, focusInPerson, keepOutlookContacts, renderPeople, renderPeopleSkeleton } from "./people.js";
import { $, announce, isAbort, skeleton } from "./ui.js";

/**
 * Shows the open message at once from Outlook and loads its CRM view for `ticket`; `retry` runs when
 * the user asks again after a failed load. Returns whether a message is open (its actions apply).
 */
export function showMessage(ticket, retry) {
  filed.hide();
  colleagues.hide();
  $("multi").hidden = true;
  $("single").hidden = false;
  $("people-section").hidden = false;
  clearAlert();
  announce("");
  view.message = mailbox.currentMessage();
  view.data = null;
  if (!view.message) {
    $("subject").textContent = "";
    $("subject").title = "";
    renderState(null);
    clearPeople();
    showAlert(t("error.noItem"));
    return false;
  }
  // The subject comes from Outlook at once; everything CRM-side is a skeleton until it arrives.
  $("subject").textContent = view.message.subject;
  $("subject").title = view.message.subject; // a long subject is cut after a few lines
  renderState("loading");
  renderPeopleSkeleton(view.message);
  load(ticket, retry);
  return true;
}

async function load(ticket, retry) {
  const id = view.message.id;
  try {
    // Performance marks: bench/b5_pane_browser.py reads them (navigation -> API answer -> rendered state).
    performance.mark("crm:api-start");
    const open = () => api.getMessage(id, { signal: ticket.signal, message: view.message, own: mailbox.userAddress() });
    const data = await callPatiently(open, ticket);
    if (!isCurrent(ticket)) return;
    performance.mark("crm:api-answered");
    announce("");
    render(data);
    performance.mark("crm:rendered");
    followFiling(ticket);
  } catch (error) {
    if (!isCurrent(ticket) || isAbort(error)) return;
    renderState(null);
    clearPeople();
    showError(error, retry);
  }
}

// While the backend files the message on its own ("Filing in the CRM…"), the pane looks again now
// and then, so the badge turns to Synced without a reopen; it stops on a switch or an action.
const FOLLOW_EVERY_MS = 10_000;
const FOLLOW_TIMES = 6;

function followFiling(ticket, times = 0) {
  if (times >= FOLLOW_TIMES || actionsFor(view.data).situation !== "queued") return;
  setTimeout(async () => {
    if (!isCurrent(ticket) || view.busy || !view.message) return;
    try {
      const id = view.message.id;
      const data = await api.getMessage(id, { signal: ticket.signal, message: view.message, own: mailbox.userAddress() });
      if (!isCurrent(ticket) || view.busy) return;
      // Rebuild the rows only when nobody is typing in them; the badge and actions follow either way.
      const working = document.activeElement && document.activeElement.closest("#people, #filed-section");
      if (working) {
        view.data = { ...view.data, ...data, people: view.data.people };
        renderState(view.data);
      } else render(data);
      followFiling(ticket, times + 1);
    } catch {
      // A failed look is not worth an alert: the user can still press File now.
    }
  }, FOLLOW_EVERY_MS);
}

/** Shows a message view; `focus` ({address, selector}) puts focus back after the rows are rebuilt. */
export function render(data, focus) {
  if (data.outlook_contacts_checked === false) data = { ...data, people: keepOutlookContacts(data.people || []) };
  view.data = data;
  renderState(data);
  renderPeople(data.people || []);
  colleagues.show(data);
  filed.show(data);
  if (focus) focusInPerson(focus.address, focus.selector);
}

/** The badge, the note and the actions for a view (`"loading"`, or null when it failed to load). */
function renderState(data) {
  const badge = $("state");
  const shown = renderActions(data);
  badge.dataset.state = data === "loading" ? "loading" : (data && data.state) || "unknown";
  badge.dataset.situation = shown.situation;
  if (data === "loading") badge.replaceChildren(skeleton("skeleton-badge"));
  else badge.textContent = t(shown.badge);
}
