// The People list: who is on the open message, their CRM contacts and companies, each row's contact buttons.
import { t } from "../../addin/shared/i18n.js";
import * as mailbox from "../../addin/shared/mailbox.js";
import { contactActions } from "./contact-actions.js";
import { view } from "./current-view.js";
import { $, announce, el, skeleton } from "./ui.js";

let pane = null;

/** Takes what the rows' contact buttons need of the pane (listed in contact-actions.js). */
export function init(paneApi) {
  pane = paneApi;
}

const sameAddress = (a, b) => String(a || "").toLowerCase() === String(b || "").toLowerCase();

/**
 * An answer that did not look Outlook contacts up (after a sync) keeps what the pane knew for this
 * message; an address never looked up gets no Outlook-contact buttons rather than wrong ones.
 */
export function keepOutlookContacts(people) {
  const before = (view.data && view.data.people) || []; // view.data is always the open message's
  return people.map((person) => {
    const known = before.find((p) => sameAddress(p.address, person.address));
    return known ? { ...person, outlook_contact_id: known.outlook_contact_id, outlook_unknown: known.outlook_unknown }
      : { ...person, outlook_unknown: true };
  });
}

/** Puts focus on `selector` (else the first button or link) in the row of `address`. */
export function focusInPerson(address, selector) {
  const row = [...$("people").children].find((li) => sameAddress(li.dataset.address, address));
  const target = row && (row.querySelector(selector) || row.querySelector("button, a"));
  if (target) target.focus();
}

/** Applies `update(person)` to every row of `address` (a contact action's answer) and rebuilds them. */
export function updatePeople(address, update, focusSelector) {
  if (!view.data) return;
  view.data = { ...view.data, people: (view.data.people || []).map((p) => (sameAddress(p.address, address) ? update(p) : p)) };
  const rows = [...$("people").children];
  view.data.people.forEach((person, index) => {
    if (sameAddress(person.address, address) && rows[index]) rows[index].replaceWith(renderPerson(person));
  });
  if (focusSelector) focusInPerson(address, focusSelector);
}

/** Grey rows, about as many as the message has people, while its CRM view loads. */
export function renderPeopleSkeleton(message) {
  const count = Math.min(4, 1 + message.to.length + message.cc.length);
  const rows = Array.from({ length: count }, (_, i) =>
    el(
      "li",
      { class: "person" },
      skeleton("skeleton-line", "28px"),
      el("div", { class: "person-body" }, skeleton("skeleton-line", `${60 + ((i * 17) % 30)}%`), skeleton("skeleton-line", "40%")),
    ),
  );
  $("people").replaceChildren(...rows);
  $("people").setAttribute("aria-busy", "true");
  announce(t("status.loading"));
}

/** Empties the list (no message, or its CRM view failed to load). */
export function clearPeople() {
  $("people").replaceChildren();
  $("people").setAttribute("aria-busy", "false");
}

export function renderPeople(people) {
  const list = $("people");
  list.setAttribute("aria-busy", "false");
  if (!people.length) {
    list.replaceChildren(el("li", { class: "muted", text: t("people.none") }));
    return;
  }
  list.replaceChildren(...people.map(renderPerson));
}

function crmLink(text, url, labelKey) {
  return el("a", {
    href: url,
    text,
    title: text,
    target: "_blank",
    rel: "noopener noreferrer",
    "aria-label": t(labelKey, { name: text }),
    onclick: (event) => {
      event.preventDefault();
      mailbox.openInBrowser(url);
    },
  });
}

function renderMatch(contact) {
  const company = contact.company;
  return el(
    "li",
    { class: "match" },
    contact.url ? crmLink(contact.name, contact.url, "people.openContact") : contact.name,
    company ? [" · ", company.url ? crmLink(company.name, company.url, "people.openCompany") : company.name] : null,
  );
}

function renderPerson(person) {
  // `address` is the matching form (IDNA domain); people read `display_address` (Unicode domain).
  const shown = person.display_address || person.address;
  const body = el("div", { class: "person-body" }, el("div", { class: "person-name", text: person.name || shown, title: person.name || shown }));
  if (person.name && person.name !== person.address && person.name !== shown) body.append(el("div", { class: "address", text: shown }));
  const contacts = person.contacts || [];
  body.append(
    contacts.length
      ? el("ul", { class: "matches" }, contacts.map(renderMatch))
      : el("p", { class: "muted", text: t("people.notInCrm") }),
  );
  if (person.outlook_contact_id) body.append(el("span", { class: "tag", text: t("people.inOutlook") }));
  // The compose pane shows the same rows without the buttons (no pane API: a draft is not filed yet).
  if (person.valid !== false && pane) body.append(contactActions(person, pane));
  return el("li", { class: "person", "data-address": person.address }, el("span", { class: "role", text: t(`people.${person.role}`) }), body);
}
