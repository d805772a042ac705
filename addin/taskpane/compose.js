// The CRM compose pane's entry point: recipients' CRM matches as they are typed, and the
// "File in the CRM when sent" choice, written on the draft so it travels with the message.
/* global Office */
import * as api from "../../addin/shared/api.js";
import { configureFromPage } from "../../addin/shared/auth.js";
import { errorKey } from "../../addin/shared/error-words.js";
import { t, translatePage, useOfficeLanguage } from "../../addin/shared/i18n.js";
import { addCreateActions, focusMatch } from "./compose-contacts.js";
import * as draft from "./compose-draft.js";
import { recordPicker } from "./filed-email.js";
import { renderPeople } from "./people.js";
import { $, announce, el } from "./ui.js";
import { showUnfiledSends } from "./unfiled-sends.js";

const DEBOUNCE_MS = 300;
const DEFAULTS = { compose_default: "crm_recipients", ask_on_send: false };

const state = { settings: DEFAULTS, decided: false, file: false, anyCrm: false, caseId: null, taskId: null, picker: null, people: [], can: null };
let timer = null;
let generation = 0;

Office.onReady((info) => {
  if (info.host !== Office.HostType.Outlook) return;
  start();
});

/** The user's compose settings; the backend's answer fills compose_default and ask_on_send. */
async function composeSettings() {
  try {
    return { ...DEFAULTS, ...(await api.getSettings()) };
  } catch {
    return DEFAULTS;
  }
}

async function start() {
  configureFromPage();
  useOfficeLanguage();
  translatePage();
  $("sideload").hidden = true;
  $("app").hidden = false;
  showUnfiledSends();
  state.can = draft.support();
  showLimits(state.can);
  $("compose-file").addEventListener("change", onToggle);
  const [settings, carried] = await Promise.all([composeSettings(), draft.choice()]);
  state.settings = settings;
  state.decided = carried.file !== null;
  state.file = carried.file === true;
  state.caseId = carried.caseId;
  state.taskId = carried.taskId;
  showChoice();
  // Without categories the switch could promise nothing: it stays off and disabled, the note says why.
  $("compose-file").disabled = !state.can.categories;
  const live = draft.onRecipientsChanged(() => {
    clearTimeout(timer);
    timer = setTimeout(refreshMatches, DEBOUNCE_MS);
  });
  if (!live) {
    $("compose-check").hidden = false;
    $("compose-check").addEventListener("click", () => refreshMatches());
  }
  await refreshMatches();
  loadPicker();
}

/** One server call per change of the recipients; an older answer is dropped. */
async function refreshMatches() {
  const mine = (generation += 1);
  const people = await draft.recipients();
  if (!people.length) {
    $("people").setAttribute("aria-busy", "false");
    $("people").replaceChildren(el("li", { class: "muted", text: t("compose.noRecipients") }));
    state.people = [];
    state.anyCrm = false;
    return followDefault();
  }
  $("people").setAttribute("aria-busy", "true");
  let answer;
  try {
    answer = await api.matchPeople(people.map((p) => p.address));
  } catch (error) {
    if (mine !== generation) return;
    $("people").setAttribute("aria-busy", "false");
    announce(t("compose.matchFailed", { message: t(errorKey(error)) }), "error");
    return;
  }
  if (mine !== generation) return;
  announce("");
  const byAddress = new Map((answer.people || []).map((p) => [String(p.address).toLowerCase(), p]));
  // The name Outlook shows for the recipient (the server only has the address).
  state.people = people.map((p) => {
    const known = byAddress.get(p.address) || { address: p.address, contacts: [] };
    return { ...known, name: p.name || known.name || "", role: p.role };
  });
  await showPeople();
}

async function showPeople() {
  renderPeople(state.people);
  addCreateActions(state.people, onContactCreated);
  state.anyCrm = state.people.some((p) => (p.contacts || []).length > 0);
  await followDefault();
}

/** A recipient just became a CRM contact: its row shows the match at once, as the next match would. */
async function onContactCreated(address, person) {
  state.people = state.people.map((p) => (p.address === address ? { ...p, ...person, name: p.name || person.name, role: p.role } : p));
  const shown = showPeople();
  focusMatch(address);
  await shown;
}

/**
 * What this Outlook cannot do in compose, said once in plain words with what still works: without
 * Mailbox 1.7 no live recipients (Check recipients instead); without 1.8 no category, so the
 * choice cannot travel with the email (file the sent copy; a picked case or task is still linked).
 */
function showLimits(can) {
  const lines = [];
  if (!can.categories) lines.push(t("compose.noCategories"));
  if (!can.liveRecipients) lines.push(t("compose.noLiveRecipients"));
  $("compose-limits").replaceChildren(...lines.map((text) => el("p", { class: "muted", text })));
  $("compose-limits").hidden = lines.length === 0;
}

/** Until the user decides, the toggle follows the default: always, with a CRM recipient, or never. */
async function followDefault() {
  if (state.decided || !state.can.categories) return;
  const wanted = { always: true, never: false }[state.settings.compose_default] ?? state.anyCrm;
  if (wanted === state.file) return;
  state.file = wanted;
  showChoice();
  await save(false);
}

async function onToggle() {
  state.decided = true;
  state.file = $("compose-file").checked;
  showChoice();
  await save(true);
}

let saving = Promise.resolve();

/** Writes the current choice on the draft; one write at a time (each saves the whole set of custom properties). */
function save(decided) {
  saving = saving.then(async () => {
    try {
      if (!state.can.categories) await draft.saveLinks({ caseId: state.caseId, taskId: state.taskId });
      else await draft.applyChoice({ file: state.file, caseId: state.caseId, taskId: state.taskId, decided: decided || state.decided });
    } catch (error) {
      announce(t("compose.saveFailed", { message: (error && error.message) || "" }), "error");
    }
  });
  return saving;
}

function showChoice() {
  $("compose-file").checked = state.file;
  $("compose-hint").textContent = state.can && !state.can.categories ? "" : t(state.file ? "compose.onHint" : "compose.offHint");
  // Without categories a picked case or task still travels (custom properties) and is linked when the sent copy is filed.
  const linkable = state.file || (state.can && !state.can.categories);
  $("compose-link").hidden = !linkable || !state.picker;
}

/** The read pane's case and task picker, without "New …" (a draft links to existing records only). */
async function loadPicker() {
  let cases;
  let tasks;
  try {
    [cases, tasks] = await Promise.all([api.listCases(), api.listTasks(null)]);
  } catch {
    return; // The toggle still works; linking can be done after filing.
  }
  const casePicker = recordPicker("case", cases.cases || [], { allowNew: false });
  const taskPicker = recordPicker("task", tasks.tasks || [], { allowNew: false });
  casePicker.select.value = state.caseId != null ? String(state.caseId) : "";
  taskPicker.select.value = state.taskId != null ? String(state.taskId) : "";
  const onPick = async () => {
    state.caseId = casePicker.select.value ? Number(casePicker.select.value) : null;
    state.taskId = taskPicker.select.value ? Number(taskPicker.select.value) : null;
    await save(state.decided);
  };
  casePicker.select.addEventListener("change", onPick);
  taskPicker.select.addEventListener("change", onPick);
  state.picker = true;
  $("compose-link").replaceChildren(el("h2", { text: t("compose.linkTo") }), ...casePicker.fields, ...taskPicker.fields);
  showChoice();
}
