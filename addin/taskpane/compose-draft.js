// The draft being written, through Office.js: its recipients, its category and the add-in's custom properties.
//
// The choice travels with the message: the category "Sync to CRM" (Mailbox 1.8) says "file it";
// the custom properties crm_case_id / crm_task_id (CRM ids, numbers) say what to link it to, and
// crm_file false records that the user turned filing off (so the send handler does not ask).
//
// The manifest's block declares Mailbox 1.5 (what Outlook on Android and iOS support), so a client
// may open this pane without the live recipients event (1.7) or categories (1.8): each is checked
// with isSetSupported before use, and support() says which the pane can count on.
/* global Office */

export const CATEGORY = "Sync to CRM";
// Typed (with item() as Office.js types it) so that scripts/check-office-api.mjs sees each Office.js call here.
const FIELDS = /** @type {const} */ (["to", "cc", "bcc"]);

const item = () => Office.context.mailbox.item;

const has = (version) => Boolean(Office.context.requirements && Office.context.requirements.isSetSupported("Mailbox", version));

/**
 * What this Outlook lets the pane do with the draft: `liveRecipients`, the RecipientsChanged event
 * (Mailbox 1.7); `categories`, the category that makes the choice travel (Mailbox 1.8).
 */
export function support() {
  return { liveRecipients: has("1.7"), categories: has("1.8") };
}

function officeCall(fn) {
  return new Promise((resolve, reject) => {
    fn((result) => (result.status === Office.AsyncResultStatus.Succeeded ? resolve(result.value) : reject(result.error)));
  });
}

/** [{address, name, role}] of To, Cc and Bcc, each address once (the first field wins). */
export async function recipients() {
  const lists = await Promise.all(FIELDS.map((field) => officeCall((done) => item()[field].getAsync(done))));
  const seen = new Set();
  const out = [];
  lists.forEach((list, index) => {
    for (const r of list || []) {
      const address = String(r.emailAddress || "").toLowerCase();
      if (!address || seen.has(address)) continue;
      seen.add(address);
      out.push({ address, name: r.displayName || "", role: FIELDS[index] });
    }
  });
  return out;
}

/** Calls `handler` whenever the user edits To, Cc or Bcc; false where Outlook has no such event (Mailbox 1.7). */
export function onRecipientsChanged(handler) {
  if (!Office.context.requirements.isSetSupported("Mailbox", "1.7")) return false;
  item().addHandlerAsync(Office.EventType.RecipientsChanged, handler);
  return true;
}

/** The draft's category names; none where Outlook has no categories (Mailbox 1.8). */
function categoryNames() {
  if (!Office.context.requirements.isSetSupported("Mailbox", "1.8")) return Promise.resolve([]);
  return officeCall((done) => item().categories.getAsync(done)).then((list) => (list || []).map((c) => c.displayName));
}

/** {file: true|false|null, caseId, taskId}: what the draft carries now (null: not decided). */
export async function choice() {
  const [names, props] = await Promise.all([categoryNames(), officeCall((done) => item().loadCustomPropertiesAsync(done))]);
  const on = names.includes(CATEGORY);
  return {
    file: on ? true : props.get("crm_file") === false ? false : null,
    caseId: props.get("crm_case_id") ?? null,
    taskId: props.get("crm_task_id") ?? null,
  };
}

/**
 * Writes the choice on the draft. On: the category, and crm_case_id / crm_task_id when given.
 * Off: no category and neither id. `decided` records an explicit choice (crm_file).
 * Without categories (below Mailbox 1.8) only the custom properties (Mailbox 1.1) are written:
 * the ids are linked whenever the sent copy is filed, by Sync to CRM or automatic sync.
 */
export async function applyChoice({ file, caseId = null, taskId = null, decided = false }) {
  if (Office.context.requirements.isSetSupported("Mailbox", "1.8")) {
    const categories = item().categories;
    if (file) await addCategory(categories);
    else await officeCall((done) => categories.removeAsync([CATEGORY], done));
  }
  /** @type {Office.CustomProperties} */
  const props = await officeCall((done) => item().loadCustomPropertiesAsync(done));
  for (const [name, value] of [["crm_case_id", caseId], ["crm_task_id", taskId]]) {
    if (file && value != null) props.set(name, Number(value));
    else props.remove(name);
  }
  if (decided) props.set("crm_file", Boolean(file));
  await officeCall((done) => props.saveAsync(done));
}

/** Writes only crm_case_id / crm_task_id (Mailbox 1.1): where the draft cannot carry the category. */
export async function saveLinks({ caseId = null, taskId = null }) {
  /** @type {Office.CustomProperties} */
  const props = await officeCall((done) => item().loadCustomPropertiesAsync(done));
  for (const [name, value] of [["crm_case_id", caseId], ["crm_task_id", taskId]]) {
    if (value != null) props.set(name, Number(value));
    else props.remove(name);
  }
  await officeCall((done) => props.saveAsync(done));
}

/**
 * Puts the category on the draft, first adding it to the mailbox's master list when Outlook says it is not there.
 * @param {Office.Categories} categories
 */
async function addCategory(categories) {
  if (!Office.context.requirements.isSetSupported("Mailbox", "1.8")) return;
  try {
    await officeCall((done) => categories.addAsync([CATEGORY], done));
  } catch (error) {
    if (!error || error.name !== "InvalidCategory") throw error;
    const color = Office.MailboxEnums.CategoryColor.Preset7; // blue, as the backend creates it
    await officeCall((done) => Office.context.mailbox.masterCategories.addAsync([{ displayName: CATEGORY, color }], done));
    await officeCall((done) => categories.addAsync([CATEGORY], done));
  }
}
