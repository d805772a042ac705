// The event handlers (addin/events/events.js) on a plain stand-in for Office, run as classic
// Outlook on Windows runs them: the file alone, no DOM, no modules. Every path completes the
// event; the Smart Alert's Mailbox 1.14 options appear only where the client has 1.14.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import vm from "node:vm";

const SOURCE = readFileSync(new URL("../../addin/events/events.js", import.meta.url), "utf8");
const CRM = "lynne.robbins@northwind.example";

/** Office.context.roamingSettings as documented (Mailbox 1.1): get/set/remove on a copy, saveAsync persists it. */
function roamingSettings(saved = {}) {
  const bag = { ...saved };
  const store = { saved, saves: 0 };
  store.get = (name) => bag[name];
  store.set = (name, value) => (bag[name] = value);
  store.remove = (name) => delete bag[name];
  store.saveAsync = (callback) => {
    store.saves += 1;
    Object.assign(saved, JSON.parse(JSON.stringify(bag)));
    callback({ status: "succeeded" });
  };
  return store;
}

function load({ mailbox = "1.12", sso = true, language = "en-US", categories = [], props = {}, answers = {}, fail = false, roaming = undefined, status = 200 } = {}) {
  const handlers = {};
  const calls = [];
  const done = (value) => (callback) => callback({ status: "succeeded", value });
  const item = {
    to: { getAsync: done([{ displayName: "Lynne", emailAddress: CRM }]) },
    cc: { getAsync: done([]) },
    bcc: { getAsync: done([]) },
    categories: {
      getAsync: done(categories.map((displayName) => ({ displayName }))),
      addAsync: (names, callback) => {
        categories.push(...names);
        callback({ status: "succeeded" });
      },
    },
    loadCustomPropertiesAsync: done({ get: (name) => props[name] }),
    subject: { getAsync: done("Offer for Northwind") },
  };
  const Office = {
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    MailboxEnums: { SendModeOverride: { PromptUser: "promptUser" }, CategoryColor: { Preset7: "Preset7" } },
    context: {
      displayLanguage: language,
      requirements: {
        isSetSupported: (name, version) =>
          (name === "Mailbox" && Number(version.split(".")[1]) <= Number(mailbox.split(".")[1])) || (sso && name === "IdentityAPI" && version === "1.3"),
      },
      mailbox: { item },
      roamingSettings: roaming,
    },
    // A client without Office SSO (IdentityAPI 1.3) may have no Office.auth at all.
    auth: sso ? { getAccessToken: () => Promise.resolve("token") } : undefined,
    actions: { associate: (name, handler) => (handlers[name] = handler) },
  };
  const fetch = (url, init) => {
    calls.push({ url, method: init.method, body: init.body && JSON.parse(init.body) });
    if (fail) return Promise.reject(new TypeError("Failed to fetch"));
    const path = url.replace("https://localhost:5000/api/v1", "");
    return Promise.resolve({ ok: status < 400, status, json: () => Promise.resolve(answers[path]) });
  };
  vm.runInNewContext(SOURCE, { Office, fetch, setTimeout, clearTimeout, AbortController, Promise, console: { warn() {} } });
  // Objects made inside the vm belong to another realm: compare them as plain JSON.
  const plain = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
  const run = (name) => new Promise((resolve) => handlers[name]({ completed: (options) => resolve(plain(options)) }));
  return { run, calls, categories, handlers };
}

const ASK = { "/settings/me": { compose_default: "crm_recipients", ask_on_send: true } };
const CONTACT = { "/people/match": { people: [{ address: CRM, contacts: [{ id: 1, name: "Lynne Robbins" }] }] } };

test("both handlers are associated by the names the manifest gives", () => {
  const { handlers } = load();
  assert.deepEqual(Object.keys(handlers).sort(), ["onMessageSendHandler", "onNewMessageComposeHandler"]);
});

test("on a Mailbox 1.12 client the prompt has only errorMessage", async () => {
  const { run, calls } = load({ answers: { ...ASK, ...CONTACT } });
  assert.deepEqual(await run("onMessageSendHandler"), { allowEvent: false, errorMessage: "File this email in the CRM?" });
  assert.deepEqual(calls.find((c) => c.url.endsWith("/people/match")).body, { addresses: [CRM] });
});

test("on a Mailbox 1.14 client the prompt offers File and send, opening the compose pane", async () => {
  const { run } = load({ mailbox: "1.14", language: "pl-PL", answers: { ...ASK, ...CONTACT } });
  assert.deepEqual(await run("onMessageSendHandler"), {
    allowEvent: false,
    errorMessage: "Zapisać tę wiadomość w CRM?",
    cancelLabel: "Zapisz i wyślij",
    commandId: "crmComposeButton",
    sendModeOverride: "promptUser",
  });
});

test("a decided draft is sent without asking or calling the server", async () => {
  const filed = load({ categories: ["Sync to CRM"], answers: { ...ASK, ...CONTACT } });
  assert.deepEqual(await filed.run("onMessageSendHandler"), { allowEvent: true });
  const skipped = load({ props: { crm_file: false }, answers: { ...ASK, ...CONTACT } });
  assert.deepEqual(await skipped.run("onMessageSendHandler"), { allowEvent: true });
  assert.equal(filed.calls.length + skipped.calls.length, 0);
});

test("no CRM contact among the recipients: sent without asking", async () => {
  const { run } = load({ answers: { ...ASK, "/people/match": { people: [{ address: CRM, contacts: [] }] } } });
  assert.deepEqual(await run("onMessageSendHandler"), { allowEvent: true });
});

test("the server unreachable: sent, unfiled", async () => {
  const { run, categories } = load({ fail: true });
  assert.deepEqual(await run("onMessageSendHandler"), { allowEvent: true });
  assert.deepEqual(categories, []);
});

test("the server unreachable: the send is written down in the roaming settings for the pane", async () => {
  const roaming = roamingSettings();
  const before = Date.now();
  const { run } = load({ fail: true, roaming });
  assert.deepEqual(await run("onMessageSendHandler"), { allowEvent: true });
  assert.equal(roaming.saves, 1);
  const [entry] = roaming.saved.crm_unfiled_sends;
  assert.deepEqual({ ...entry, at: undefined }, { subject: "Offer for Northwind", to: [CRM], reason: "unreachable", at: undefined });
  assert.ok(Date.parse(entry.at) >= before - 1000 && Date.parse(entry.at) <= Date.now());
});

test("a server error is written down as such; only the last five sends are kept", async () => {
  const old = Array.from({ length: 5 }, (_, i) => ({ subject: `old ${i}`, to: [], at: "2026-12-01T10:00:00Z", reason: "unreachable" }));
  const roaming = roamingSettings({ crm_unfiled_sends: old });
  const { run } = load({ status: 503, roaming });
  assert.deepEqual(await run("onMessageSendHandler"), { allowEvent: true });
  const kept = roaming.saved.crm_unfiled_sends;
  assert.deepEqual(kept.map((e) => e.subject), ["old 1", "old 2", "old 3", "old 4", "Offer for Northwind"]);
  assert.equal(kept.at(-1).reason, "unreachable");
  const refused = roamingSettings();
  await load({ status: 401, roaming: refused }).run("onMessageSendHandler");
  assert.equal(refused.saved.crm_unfiled_sends[0].reason, "error");
});

test("a client without roaming settings still sends; nothing is written when the server answers", async () => {
  assert.deepEqual(await load({ fail: true }).run("onMessageSendHandler"), { allowEvent: true });
  const roaming = roamingSettings();
  await load({ answers: { ...ASK, "/people/match": { people: [] } }, roaming }).run("onMessageSendHandler");
  assert.equal(roaming.saves, 0);
});

test("not asking, default for CRM recipients: the send handler files it", async () => {
  const { run, categories } = load({ answers: { "/settings/me": { compose_default: "crm_recipients", ask_on_send: false }, ...CONTACT } });
  assert.deepEqual(await run("onMessageSendHandler"), { allowEvent: true });
  assert.deepEqual(categories, ["Sync to CRM"]);
});

test("a new message gets the category only when the default is always", async () => {
  const always = load({ answers: { "/settings/me": { compose_default: "always", ask_on_send: false } } });
  assert.equal(await always.run("onNewMessageComposeHandler"), undefined);
  assert.deepEqual(always.categories, ["Sync to CRM"]);
  const never = load({ answers: { "/settings/me": { compose_default: "never", ask_on_send: false } } });
  await never.run("onNewMessageComposeHandler");
  assert.deepEqual(never.categories, []);
  const down = load({ fail: true });
  assert.equal(await down.run("onNewMessageComposeHandler"), undefined);
});

test("a client without Office SSO: both handlers complete, the message goes out unfiled, the server is not called", async () => {
  const { run, calls, categories } = load({ sso: false, answers: { ...ASK, ...CONTACT } });
  assert.equal(await run("onNewMessageComposeHandler"), undefined);
  assert.deepEqual(await run("onMessageSendHandler"), { allowEvent: true });
  assert.deepEqual(categories, []);
  assert.equal(calls.length, 0);
});
