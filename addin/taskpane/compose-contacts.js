// "Create CRM contact" for the compose pane's recipients, as the read pane offers it for a
// message's people: only for a recipient the CRM does not know, outside the organisation's
// domains and not on the user's never-sync list (the match answer's `external` and `never_sync`).
// A draft is not filed, so the contact is made from the address and the name Outlook shows.
import * as api from "../../addin/shared/api.js";
import { t } from "../../addin/shared/i18n.js";
import { $, announce, button, el, errorBox, isBusy, setBusy, uid } from "./ui.js";

/** Whether a recipient row gets "Create CRM contact". */
export const offersCreate = (person) =>
  person.valid !== false && !(person.contacts || []).length && person.external === true && person.never_sync !== true;

const sameAddress = (a, b) => String(a || "").toLowerCase() === String(b || "").toLowerCase();

function rowOf(address) {
  return [...$("people").children].find((li) => sameAddress(li.dataset.address, address)) || null;
}

/**
 * Adds the action to every row of `people` that should have it. `onCreated(address, person)`
 * gets the recipient as the backend now matches it (with the new contact).
 */
export function addCreateActions(people, onCreated) {
  for (const person of people.filter(offersCreate)) {
    const row = rowOf(person.address);
    const body = row && row.querySelector(".person-body");
    if (body) body.append(createAction(person, onCreated));
  }
}

function field(labelText, input) {
  input.id = uid("field");
  return el("div", { class: "field" }, el("label", { for: input.id, text: labelText }), input);
}

function createAction(person, onCreated) {
  const name = person.name && !sameAddress(person.name, person.address) ? person.name : "";
  const label = person.name || person.display_address || person.address;
  const opener = button(t("people.createCrmContact"), { "data-action": "create-crm", "aria-expanded": "false" });
  const bar = el("div", { class: "person-actions", role: "group", "aria-label": t("people.actionsFor", { name: label }) }, opener);
  const panel = el("div", { class: "person-panel" });

  const close = ({ focus = false } = {}) => {
    panel.replaceChildren();
    opener.setAttribute("aria-expanded", "false");
    if (focus) opener.focus();
  };

  opener.addEventListener("click", () => {
    if (opener.getAttribute("aria-expanded") === "true") return close();
    const nameInput = el("input", { name: "name", value: name, autocomplete: "off", maxLength: 512 });
    const companyInput = el("input", { name: "company", autocomplete: "organization", maxLength: 256 });
    const form = el(
      "form",
      { class: "inline-form", id: uid("panel-create-crm"), "aria-label": t("people.createCrmContact") },
      el("p", { class: "muted", text: person.display_address || person.address }),
      field(t("contact.name"), nameInput),
      field(t("contact.companyOptional"), companyInput),
      el(
        "div",
        { class: "form-actions" },
        el("button", { type: "submit", class: "button primary", "data-action": "create-contact" }, t("contact.create")),
        button(t("action.cancel"), { onclick: () => close({ focus: true }) }),
      ),
    );
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close({ focus: true });
    });
    const submit = async () => {
      if (isBusy(form)) return; // a second click while the first is under way
      form.querySelector(".inline-alert")?.remove();
      setBusy(form, true);
      announce(t("status.saving"));
      const payload = { address: person.address, name: nameInput.value.trim() };
      if (companyInput.value.trim()) payload.company = companyInput.value.trim();
      try {
        const answer = await api.createRecipientContact(payload);
        announce(t(answer.created ? "contact.created" : "contact.existed", { name: answer.name || label }));
        onCreated(person.address, answer.person);
      } catch (error) {
        announce("");
        form.append(errorBox(error, submit));
      } finally {
        setBusy(form, false);
      }
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    panel.replaceChildren(form);
    opener.setAttribute("aria-controls", form.id);
    opener.setAttribute("aria-expanded", "true");
    nameInput.focus();
  });
  return el("div", {}, bar, panel);
}

/** After a row is drawn again: focus its contact link (keyboard users stay where they were). */
export function focusMatch(address) {
  const row = rowOf(address);
  const target = row && (row.querySelector(".matches a") || row.querySelector("button"));
  if (target) target.focus();
}
