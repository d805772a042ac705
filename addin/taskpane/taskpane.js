// The CRM panel's DOM wiring: renders the open message's CRM state and people, runs the actions.
/* global Office */
import * as api from "./api.js";
import { configure as configureAuth, getToken, SignInNeeded } from "./auth.js";
import { contactActions } from "./contact-actions.js";
import * as filed from "./filed-email.js";
import { t, translatePage, useOfficeLanguage } from "./i18n.js";
import * as mailbox from "./mailbox.js";
import * as more from "./more.js";
import { describeError } from "./ui.js";

// The People list's contact buttons (contact-actions.js, on the contacts API).
const FEATURES = { contactActions: true };
const BATCH_CHUNK = 20;

const $ = (id) => document.getElementById(id);

// What the pane shows now. `generation` grows on every switch, so a late answer for an
// earlier message (or selection) is dropped instead of rendered under the wrong subject.
const view = { generation: 0, controller: null, message: null, data: null, busy: false };

Office.onReady((info) => {
  if (info.host !== Office.HostType.Outlook) return; // keep the "sideload me" block
  start();
});

function readConfig() {
  try {
    return JSON.parse(document.querySelector('meta[name="crm-config"]').content || "{}");
  } catch {
    return {};
  }
}

function applyTheme() {
  const theme = Office.context.officeTheme;
  const hex = theme && theme.bodyBackgroundColor;
  if (!hex) return;
  const rgb = hex.replace("#", "").match(/.{2}/g).map((part) => parseInt(part, 16) / 255);
  const luminance = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  document.documentElement.dataset.theme = luminance < 0.5 ? "dark" : "light";
}

function start() {
  configureAuth(readConfig());
  useOfficeLanguage();
  applyTheme();
  translatePage();
  $("sideload").hidden = true;
  $("app").hidden = false;

  $("btn-sync").addEventListener("click", () => runAction("sync"));
  $("btn-mark-synced").addEventListener("click", () => runAction("markSynced"));
  $("btn-mark-unsynced").addEventListener("click", () => runAction("markUnsynced"));
  $("btn-open").addEventListener("click", () => runAction("open"));
  $("open-link").addEventListener("click", (event) => {
    event.preventDefault();
    runAction("open");
  });
  $("multi-sync").addEventListener("click", () => syncSelection());
  filed.init(paneApi);
  more.init();

  mailbox.onItemChanged(() => refresh());
  mailbox.onSelectionChanged(() => refresh());
  refresh();
}

// ---------------------------------------------------------------- switching messages

function beginGeneration() {
  if (view.controller) view.controller.abort();
  view.generation += 1;
  view.controller = new AbortController();
  return { generation: view.generation, signal: view.controller.signal };
}

const isCurrent = (ticket) => ticket.generation === view.generation;

async function refresh() {
  const ticket = beginGeneration();
  const selected = await mailbox.selectedMessages();
  if (!isCurrent(ticket)) return;
  if (selected.length > 1) showSelection(selected);
  else showMessage(ticket);
}

function showMessage(ticket) {
  setActionsBusy(false); // an action still running belongs to the message we just left
  filed.hide();
  $("multi").hidden = true;
  $("single").hidden = false;
  $("people-section").hidden = false;
  clearAlert();
  setStatus("");
  view.message = mailbox.currentMessage();
  view.data = null;
  if (!view.message) {
    $("subject").textContent = "";
    renderState(null);
    $("people").replaceChildren();
    showAlert(t("error.noItem"));
    setActionsEnabled(false);
    return;
  }
  // The subject comes from Outlook at once; everything CRM-side is a skeleton until it arrives.
  $("subject").textContent = view.message.subject;
  renderState("loading");
  renderPeopleSkeleton(view.message);
  setActionsEnabled(true);
  load(ticket);
}

async function load(ticket) {
  const id = view.message.id;
  try {
    // Performance marks: bench B5 reads them (navigation -> API answer -> rendered state).
    performance.mark("crm:api-start");
    const open = () => api.getMessage(id, { signal: ticket.signal, message: view.message, own: mailbox.userAddress() });
    const data = await api.withBusyRetry(open, {
      signal: ticket.signal,
      onWait: (seconds) => isCurrent(ticket) && showBusy(seconds),
    });
    if (!isCurrent(ticket)) return;
    performance.mark("crm:api-answered");
    setStatus("");
    render(data);
    performance.mark("crm:rendered");
  } catch (error) {
    if (!isCurrent(ticket) || isAbort(error)) return;
    renderState(null);
    $("people").replaceChildren();
    $("people").setAttribute("aria-busy", "false");
    showError(error, () => refresh());
  }
}

// ---------------------------------------------------------------- rendering

/** Shows a message view; `focus` ({address, selector}) puts focus back after the rows are rebuilt. */
function render(data, focus) {
  if (data.outlook_contacts_checked === false) data = { ...data, people: keepOutlookContacts(data.people || []) };
  view.data = data;
  renderState(data.state);
  renderPeople(data.people || []);
  filed.show(data);
  if (focus) focusInPerson(focus.address, focus.selector);
}

/**
 * An answer that did not look Outlook contacts up (after a sync) keeps what the pane knew for this
 * message; an address never looked up gets no Outlook-contact buttons rather than wrong ones.
 */
function keepOutlookContacts(people) {
  const before = (view.data && view.data.people) || []; // view.data is always the open message's
  return people.map((person) => {
    const known = before.find((p) => sameAddress(p.address, person.address));
    return known ? { ...person, outlook_contact_id: known.outlook_contact_id, outlook_unknown: known.outlook_unknown }
      : { ...person, outlook_unknown: true };
  });
}

const sameAddress = (a, b) => String(a || "").toLowerCase() === String(b || "").toLowerCase();

function focusInPerson(address, selector) {
  const row = [...$("people").children].find((li) => sameAddress(li.dataset.address, address));
  const target = row && (row.querySelector(selector) || row.querySelector("button, a"));
  if (target) target.focus();
}

/** Applies `update(person)` to every row of `address` (a contact action's answer) and rebuilds them. */
function updatePeople(address, update, focusSelector) {
  if (!view.data) return;
  view.data = { ...view.data, people: (view.data.people || []).map((p) => (sameAddress(p.address, address) ? update(p) : p)) };
  const rows = [...$("people").children];
  view.data.people.forEach((person, index) => {
    if (sameAddress(person.address, address) && rows[index]) rows[index].replaceWith(renderPerson(person));
  });
  if (focusSelector) focusInPerson(address, focusSelector);
}

/** What the sections in other modules get from the pane. */
const paneApi = {
  messageId: () => view.message && view.message.id,
  message: () => view.data,
  ticket: () => ({ generation: view.generation, signal: view.controller.signal }),
  isCurrent: (ticket) => isCurrent(ticket),
  call: (fn, ticket) =>
    api.withBusyRetry(fn, { signal: ticket.signal, onWait: (seconds) => isCurrent(ticket) && showBusy(seconds) }),
  render: (data, focus) => render(data, focus),
  updatePeople,
};

const STATE_KEYS = { none: "state.none", synced: "state.synced", excluded: "state.excluded", pending: "state.pending" };

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

function skeleton(extraClass, width) {
  const el = document.createElement("span");
  el.className = `skeleton ${extraClass || ""}`;
  if (width) el.style.width = width;
  el.setAttribute("aria-hidden", "true");
  return el;
}

function renderPeopleSkeleton(message) {
  const count = Math.min(4, 1 + message.to.length + message.cc.length);
  const rows = [];
  for (let i = 0; i < count; i += 1) {
    const li = document.createElement("li");
    li.className = "person";
    const body = document.createElement("div");
    body.className = "person-body";
    body.append(skeleton("skeleton-line", `${60 + ((i * 17) % 30)}%`), skeleton("skeleton-line", "40%"));
    li.append(skeleton("skeleton-line", "28px"), body);
    rows.push(li);
  }
  $("people").replaceChildren(...rows);
  $("people").setAttribute("aria-busy", "true");
  setStatus(t("status.loading"));
}

function crmLink(text, url, labelKey) {
  const a = document.createElement("a");
  a.href = url;
  a.textContent = text;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  a.setAttribute("aria-label", t(labelKey, { name: text }));
  a.addEventListener("click", (event) => {
    event.preventDefault();
    mailbox.openInBrowser(url);
  });
  return a;
}

function renderPerson(person) {
  const li = document.createElement("li");
  li.className = "person";
  li.dataset.address = person.address;

  const role = document.createElement("span");
  role.className = "role";
  role.textContent = t(`people.${person.role}`);
  const body = document.createElement("div");
  body.className = "person-body";
  const name = document.createElement("div");
  name.className = "person-name";
  name.textContent = person.name || person.address;
  body.append(name);
  if (person.name && person.name !== person.address) {
    const address = document.createElement("div");
    address.className = "address";
    address.textContent = person.address;
    body.append(address);
  }
  li.append(role, body);

  const contacts = person.contacts || [];
  if (contacts.length) {
    const list = document.createElement("ul");
    list.className = "matches";
    for (const contact of contacts) {
      const item = document.createElement("li");
      item.className = "match";
      item.append(contact.url ? crmLink(contact.name, contact.url, "people.openContact") : document.createTextNode(contact.name));
      if (contact.company) {
        item.append(document.createTextNode(" · "));
        const company = contact.company;
        item.append(company.url ? crmLink(company.name, company.url, "people.openCompany") : document.createTextNode(company.name));
      }
      list.append(item);
    }
    body.append(list);
  } else {
    const none = document.createElement("p");
    none.className = "muted";
    none.textContent = t("people.notInCrm");
    body.append(none);
  }
  if (person.outlook_contact_id) {
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = t("people.inOutlook");
    body.append(tag);
  }
  if (FEATURES.contactActions && person.valid !== false) body.append(contactActions(person, paneApi));
  return li;
}

function renderPeople(people) {
  const list = $("people");
  list.setAttribute("aria-busy", "false");
  if (!people.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = t("people.none");
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(...people.map(renderPerson));
}

// ---------------------------------------------------------------- status and errors

function setStatus(text, kind = "") {
  const status = $("status");
  status.textContent = text;
  status.dataset.kind = kind;
}

function showBusy(seconds) {
  if (seconds > 0) setStatus(t("busy.retrying", { seconds }), "busy");
  else setStatus(t("status.loading"));
}

function clearAlert() {
  $("alert").hidden = true;
}

function showAlert(text, actionLabel, onAction) {
  $("alert-text").textContent = text;
  const button = $("alert-action");
  button.hidden = !actionLabel;
  if (actionLabel) {
    button.textContent = actionLabel;
    button.onclick = () => {
      clearAlert();
      onAction();
    };
  }
  $("alert").hidden = false;
}

const isAbort = (error) => error && error.name === "AbortError";

export { describeError };

function showError(error, retry) {
  setStatus("");
  if (error instanceof SignInNeeded) {
    showAlert(describeError(error), t("action.signIn"), async () => {
      try {
        await getToken({ forceRefresh: true, prompt: true });
        retry();
      } catch (again) {
        showError(again, retry);
      }
    });
    return;
  }
  showAlert(describeError(error), t("action.retry"), retry);
}

// ---------------------------------------------------------------- actions on one message

function setActionsEnabled(enabled) {
  for (const button of $("actions").querySelectorAll("button")) {
    button.disabled = !enabled;
  }
}

function setActionsBusy(busy) {
  view.busy = busy;
  $("actions").setAttribute("aria-busy", String(busy));
  for (const button of $("actions").querySelectorAll("button")) button.setAttribute("aria-disabled", String(busy));
}

function syncedStatus(data) {
  const contacts = new Set();
  for (const person of (data && data.people) || []) for (const contact of person.contacts || []) contacts.add(contact.id);
  if (contacts.size === 1) return t("status.syncedOneContact");
  return contacts.size ? t("status.syncedContacts", { count: contacts.size }) : t("status.synced");
}

async function runAction(kind) {
  if (view.busy || !view.message) return;
  const ticket = { generation: view.generation, signal: view.controller.signal };
  const id = view.message.id;
  const call = (fn) =>
    api.withBusyRetry(fn, { signal: ticket.signal, onWait: (seconds) => isCurrent(ticket) && showBusy(seconds) });
  clearAlert();
  setActionsBusy(true);
  try {
    let data;
    let done;
    if (kind === "sync") {
      setStatus(t("status.syncing"));
      data = await call(() => api.syncMessage(id, { signal: ticket.signal }));
      done = syncedStatus(data);
    } else if (kind === "markSynced" || kind === "markUnsynced") {
      setStatus(t("status.saving"));
      const state = kind === "markSynced" ? "synced" : "unsynced";
      data = await call(() => api.setMessageState(id, state, { signal: ticket.signal }));
      if (!data || !data.state) data = await call(() => api.getMessage(id, { signal: ticket.signal, message: view.message, own: mailbox.userAddress() }));
      done = t(kind === "markSynced" ? "status.markedSynced" : "status.markedUnsynced");
    } else {
      data = view.data;
      if (!data || data.state !== "synced" || !data.crm_url) {
        setStatus(t("status.syncing"));
        data = await call(() => api.syncMessage(id, { signal: ticket.signal }));
      }
      if (!isCurrent(ticket)) return;
      if (!data.crm_url) throw new api.ApiError(404, "no_url", "");
      setStatus(t("status.opening"));
      mailbox.openInBrowser(data.crm_url);
      done = "";
    }
    if (!isCurrent(ticket)) return;
    render(data);
    setStatus(done);
  } catch (error) {
    if (!isCurrent(ticket) || isAbort(error)) return;
    showError(error, () => runAction(kind));
  } finally {
    if (isCurrent(ticket)) setActionsBusy(false);
  }
}

// ---------------------------------------------------------------- several messages

function showSelection(selected) {
  setActionsBusy(false);
  filed.hide();
  $("single").hidden = true;
  $("people-section").hidden = true;
  $("multi").hidden = false;
  clearAlert();
  setStatus("");
  view.message = null;
  view.selection = selected;
  $("multi-title").textContent = t("multi.title", { count: selected.length });
  const button = $("multi-sync");
  button.textContent = t("multi.sync", { count: selected.length });
  button.disabled = false;
  $("multi-summary").textContent = "";
  $("multi-list").replaceChildren(
    ...selected.map((message) => {
      const li = document.createElement("li");
      li.dataset.id = message.id;
      const row = document.createElement("div");
      row.className = "multi-row";
      const subject = document.createElement("span");
      subject.className = "multi-subject";
      subject.textContent = message.subject || t("multi.noSubject");
      const result = document.createElement("span");
      result.className = "result";
      result.dataset.result = "idle";
      row.append(subject, result);
      li.append(row);
      return li;
    }),
  );
}

function setRowResult(id, result, detail = "") {
  const li = $("multi-list").querySelector(`li[data-id="${CSS.escape(id)}"]`);
  if (!li) return;
  const badge = li.querySelector(".result");
  badge.dataset.result = result;
  badge.textContent = t(`multi.${result}`);
  li.querySelector(".result-detail")?.remove();
  if (detail) {
    const p = document.createElement("span");
    p.className = "result-detail";
    p.textContent = detail;
    li.append(p);
  }
}

async function syncSelection() {
  const selected = view.selection || [];
  if (!selected.length) return;
  const ticket = { generation: view.generation, signal: view.controller.signal };
  const ids = selected.map((message) => message.id);
  $("multi-sync").disabled = true;
  for (const id of ids) setRowResult(id, "waiting");
  let ok = 0;
  for (let start = 0; start < ids.length; start += BATCH_CHUNK) {
    const chunk = ids.slice(start, start + BATCH_CHUNK);
    for (const id of chunk) setRowResult(id, "syncing");
    try {
      const answer = await api.withBusyRetry(() => api.batchSync(chunk, { signal: ticket.signal }), {
        signal: ticket.signal,
        onWait: (seconds) => isCurrent(ticket) && showBusy(seconds),
      });
      if (!isCurrent(ticket)) return;
      setStatus("");
      for (const row of api.batchResults(answer, chunk)) {
        if (row.ok) {
          ok += 1;
          setRowResult(row.id, "done");
        } else {
          setRowResult(row.id, "failed", describeError(row.error));
        }
      }
    } catch (error) {
      if (!isCurrent(ticket) || isAbort(error)) return;
      for (const id of chunk) setRowResult(id, "failed", describeError(error));
    }
  }
  $("multi-summary").textContent = t("multi.summary", { ok, count: ids.length });
  $("multi-sync").disabled = false;
}
