// What scripts/check-office-api.mjs must report (see tests/addin/test_office_api.py), and what it must not.
/* global Office */
import { untyped } from "./helper.js";

const done = () => {};
const item = Office.context.mailbox.item;

// Reported: a member Office.js does not have.
item.fileInCrmAsync(done);

// Reported: the documented shape is an array of category names.
item.categories.addAsync("Sync to CRM", done);

// Reported: categories are Mailbox 1.8; the manifest declares 1.3 for this pane.
item.categories.getAsync(done);

// Reported: the guard asks for a lower version than the member needs.
if (Office.context.requirements.isSetSupported("Mailbox", "1.5")) item.categories.removeAsync(["Sync to CRM"], done);

// Not reported: guarded by isSetSupported at the version needed, by a test of the member, by an early return.
if (Office.context.requirements.isSetSupported("Mailbox", "1.8")) Office.context.mailbox.masterCategories.getAsync(done);
const mailbox = Office.context.mailbox;
if (typeof mailbox.getSelectedItemsAsync === "function") mailbox.getSelectedItemsAsync(done);
export function notes() {
  if (!item.notificationMessages || !Office.context.requirements.isSetSupported("Mailbox", "1.10")) return;
  item.notificationMessages.getAllAsync(done);
}

untyped(item);

// Reported: this early return leaves exactly when the set is there.
export function wrongWay() {
  if (Office.context.requirements.isSetSupported("Mailbox", "1.8")) return;
  Office.context.mailbox.masterCategories.addAsync([], done);
}

// Reported: Recipients.getAsync is for an item being composed; this pane is loaded in read mode.
item.to.getAsync(done);
