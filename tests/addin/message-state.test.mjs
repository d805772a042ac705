// The open message's actions per CRM state (addin/taskpane/message-state.js): the one table that
// says which actions the pane offers, which is primary, and what it says will happen next.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ACTIONS, actionsFor, SITUATIONS } from "../../addin/taskpane/message-state.js";

const ids = (shown) => shown.actions.map((a) => a.id);
const view = (fields) => ({ id: "m1", crm_email_id: null, crm_url: null, ...fields });
const filed = { crm_email_id: 7, crm_url: "https://crm.example/emails/7" };

test("after filing the primary action is Open in CRM, offered once, and Mark as synced is gone", () => {
  const shown = actionsFor(view({ state: "synced", ...filed }));
  assert.equal(shown.primary.id, "open");
  assert.equal(shown.badge, "state.synced");
  assert.equal(ids(shown).filter((id) => id === "open").length, 1);
  assert.ok(!ids(shown).includes("markSynced"));
  assert.ok(!ids(shown).includes("sync"), "Sync to CRM is not offered as such on filed mail");
  assert.equal(shown.actions.find((a) => a.id === "syncAgain").label, "action.syncAgain");
});

test("a message not yet filed offers Sync first, and every action that applies to it", () => {
  const shown = actionsFor(view({ state: "none" }));
  assert.equal(shown.primary.id, "sync");
  assert.deepEqual(ids(shown), ["sync", "markSynced", "markUnsynced", "open"]);
  assert.equal(shown.note, "");
});

test("a message marked synced is not offered Mark as synced again", () => {
  const shown = actionsFor(view({ state: "excluded" }));
  assert.equal(shown.primary.id, "sync");
  assert.ok(!ids(shown).includes("markSynced"));
  assert.ok(ids(shown).includes("markUnsynced"));
});

test("waiting with automatic sync off (or not reported) says a bulk sync will file it, with File now", () => {
  for (const fields of [{ state: "pending" }, { state: "pending", auto_sync: "off", filing_queued: false }]) {
    const shown = actionsFor(view(fields));
    assert.equal(shown.note, "note.pendingOff");
    assert.equal(shown.primary.id, "fileNow");
    assert.equal(shown.primary.run, "sync");
    assert.equal(shown.badge, "state.pending");
    assert.ok(!ids(shown).includes("markUnsynced"));
  }
});

test("waiting with automatic sync on says the next automatic sync will file it", () => {
  for (const mode of ["marked", "known_contacts", "all"]) {
    const shown = actionsFor(view({ state: "pending", auto_sync: mode, filing_queued: true }));
    assert.equal(shown.note, "note.pendingAuto");
    assert.equal(shown.primary.id, "fileNow");
  }
});

test("a message the backend will file on its own shows filing under way, still offering File now", () => {
  const shown = actionsFor(view({ state: "none", auto_sync: "off", filing_queued: true, categories: ["Sync to CRM"] }));
  assert.equal(shown.situation, "queued");
  assert.equal(shown.note, "note.filingQueued");
  assert.equal(shown.badge, "state.filing");
  assert.equal(shown.primary.id, "fileNow");
  assert.ok(!ids(shown).includes("markUnsynced"));
});

test("a filed email marked unsynced says it will be filed again, then marked synced again", () => {
  const off = actionsFor(view({ state: "pending", ...filed }));
  assert.equal(off.note, "note.refileOff");
  assert.equal(off.badge, "state.refiling");
  assert.equal(off.primary.id, "fileNow");
  assert.ok(!ids(off).includes("markSynced") && !ids(off).includes("markUnsynced"));
  assert.equal(actionsFor(view({ state: "pending", auto_sync: "all", ...filed })).note, "note.refileAuto");
  // The "Sync to CRM" category is on it (how the pane marks unsynced): filed again in a moment.
  assert.equal(actionsFor(view({ state: "pending", filing_queued: true, ...filed })).note, "note.refileQueued");
});

test("while loading nothing is offered; a view that failed to load offers what works in any state", () => {
  assert.deepEqual(actionsFor("loading").actions, []);
  assert.deepEqual(ids(actionsFor(null)), ["sync", "open"]);
});

test("no situation offers an action twice or two actions on one button", () => {
  for (const [where, list] of Object.entries(SITUATIONS)) {
    const buttons = list.map((id) => ACTIONS[id].button);
    assert.equal(new Set(buttons).size, buttons.length, where);
  }
});

test("a mailbox the organisation keeps the app out of says so in every state, and the pane's commands stay", () => {
  for (const fields of [
    { state: "none" },
    { state: "pending", auto_sync: "known_contacts" },
    { state: "synced", ...filed },
    { state: "none", categories: ["Sync to CRM"], filing_queued: false },
  ]) {
    const blocked = actionsFor(view({ ...fields, automatic_sync_blocked: true }));
    const allowed = actionsFor(view({ ...fields, automatic_sync_blocked: false }));
    assert.equal(blocked.note, "note.blocked");
    assert.deepEqual(ids(blocked), ids(allowed), "the pane's own commands are all still offered");
  }
  assert.equal(actionsFor("loading").note, "");
});
