// The compose pane's draft code (addin/taskpane/compose-draft.js) on a client below the sets it
// uses: the manifest's block declares Mailbox 1.5 (Outlook on Android and iOS), so without 1.7
// there is no RecipientsChanged handler and without 1.8 no category is read or written, and
// nothing throws; the link ids (custom properties, Mailbox 1.1) still travel.
import assert from "node:assert/strict";
import { test } from "node:test";

/** A plain Office stand-in reporting `mailbox` as its highest Mailbox set; `calls` lists what the draft code touched. */
function office(mailbox) {
  const calls = [];
  const props = {};
  const done = (value) => (callback) => callback({ status: "succeeded", value });
  const minor = (v) => Number(v.split(".")[1]);
  const item = {
    to: { getAsync: done([{ displayName: "Lynne", emailAddress: "Lynne@Northwind.example" }]) },
    cc: { getAsync: done([]) },
    bcc: { getAsync: done([]) },
    addHandlerAsync: (type) => calls.push(`addHandlerAsync ${type}`),
    loadCustomPropertiesAsync: done({
      get: (name) => props[name],
      set: (name, value) => (props[name] = value),
      remove: (name) => delete props[name],
      saveAsync: (callback) => {
        calls.push("saveAsync");
        callback({ status: "succeeded" });
      },
    }),
  };
  // Categories exist only from Mailbox 1.8: below it, touching them fails as a missing member would.
  Object.defineProperty(item, "categories", {
    get() {
      if (minor(mailbox) < 8) throw new TypeError("item.categories is undefined on this client");
      calls.push("categories");
      return { getAsync: done([]), addAsync: (names, cb) => cb({ status: "succeeded" }), removeAsync: (names, cb) => cb({ status: "succeeded" }) };
    },
  });
  globalThis.Office = {
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    EventType: { RecipientsChanged: "olkRecipientsChanged" },
    MailboxEnums: { CategoryColor: { Preset7: "Preset7" } },
    context: {
      mailbox: { item },
      requirements: { isSetSupported: (name, version) => name === "Mailbox" && minor(version) <= minor(mailbox) },
    },
  };
  return { calls, props };
}

const draft = await import("../../addin/taskpane/compose-draft.js");

test("on a Mailbox 1.5 client the draft code uses neither RecipientsChanged nor categories, and the ids still travel", async () => {
  const { calls, props } = office("1.5");
  assert.deepEqual(draft.support(), { liveRecipients: false, categories: false });
  assert.equal(draft.onRecipientsChanged(() => {}), false);
  assert.deepEqual(await draft.recipients(), [{ address: "lynne@northwind.example", name: "Lynne", role: "to" }]);
  assert.deepEqual(await draft.choice(), { file: null, caseId: null, taskId: null });
  await draft.saveLinks({ caseId: 7, taskId: null });
  assert.deepEqual(props, { crm_case_id: 7 });
  await draft.applyChoice({ file: true, caseId: 8, taskId: 9, decided: true });
  assert.deepEqual(props, { crm_case_id: 8, crm_task_id: 9, crm_file: true });
  assert.ok(!calls.some((c) => c.startsWith("addHandlerAsync") || c === "categories"), calls.join(", "));
});

test("on a Mailbox 1.7 client recipients are live but categories are still not touched", async () => {
  const { calls } = office("1.7");
  assert.deepEqual(draft.support(), { liveRecipients: true, categories: false });
  assert.equal(draft.onRecipientsChanged(() => {}), true);
  await draft.applyChoice({ file: false });
  assert.deepEqual(calls, ["addHandlerAsync olkRecipientsChanged", "saveAsync"]);
});

test("on a Mailbox 1.8 client the choice travels as the category", async () => {
  const { calls } = office("1.8");
  assert.deepEqual(draft.support(), { liveRecipients: true, categories: true });
  await draft.applyChoice({ file: true, caseId: 3 });
  assert.ok(calls.includes("categories"), calls.join(", "));
});
