// The filed email's attachments in the pane: name, size and what the CRM holds of each, from the
// message view's `attachments`; a stored file (or a link) opens in the CRM, in the browser.
import { language, t } from "../../addin/shared/i18n.js";
import * as mailbox from "../../addin/shared/mailbox.js";
import { $, el } from "./ui.js";

/** A size in words: bytes, KB or MB in the pane's language. */
export function fileSize(bytes, lang = language()) {
  const size = Number(bytes) || 0;
  const number = (value) => new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(value);
  if (size < 1024) return t("attachments.bytes", { size: number(size) });
  if (size < 1024 * 1024) return t("attachments.kb", { size: number(size / 1024) });
  return t("attachments.mb", { size: number(size / (1024 * 1024)) });
}

function opener(attachment) {
  const text = attachment.name || t("attachments.unnamed");
  const link = el("a", {
    href: attachment.url,
    target: "_blank",
    rel: "noopener noreferrer",
    "aria-label": t("attachments.open", { name: text }),
    text,
  });
  link.addEventListener("click", (event) => {
    event.preventDefault();
    mailbox.openInBrowser(attachment.url);
  });
  return link;
}

function row(attachment) {
  const opens = attachment.url && /^https?:\/\//i.test(attachment.url);
  const name = opens ? opener(attachment) : el("span", { text: attachment.name || t("attachments.unnamed") });
  const facts = [attachment.state === "link" ? null : fileSize(attachment.size)];
  if (attachment.state !== "stored") facts.push(t(`attachments.state_${attachment.state}`));
  return el(
    "li",
    { "data-state": attachment.state, "data-id": String(attachment.id) },
    name,
    el("span", { class: "kind", text: ` · ${facts.filter(Boolean).join(" · ")}` }),
  );
}

/** Lists the attachments of a filed message view (inline images are part of its body). */
export function render(data) {
  const files = ((data && data.attachments) || []).filter((a) => !a.inline);
  $("filed-attachments-title").hidden = !files.length;
  const list = $("filed-attachments");
  list.hidden = !files.length;
  list.replaceChildren(...files.map(row));
}
