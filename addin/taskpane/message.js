// The open message: its subject, CRM state badge and link, loaded on every switch and rendered with its people.
import * as api from "../../addin/shared/api.js";
import { t } from "../../addin/shared/i18n.js";
import * as mailbox from "../../addin/shared/mailbox.js";
import { clearAlert, showAlert, showError } from "./alerts.js";
import { callPatiently, isCurrent, view } from "./current-view.js";
import * as filed from "./filed-email.js";
import { clearPeople, focusInPerson, keepOutlookContacts, renderPeople, renderPeopleSkeleton } from "./people.js";
import { $, announce, isAbort, skeleton } from "./ui.js";

const STATE_KEYS = { none: "state.none", synced: "state.synced", excluded: "state.excluded", pending: "state.pending" };

/**
 * Shows the open message at once from Outlook and loads its CRM view for `ticket`; `retry` runs when
 * the user asks again after a failed load. Returns whether a message is open (its actions apply).
 */
export function showMessage(ticket, retry) {
  filed.hide();
  $("multi").hidden = true;
  $("single").hidden = false;
  $("people-section").hidden = false;
  clearAlert();
  announce("");
  view.message = mailbox.currentMessage();
  view.data = null;
  if (!view.message) {
    $("subject").textContent = "";
    renderState(null);
    clearPeople();
    showAlert(t("error.noItem"));
    return false;
  }
  // The subject comes from Outlook at once; everything CRM-side is a skeleton until it arrives.
  $("subject").textContent = view.message.subject;
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
  } catch (error) {
    if (!isCurrent(ticket) || isAbort(error)) return;
    renderState(null);
    clearPeople();
    showError(error, retry);
  }
}

/** Shows a message view; `focus` ({address, selector}) puts focus back after the rows are rebuilt. */
export function render(data, focus) {
  if (data.outlook_contacts_checked === false) data = { ...data, people: keepOutlookContacts(data.people || []) };
  view.data = data;
  renderState(data.state);
  renderPeople(data.people || []);
  filed.show(data);
  if (focus) focusInPerson(focus.address, focus.selector);
}

function renderState(state) {
  const badge = $("state");
  badge.dataset.state = state || "unknown";
  if (state === "loading") {
    badge.replaceChildren(skeleton("skeleton-badge"));
    $("open-link").hidden = true;
    return;
  }
  badge.textContent = t(STATE_KEYS[state] || "state.unknown");
  const url = view.data && view.data.crm_url;
  $("open-link").hidden = !(url && (state === "synced" || view.data.crm_email_id));
  if (url) $("open-link").href = url;
}
