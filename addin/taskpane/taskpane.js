// The CRM panel's entry point: waits for Outlook, wires the sections together, follows the selected message(s).
/* global Office */
import { configureFromPage } from "../../addin/shared/auth.js";
import { translatePage, useOfficeLanguage } from "../../addin/shared/i18n.js";
import * as mailbox from "../../addin/shared/mailbox.js";
import { beginGeneration, callPatiently, currentTicket, isCurrent, view } from "./current-view.js";
import * as colleagues from "./colleague-links.js";
import * as filed from "./filed-email.js";
import * as actions from "./message-actions.js";
import { render, showMessage } from "./message.js";
import * as more from "./more.js";
import * as people from "./people.js";
import * as selection from "./selection.js";
import { $ } from "./ui.js";
import { showUnfiledSends } from "./unfiled-sends.js";

/** What the sections in other modules get from the pane (filed-email.js, colleague-links.js, contact-actions.js via people.js). */
const pane = {
  messageId: () => view.message && view.message.id,
  message: () => view.message,
  data: () => view.data,
  ticket: currentTicket,
  isCurrent,
  call: callPatiently,
  render,
  updatePeople: people.updatePeople,
};

Office.onReady((info) => {
  if (info.host !== Office.HostType.Outlook) return; // keep the "sideload me" block
  start();
});

function applyTheme() {
  const theme = Office.context.officeTheme;
  const hex = theme && theme.bodyBackgroundColor;
  if (!hex) return;
  const rgb = hex.replace("#", "").match(/.{2}/g).map((part) => parseInt(part, 16) / 255);
  const luminance = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  document.documentElement.dataset.theme = luminance < 0.5 ? "dark" : "light";
}

function start() {
  configureFromPage();
  useOfficeLanguage();
  applyTheme();
  translatePage();
  $("sideload").hidden = true;
  $("app").hidden = false;

  actions.init();
  selection.init();
  people.init(pane);
  filed.init(pane);
  colleagues.init(pane);
  more.init();
  showUnfiledSends();

  mailbox.onItemChanged(() => refresh());
  mailbox.onSelectionChanged(() => refresh());
  refresh();
}

/** Shows what Outlook has selected now, one message or several; an answer for an earlier selection is dropped. */
async function refresh() {
  const ticket = beginGeneration();
  const selected = await mailbox.selectedMessages();
  if (!isCurrent(ticket)) return;
  actions.setActionsBusy(false); // an action still running belongs to the message we just left
  if (selected.length > 1) selection.showSelection(selected);
  else actions.setActionsEnabled(showMessage(ticket, refresh));
}
