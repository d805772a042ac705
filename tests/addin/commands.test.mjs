// The ribbon's function commands on a mocked Office (office-addin-mock): each one reports on the
// message and ALWAYS completes its event, whether the API answers, fails or cannot be reached.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import mock from "office-addin-mock";

const { OfficeMockObject } = mock;

const EWS_ID = "AAMkAD/abc+def=";
const REST_ID = "AAMkAD-abc_def=";
let notifications;
let token;

function officeData() {
  return {
    host: "outlook", // Outlook's API has no load()/sync(): properties read directly
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    MailboxEnums: {
      RestVersion: { v2_0: "v2.0" },
      ItemNotificationMessageType: { InformationalMessage: "informationalMessage", ErrorMessage: "errorMessage" },
    },
    EventType: { ItemChanged: "olkItemSelectedChanged", SelectedItemsChanged: "olkSelectedItemsChanged" },
    context: {
      displayLanguage: "en-US",
      // Office SSO (IdentityAPI 1.3), no nested app authentication.
      requirements: { isSetSupported: (name, version) => name === "IdentityAPI" && version === "1.3" },
      ui: { openBrowserWindow: (url) => notifications.push({ opened: url }) },
      mailbox: {
        convertToRestId: (id) => id.replace(/\//g, "-").replace(/\+/g, "_"),
        item: {
          itemId: EWS_ID,
          subject: "Order 4471",
          from: { displayName: "Lynne Robbins", emailAddress: "lynne@northwind.example" },
          to: [],
          cc: [],
          notificationMessages: {
            replaceAsync: (key, message, callback) => {
              notifications.push({ key, ...message });
              callback({ status: "succeeded" });
            },
          },
        },
      },
    },
    auth: { getAccessToken: () => token() },
    actions: { associate: () => {} },
    onReady: (callback) => {
      callback({ host: "Outlook" });
      return Promise.resolve({ host: "Outlook" });
    },
  };
}

globalThis.Office = new OfficeMockObject(officeData());
globalThis.document = { querySelector: () => ({ content: "{}" }), documentElement: {} };
const commands = await import("../../addin/commands/commands.js");
const { forgetToken } = await import("../../addin/shared/auth.js");

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function answer(...responses) {
  const calls = [];
  globalThis.fetch = async (url, init) => {
    calls.push({ url, init });
    const next = responses.length > 1 ? responses.shift() : responses[0];
    if (next instanceof Error) throw next;
    return next();
  };
  return calls;
}

function event() {
  const e = { completedTimes: 0, completed() { e.completedTimes += 1; } };
  return e;
}

const synced = {
  id: "imm-1", state: "synced", crm_email_id: 7, crm_url: "https://crm.example/emails/7",
  people: [{ address: "lynne@northwind.example", role: "from", contacts: [{ id: 1 }, { id: 2 }] }],
};

beforeEach(() => {
  forgetToken(); // tokens live in memory; each test starts signed out
  notifications = [];
  token = () => Promise.resolve("header.eyJleHAiOjQxMDI0NDQ4MDB9.sig");
});

test("sync reports the linked contacts and completes", async () => {
  const calls = answer(() => json(200, synced));
  const e = event();
  await commands.syncToCrm(e);
  assert.equal(e.completedTimes, 1);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].url, `/api/v1/messages/${encodeURIComponent(REST_ID)}/sync`);
  assert.equal(calls[0].init.method, "POST");
  assert.match(calls[0].init.headers.Authorization, /^Bearer /);
  assert.equal(notifications[0].type, "informationalMessage");
  assert.equal(notifications[0].message, "Synced to CRM: linked to 2 contacts");
});

test("an API error becomes a plain error notification and the event still completes", async () => {
  answer(() => json(404, { error: { code: "message_not_found", message: "not found" } }));
  const e = event();
  await commands.markSynced(e);
  assert.equal(e.completedTimes, 1);
  assert.equal(notifications[0].type, "errorMessage");
  assert.match(notifications[0].message, /^CRM: The CRM can't find this email/);
  assert.doesNotMatch(notifications[0].message, /[{}]/);
});

test("an unreachable backend still completes the event", async () => {
  answer(new TypeError("Failed to fetch"));
  const e = event();
  await commands.markUnsynced(e);
  assert.equal(e.completedTimes, 1);
  assert.match(notifications[0].message, /Can't reach the CRM/);
});

test("a failed sign-in still completes the event", async () => {
  token = () => Promise.reject(Object.assign(new Error("no"), { code: 13001 }));
  answer(() => json(200, synced));
  const e = event();
  await commands.syncToCrm(e);
  assert.equal(e.completedTimes, 1);
  assert.match(notifications[0].message, /Sign-in needed/);
});

test("open in CRM syncs an unsynced message first, then opens its page", async () => {
  const calls = answer(() => json(200, { ...synced, state: "none", crm_url: null }), () => json(200, synced));
  const e = event();
  await commands.openInCrm(e);
  assert.equal(e.completedTimes, 1);
  assert.deepEqual(calls.map((c) => c.init.method), ["GET", "POST"]);
  assert.deepEqual(notifications[0], { opened: "https://crm.example/emails/7" });
});

test("mark as unsynced says truthfully who will file it under the user's automatic sync", async () => {
  answer(() => json(200, { ...synced, state: "pending", auto_sync: "off" }));
  await commands.markUnsynced(event());
  assert.match(notifications[0].message, /automatic sync is off, so the next bulk sync will file it/);

  notifications = [];
  answer(() => json(200, { ...synced, state: "pending", auto_sync: "marked" }));
  await commands.markUnsynced(event());
  assert.equal(notifications[0].message, "Marked as unsynced: the next automatic sync will file it");
});

test("a Graph timeout names Microsoft 365, not the CRM", async () => {
  answer(() => json(504, { error: { code: "graph_timeout", message: "Outlook did not answer in time." } }));
  const e = event();
  await commands.syncToCrm(e);
  assert.equal(e.completedTimes, 1);
  assert.match(notifications[0].message, /^CRM: Microsoft 365 did not answer/);
});
