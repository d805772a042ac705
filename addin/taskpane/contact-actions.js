// The People list's contact buttons: create CRM / Outlook contact, sync, link (search), open in CRM.
import * as api from "../../addin/shared/api.js";
import { t } from "../../addin/shared/i18n.js";
import * as mailbox from "../../addin/shared/mailbox.js";
import { announce, button, el, errorBox, isAbort, isBusy, setBusy, uid } from "./ui.js";

const SEARCH_DEBOUNCE_MS = 250;
const SEARCH_LIMIT = 20;

/**
 * The actions of one person row, plus the panel their inline forms open in.
 * `pane`: {messageId(), ticket(), isCurrent(ticket), call(fn, ticket), render(data, focus),
 * updatePeople(address, update, focusSelector)} from taskpane.js.
 */
export function contactActions(person, pane) {
  const name = person.name || person.address;
  const bar = el("div", { class: "person-actions", role: "group", "aria-label": t("people.actionsFor", { name }) });
  const panel = el("div", { class: "person-panel" });
  const wrap = el("div", {}, bar, panel);
  const row = { person, name, pane, bar, panel };

  if (!(person.contacts || []).length) {
    bar.append(toggle(row, "create-crm", t("people.createCrmContact"), () => createCrmForm(row)));
  }
  if (person.outlook_unknown) {
    // Not looked up in this answer: neither "create" nor "sync" would be honest.
  } else if (!person.outlook_contact_id) {
    bar.append(button(t("people.createOutlookContact"), { "data-action": "create-outlook", onclick: () => run(row, createOutlookContact) }));
  } else {
    bar.append(
      button(t("people.syncContact"), { "data-action": "sync", onclick: () => run(row, syncContact) }),
      toggle(row, "link", t("people.linkContact"), () => linkSearch(row)),
      button(t("people.openInCrm"), { "data-action": "open", onclick: () => run(row, openContact) }),
    );
  }
  return wrap;
}

// ---------------------------------------------------------------- running an action

/** Runs `action(row, ticket)` with the row busy, its error inline with Retry. */
async function run(row, action, ...args) {
  if (isBusy(row.bar)) return;
  const ticket = row.pane.ticket();
  row.panel.querySelector(".inline-alert")?.remove();
  setBusy(row.bar, true);
  setBusy(row.panel, true);
  try {
    await action(row, ticket, ...args);
  } catch (error) {
    if (!row.pane.isCurrent(ticket) || isAbort(error)) return;
    announce("");
    row.panel.append(errorBox(error, () => run(row, action, ...args)));
  } finally {
    setBusy(row.bar, false);
    setBusy(row.panel, false);
  }
}

function withContact(person, contact) {
  const others = (person.contacts || []).filter((c) => c.id !== contact.id);
  const known = (person.contacts || []).find((c) => c.id === contact.id);
  return { ...person, contacts: [{ ...contact, company: contact.company ?? known?.company ?? null }, ...others] };
}

async function createOutlookContact(row, ticket) {
  announce(t("status.saving"));
  const answer = await row.pane.call(() => api.createOutlookContact(row.person.address, row.person.name || "", { signal: ticket.signal }), ticket);
  if (!row.pane.isCurrent(ticket)) return;
  row.pane.updatePeople(row.person.address, (p) => ({ ...p, outlook_contact_id: answer.id }), '[data-action="sync"]');
  announce(t(answer.created ? "command.contactCreated" : "command.contactExists", { name: row.name }));
}

async function syncContact(row, ticket) {
  announce(t("contact.syncing"));
  const answer = await row.pane.call(() => api.syncOutlookContact(row.person.outlook_contact_id, { signal: ticket.signal }), ticket);
  if (!row.pane.isCurrent(ticket)) return;
  const contact = { id: answer.crm_contact_id, name: answer.name || row.name, url: answer.crm_url };
  row.pane.updatePeople(row.person.address, (p) => withContact(p, contact), '[data-action="sync"]');
  announce(t(answer.created ? "contact.syncedCreated" : "contact.synced", { name: contact.name }));
}

async function openContact(row, ticket) {
  announce(t("status.opening"));
  const answer = await row.pane.call(() => api.outlookContactCrmUrl(row.person.outlook_contact_id, { signal: ticket.signal }), ticket);
  if (!row.pane.isCurrent(ticket)) return;
  mailbox.openInBrowser(answer.url);
  announce("");
}

// ---------------------------------------------------------------- inline panels

/** A button that opens (or closes) one inline panel of the row. */
function toggle(row, action, text, build) {
  const control = button(text, { "data-action": action, "aria-expanded": "false" });
  control.addEventListener("click", () => {
    const open = control.getAttribute("aria-expanded") === "true";
    closePanel(row);
    if (open) return;
    const content = build();
    content.id = uid(`panel-${action}`);
    control.setAttribute("aria-controls", content.id);
    control.setAttribute("aria-expanded", "true");
    row.panel.append(content);
    content.querySelector("input")?.focus();
  });
  return control;
}

function closePanel(row, { focus = false } = {}) {
  const opener = row.bar.querySelector('[aria-expanded="true"]');
  row.panel.replaceChildren();
  for (const control of row.bar.querySelectorAll("[aria-expanded]")) control.setAttribute("aria-expanded", "false");
  if (focus && opener) opener.focus();
}

function field(labelText, input) {
  input.id = input.id || uid("field");
  return el("div", { class: "field" }, el("label", { for: input.id, text: labelText }), input);
}

function createCrmForm(row) {
  const nameInput = el("input", { name: "name", value: row.person.name || "", autocomplete: "off", maxLength: 512 });
  const addressInput = el("input", { name: "address", type: "email", value: row.person.address, required: true, maxLength: 254 });
  const companyInput = el("input", { name: "company", autocomplete: "organization", maxLength: 256 });
  const form = el(
    "form",
    { class: "inline-form", "aria-label": t("people.createCrmContact"), novalidate: false },
    field(t("contact.name"), nameInput),
    field(t("contact.address"), addressInput),
    field(t("contact.companyOptional"), companyInput),
    el(
      "div",
      { class: "form-actions" },
      el("button", { type: "submit", class: "button primary", value: "link", "data-action": "create-and-link" }, t("contact.createAndLink")),
      el("button", { type: "submit", class: "button", value: "only", "data-action": "create-only" }, t("contact.createOnly")),
      button(t("action.cancel"), { onclick: () => closePanel(row, { focus: true }) }),
    ),
  );
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closePanel(row, { focus: true });
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {
      address: addressInput.value.trim(),
      name: nameInput.value.trim(),
      link_email: !(event.submitter && event.submitter.value === "only"),
    };
    if (companyInput.value.trim()) body.company = companyInput.value.trim();
    run(row, createCrmContact, body);
  });
  return form;
}

async function createCrmContact(row, ticket, body) {
  announce(t(body.link_email ? "status.syncing" : "status.saving"));
  const answer = await row.pane.call(
    () => api.createCrmContactFromMessage(row.pane.messageId(), body, { signal: ticket.signal }),
    ticket,
  );
  if (!row.pane.isCurrent(ticket)) return;
  const contact = { id: answer.crm_contact_id, name: answer.name || body.name || body.address, url: answer.crm_url, company: answer.company };
  const focus = ".matches a";
  if (answer.message) row.pane.render(answer.message, { address: row.person.address, selector: focus });
  else row.pane.updatePeople(row.person.address, (p) => withContact(p, contact), focus);
  const key = body.link_email ? "contact.createdLinked" : answer.created ? "contact.created" : "contact.existed";
  announce(t(key, { name: contact.name }));
}

// ---------------------------------------------------------------- link: search as you type

function linkSearch(row) {
  const listId = uid("results");
  const input = el("input", {
    type: "search", role: "combobox", autocomplete: "off", value: row.person.address, // its contacts come first
    "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": listId,
  });
  const list = el("ul", { id: listId, class: "listbox", role: "listbox", "aria-label": t("link.results") });
  const info = el("p", { class: "muted search-info", "aria-live": "polite" });
  const box = el(
    "div",
    { class: "inline-form link-search" },
    field(t("link.find"), input),
    info,
    list,
    el("div", { class: "form-actions" }, button(t("action.cancel"), { onclick: () => closePanel(row, { focus: true }) })),
  );
  const state = { timer: 0, controller: null, seq: 0, results: [], active: -1 };
  const ticket = row.pane.ticket(); // the pane moving to another message ends the search too
  ticket.signal.addEventListener("abort", () => state.controller && state.controller.abort(), { once: true });

  const setActive = (index) => {
    state.active = index;
    [...list.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    const current = list.children[index];
    if (current) {
      input.setAttribute("aria-activedescendant", current.id);
      current.scrollIntoView({ block: "nearest" });
    } else input.removeAttribute("aria-activedescendant");
  };
  const showList = (open) => input.setAttribute("aria-expanded", String(open && state.results.length > 0));

  const search = async () => {
    const q = input.value.trim();
    if (state.controller) state.controller.abort(); // a stale answer must never replace a newer one
    state.seq += 1;
    const seq = state.seq;
    box.querySelector(".inline-alert")?.remove();
    if (!q) {
      state.results = [];
      list.replaceChildren();
      showList(false);
      info.textContent = t("link.typeToSearch");
      return;
    }
    if (!row.pane.isCurrent(ticket)) return;
    state.controller = new AbortController();
    info.textContent = t("link.searching");
    list.setAttribute("aria-busy", "true");
    try {
      const answer = await api.searchCrmContacts(q, SEARCH_LIMIT, { signal: state.controller.signal });
      if (seq !== state.seq) return;
      state.results = (answer.contacts || []).slice(0, SEARCH_LIMIT);
      list.replaceChildren(...state.results.map((contact, i) => option(contact, `${listId}-${i}`, () => choose(contact))));
      setActive(-1);
      showList(true);
      info.textContent = state.results.length ? t("link.found", { count: state.results.length }) : t("link.none", { q });
    } catch (error) {
      if (seq !== state.seq || isAbort(error)) return;
      info.textContent = "";
      box.insertBefore(errorBox(error, search), list);
    } finally {
      if (seq === state.seq) list.setAttribute("aria-busy", "false");
    }
  };

  const choose = (contact) => {
    if (state.controller) state.controller.abort();
    run(row, linkContact, contact);
  };

  input.addEventListener("input", () => {
    clearTimeout(state.timer);
    state.timer = setTimeout(search, SEARCH_DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (event) => {
    const count = state.results.length;
    if (event.key === "ArrowDown" && count) {
      event.preventDefault();
      showList(true);
      setActive((state.active + 1) % count);
    } else if (event.key === "ArrowUp" && count) {
      event.preventDefault();
      showList(true);
      setActive(state.active <= 0 ? count - 1 : state.active - 1);
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (state.active >= 0) choose(state.results[state.active]);
      else if (count === 1) choose(state.results[0]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      if (input.getAttribute("aria-expanded") === "true") {
        showList(false);
        setActive(-1);
      } else {
        closePanel(row, { focus: true });
      }
    }
  });
  setTimeout(() => {
    input.select();
    search();
  }, 0);
  return box;
}

function option(contact, id, onChoose) {
  // People read internationalised domains in Unicode (`display_emails`); `emails` is the matching form.
  const shown = (contact.display_emails || contact.emails || [])[0];
  const detail = [shown, contact.company && contact.company.name].filter(Boolean).join(" · ");
  const li = el(
    "li",
    { id, role: "option", class: "option", "aria-selected": "false", "data-id": String(contact.id) },
    el("span", { class: "option-name", text: contact.name }),
    detail ? el("span", { class: "option-detail", text: detail }) : null,
  );
  li.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus in the input
  li.addEventListener("click", onChoose);
  return li;
}

async function linkContact(row, ticket, contact) {
  announce(t("status.saving"));
  const answer = await row.pane.call(
    () => api.linkOutlookContact(row.person.outlook_contact_id, contact.id, { signal: ticket.signal }),
    ticket,
  );
  if (!row.pane.isCurrent(ticket)) return;
  const linked = { id: answer.crm_contact_id, name: answer.name || contact.name, url: answer.crm_url || contact.url, company: contact.company };
  row.pane.updatePeople(row.person.address, (p) => withContact(p, linked), '[data-action="link"]');
  announce(t("link.linked", { name: linked.name }));
}
