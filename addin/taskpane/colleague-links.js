// What colleagues file the open message's conversation on and the user does not ("Adele Vance files this
// conversation on the case X. File yours too?"), with one click that makes the user's OWN link: a
// colleague's link files only the colleague's mailbox, never this one (the message view's colleague_links).
import * as api from "../../addin/shared/api.js";
import { t } from "../../addin/shared/i18n.js";
import * as mailbox from "../../addin/shared/mailbox.js";
import { $, announce, button, el, errorBox, isAbort, isBusy, setBusy } from "./ui.js";

let pane = null;

export function init(paneApi) {
  pane = paneApi;
}

export function hide() {
  const box = $("colleague-links");
  box.hidden = true;
  box.replaceChildren();
}

/** One line per record a colleague files this conversation on; nothing when there is none. */
export function show(data) {
  const suggestions = (data && data.colleague_links) || [];
  if (!suggestions.length) {
    hide();
    return;
  }
  const box = $("colleague-links");
  box.replaceChildren(...suggestions.map((suggestion) => line(suggestion)));
  box.hidden = false;
}

function line(suggestion) {
  const kind = suggestion.target_type === "task" ? "task" : "case";
  const text = el("p", { text: t(`suggest.${kind}`, { name: suggestion.made_by, title: suggestion.title }) });
  const row = el("div", { class: "suggestion", "data-target": `${kind}:${suggestion.target_id}` }, text);
  const action = button(t("suggest.action"), {
    class: "button",
    "data-action": "file-mine-too",
    "aria-label": t("suggest.actionLabel", { title: suggestion.title }),
    onclick: () => fileMineToo(suggestion, row),
  });
  row.append(action);
  return row;
}

/** Files this message (when it is not filed yet), then links its conversation to the record as the user's own link. */
async function fileMineToo(suggestion, row) {
  const ticket = pane.ticket();
  const id = pane.messageId();
  if (!id || isBusy(row)) return;
  row.querySelector(".inline-alert")?.remove();
  setBusy(row, true);
  announce(t("status.saving"));
  try {
    let data = pane.data();
    if (!data || !data.crm_email_id) {
      data = await pane.call(() => api.syncMessage(id, { signal: ticket.signal }), ticket);
      if (!pane.isCurrent(ticket)) return;
    }
    const targets = { [`${suggestion.target_type}_id`]: suggestion.target_id };
    await pane.call(() => api.linkConversation(data.crm_email_id, targets, { signal: ticket.signal }), ticket);
    if (!pane.isCurrent(ticket)) return;
    const fresh = await pane.call(
      () => api.getMessage(id, { signal: ticket.signal, message: pane.message(), own: mailbox.userAddress() }),
      ticket,
    );
    if (!pane.isCurrent(ticket)) return;
    pane.render(fresh);
    announce(t("suggest.done", { title: suggestion.title }));
  } catch (error) {
    if (!pane.isCurrent(ticket) || isAbort(error)) return;
    announce("");
    row.append(errorBox(error, () => fileMineToo(suggestion, row)));
  } finally {
    setBusy(row, false);
  }
}
