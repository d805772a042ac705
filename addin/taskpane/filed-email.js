// The filed email's section: its attachments, case/task links (existing or new, a sharing rule), the conversation, notes.
import * as api from "../../addin/shared/api.js";
import { language, t } from "../../addin/shared/i18n.js";
import * as mailbox from "../../addin/shared/mailbox.js";
import * as attachments from "./filed-attachments.js";
import { $, announce, button, el, errorBox, isAbort, isBusy, setBusy, skeletonLines, uid, when } from "./ui.js";

const NEW = "new";

let pane = null;
// The email shown now; `ticket` ties every answer to it (a pinned pane moves on).
const shown = { emailId: null, ticket: null, data: null, cases: null, tasks: null };

export function init(paneApi) {
  pane = paneApi;
  $("filed-link-toggle").addEventListener("click", toggleLinkForm);
  $("note-form").addEventListener("submit", (event) => {
    event.preventDefault();
    addNote();
  });
}

/** Hides the section (another message, several messages, or not filed). */
export function hide() {
  shown.emailId = null;
  shown.ticket = null;
  $("filed-section").hidden = true;
  closeLinkForm();
}

/** Shows the section for a message view when it is filed; loads it once per email. */
export function show(data) {
  shown.data = data;
  if (!data || !data.crm_email_id) {
    hide();
    return;
  }
  $("filed-section").hidden = false;
  attachments.render(data); // every view: a pending file may have been fetched since
  if (shown.emailId === data.crm_email_id) return;
  shown.emailId = data.crm_email_id;
  shown.ticket = pane.ticket();
  closeLinkForm();
  loadLinks();
  loadNotes();
}

const current = (ticket, emailId) => pane.isCurrent(ticket) && shown.emailId === emailId;

// ---------------------------------------------------------------- links

async function loadLinks() {
  const { emailId, ticket } = shown;
  const box = $("filed-links");
  box.setAttribute("aria-busy", "true");
  box.replaceChildren(...skeletonLines(2));
  try {
    const [links, conversation] = await Promise.all([
      pane.call(() => api.emailLinks(emailId, { signal: ticket.signal }), ticket),
      shown.data.conversation_id
        ? pane.call(() => api.conversationLinks(emailId, { signal: ticket.signal }), ticket)
        : Promise.resolve({ links: [] }),
    ]);
    if (!current(ticket, emailId)) return;
    renderLinks(links.links || [], conversation.links || []);
  } catch (error) {
    if (!current(ticket, emailId) || isAbort(error)) return;
    box.replaceChildren(errorBox(error, loadLinks));
  } finally {
    box.setAttribute("aria-busy", "false");
  }
}

function recordLink(type, title, url) {
  const text = title || t(`filed.${type}`);
  const link = el("a", { href: url, target: "_blank", rel: "noopener noreferrer", "aria-label": t("filed.openRecord", { name: text }), text });
  link.addEventListener("click", (event) => {
    event.preventDefault();
    mailbox.openInBrowser(url);
  });
  return el("span", {}, el("span", { class: "kind", text: `${t(`filed.${type}`)}: ` }), link);
}

function renderLinks(links, conversationLinks) {
  const records = links.filter((l) => l.target_type === "case" || l.target_type === "task");
  const items = records.map((l) => el("li", { "data-type": l.target_type }, recordLink(l.target_type, l.title, l.url)));
  for (const l of conversationLinks) {
    // Each user's link files only their own mailbox, and only its maker stops it; a colleague's says whose it is.
    const mine = l.mine !== false;
    const unlink = mine
      ? button(t("filed.unlinkConversation"), {
        class: "button subtle",
        "aria-label": t("filed.unlinkConversationLabel", { name: l.title || "" }),
        onclick: () => unlinkConversation(l, unlink),
      })
      : el("span", { class: "muted", text: t("filed.linkedBy", { name: l.made_by || t("filed.someone") }) });
    items.push(
      el("li", { "data-type": "conversation", "data-mine": String(mine) },
        el("span", { class: "kind", text: `${t("filed.conversationLinked")} ` }),
        recordLink(l.target_type, l.title, l.url), " ", unlink),
    );
  }
  $("filed-links").replaceChildren(
    items.length ? el("ul", { class: "record-links" }, items) : el("p", { class: "muted", text: t("filed.noLinks") }),
  );
}

async function unlinkConversation(link, control) {
  const { emailId, ticket } = shown;
  if (isBusy(control)) return;
  setBusy(control, true);
  control.setAttribute("aria-busy", "true");
  try {
    await pane.call(() => api.unlinkConversation(link.id, { signal: ticket.signal }), ticket);
    if (!current(ticket, emailId)) return;
    announce(t("filed.conversationUnlinked"));
    await loadLinks();
    $("filed-link-toggle").focus();
  } catch (error) {
    if (!current(ticket, emailId) || isAbort(error)) return;
    control.closest("li").append(errorBox(error, () => unlinkConversation(link, control)));
  } finally {
    control.setAttribute("aria-busy", "false");
    setBusy(control, false);
  }
}

// ---------------------------------------------------------------- the link form

function closeLinkForm() {
  $("filed-link-form").hidden = true;
  $("filed-link-form").replaceChildren();
  $("filed-link-toggle").setAttribute("aria-expanded", "false");
}

function toggleLinkForm() {
  if ($("filed-link-toggle").getAttribute("aria-expanded") === "true") {
    closeLinkForm();
    return;
  }
  $("filed-link-toggle").setAttribute("aria-expanded", "true");
  const form = $("filed-link-form");
  form.hidden = false;
  form.replaceChildren(...skeletonLines(3));
  form.setAttribute("aria-busy", "true");
  loadChoices();
}

async function loadChoices() {
  const { emailId, ticket } = shown;
  const form = $("filed-link-form");
  try {
    const [cases, tasks] = await Promise.all([
      pane.call(() => api.listCases({ signal: ticket.signal }), ticket),
      pane.call(() => api.listTasks(null, { signal: ticket.signal }), ticket),
    ]);
    if (!current(ticket, emailId) || form.hidden) return;
    buildLinkForm(cases.cases || [], tasks.tasks || []);
  } catch (error) {
    if (!current(ticket, emailId) || isAbort(error)) return;
    form.replaceChildren(errorBox(error, loadChoices));
  } finally {
    form.setAttribute("aria-busy", "false");
  }
}

function labelled(text, control, extra = {}) {
  control.id = control.id || uid("filed");
  return el("div", { class: "field", ...extra }, el("label", { for: control.id, text }), control);
}

/** A record <select>: none, "New …" (reveals a title field; not with allowNew false), then the existing ones. */
export function recordPicker(kind, records, { allowNew = true } = {}) {
  const select = el(
    "select",
    { id: `link-${kind}`, name: kind },
    el("option", { value: "", text: t(`filed.no_${kind}`) }),
    allowNew ? el("option", { value: NEW, text: t(`filed.new_${kind}`) }) : null,
    records.length
      ? el("optgroup", { label: t(`filed.open_${kind}s`) }, records.map((r) => el("option", { value: String(r.id), text: r.title })))
      : null,
  );
  const title = el("input", { id: `link-${kind}-title`, name: `${kind}_title`, maxLength: 512, autocomplete: "off" });
  const titleField = labelled(t(`filed.title_${kind}`), title, { hidden: true });
  select.addEventListener("change", () => {
    titleField.hidden = select.value !== NEW;
    if (select.value === NEW) title.focus();
  });
  return { select, title, fields: [labelled(t(`filed.${kind}`), select), titleField] };
}

function buildLinkForm(cases, tasks) {
  const form = $("filed-link-form");
  const casePicker = recordPicker("case", cases);
  const taskPicker = recordPicker("task", tasks);
  const addresses = [...new Set((shown.data.people || []).filter((p) => p.valid !== false).map((p) => p.address))];

  const warningId = uid("rule-warning");
  const rule = el("input", { type: "checkbox", id: "link-rule", name: "sharing_rule", "aria-describedby": warningId, disabled: true });
  const ruleAddress = el("select", { id: "link-rule-address" }, addresses.map((a) => el("option", { value: a, text: a })));
  const ruleDetails = el(
    "div",
    { class: "rule-details", hidden: true },
    labelled(t("filed.ruleAddress"), ruleAddress),
  );
  const warning = el("p", { id: warningId, class: "warning", hidden: true, text: t("filed.ruleWarning") });
  const ruleHint = el("p", { class: "muted", text: t("filed.ruleNeedsCase") });
  const syncRule = () => {
    const hasCase = Boolean(casePicker.select.value);
    rule.disabled = !hasCase || !addresses.length;
    if (rule.disabled) rule.checked = false;
    ruleHint.hidden = hasCase;
    ruleDetails.hidden = !rule.checked;
    warning.hidden = !rule.checked;
  };
  casePicker.select.addEventListener("change", syncRule);
  rule.addEventListener("change", syncRule);

  const conversation = Boolean(shown.data.conversation_id);
  form.replaceChildren(
    ...casePicker.fields,
    ...taskPicker.fields,
    el("div", { class: "check" }, rule, el("label", { for: "link-rule", text: t("filed.createRule") })),
    ruleHint,
    ruleDetails,
    warning,
    el(
      "div",
      { class: "form-actions" },
      el("button", { type: "submit", class: "button primary", value: "email", "data-action": "link-email" }, t("filed.linkEmail")),
      conversation
        ? el("button", { type: "submit", class: "button", value: "conversation", "data-action": "link-conversation" }, t("filed.linkConversation"))
        : null,
      button(t("action.cancel"), {
        onclick: () => {
          closeLinkForm();
          $("filed-link-toggle").focus();
        },
      }),
    ),
  );
  form.onsubmit = (event) => {
    event.preventDefault();
    const whole = Boolean(event.submitter && event.submitter.value === "conversation");
    const targets = targetsOf(casePicker, taskPicker);
    if (!targets) return;
    submitLink({ whole, targets, rule: rule.checked ? ruleAddress.value : null, step: "link" });
  };
  form.onkeydown = (event) => {
    if (event.key === "Escape") {
      closeLinkForm();
      $("filed-link-toggle").focus();
    }
  };
  casePicker.select.focus();
}

/** {case_id|new_case, task_id|new_task} from the pickers, or null (with the reason shown). */
function targetsOf(casePicker, taskPicker) {
  const targets = {};
  for (const [kind, picker] of [["case", casePicker], ["task", taskPicker]]) {
    const value = picker.select.value;
    if (value === NEW) {
      const title = picker.title.value.trim();
      if (!title) {
        picker.title.setCustomValidity(t("filed.titleNeeded"));
        picker.title.reportValidity();
        picker.title.addEventListener("input", () => picker.title.setCustomValidity(""), { once: true });
        return null;
      }
      targets[`new_${kind}`] = { title };
    } else if (value) {
      targets[`${kind}_id`] = Number(value);
    }
  }
  if (!Object.keys(targets).length) {
    casePicker.select.setCustomValidity(t("filed.chooseSomething"));
    casePicker.select.reportValidity();
    casePicker.select.addEventListener("change", () => casePicker.select.setCustomValidity(""), { once: true });
    return null;
  }
  return targets;
}

/** Links (the email or its conversation), then adds the sharing rule; a retry resumes at the failed step. */
async function submitLink(request) {
  const { emailId, ticket } = shown;
  const form = $("filed-link-form");
  if (isBusy(form)) return;
  form.querySelector(".inline-alert")?.remove();
  setBusy(form, true);
  try {
    if (request.step === "link") {
      announce(t("status.saving"));
      const call = request.whole ? api.linkConversation : api.linkEmail;
      const answer = await pane.call(() => call(emailId, request.targets, { signal: ticket.signal }), ticket);
      if (!current(ticket, emailId)) return;
      const created = answer.created || {};
      request.caseId = created.case ? created.case.id : request.targets.case_id;
      request.caseTitle = created.case ? created.case.title : null;
      request.linkedEmails = answer.linked_emails;
      request.step = request.rule && request.caseId ? "rule" : "done";
    }
    if (request.step === "rule") {
      await pane.call(() => api.addSharingRule(request.caseId, request.rule, { signal: ticket.signal }), ticket);
      if (!current(ticket, emailId)) return;
      request.step = "done";
    }
    const said = [t(request.whole ? "filed.conversationDone" : "filed.linkDone")];
    if (request.rule) said.push(t("filed.ruleDone", { address: request.rule }));
    closeLinkForm();
    await loadLinks();
    announce(said.join(" "));
    $("filed-link-toggle").focus();
  } catch (error) {
    if (!current(ticket, emailId) || isAbort(error)) return;
    announce("");
    form.append(errorBox(error, () => submitLink(request)));
  } finally {
    setBusy(form, false);
  }
}

// ---------------------------------------------------------------- notes

async function loadNotes() {
  const { emailId, ticket } = shown;
  const list = $("filed-notes");
  list.setAttribute("aria-busy", "true");
  list.replaceChildren(el("li", { class: "note" }, skeletonLines(2)));
  try {
    const answer = await pane.call(() => api.listNotes(emailId, { signal: ticket.signal }), ticket);
    if (!current(ticket, emailId)) return;
    const notes = answer.notes || [];
    list.replaceChildren(...(notes.length ? notes.map(renderNote) : [el("li", { class: "muted empty", text: t("filed.noNotes") })]));
  } catch (error) {
    if (!current(ticket, emailId) || isAbort(error)) return;
    list.replaceChildren(el("li", {}, errorBox(error, loadNotes)));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

function renderNote(note) {
  const author = (note.author && note.author.name) || t("filed.someone");
  return el(
    "li",
    { class: "note", "data-id": String(note.id) },
    el("p", { class: "note-body", text: note.body }),
    el("p", { class: "muted", text: `${author} · ${when(note.created_at, language())}` }),
  );
}

async function addNote() {
  const { emailId, ticket } = shown;
  const form = $("note-form");
  const textarea = $("note-body");
  const body = textarea.value.trim();
  if (!body) {
    textarea.setCustomValidity(t("filed.noteNeeded"));
    textarea.reportValidity();
    textarea.addEventListener("input", () => textarea.setCustomValidity(""), { once: true });
    return;
  }
  if (isBusy(form)) return;
  form.querySelector(".inline-alert")?.remove();
  setBusy(form, true);
  announce(t("status.saving"));
  try {
    const note = await pane.call(() => api.addNote(emailId, body, { signal: ticket.signal }), ticket);
    if (!current(ticket, emailId)) return;
    const list = $("filed-notes");
    list.querySelector(".empty")?.remove();
    list.append(renderNote(note));
    textarea.value = "";
    announce(t("filed.noteAdded"));
  } catch (error) {
    if (!current(ticket, emailId) || isAbort(error)) return;
    announce("");
    form.append(errorBox(error, addNote));
  } finally {
    setBusy(form, false);
  }
}
