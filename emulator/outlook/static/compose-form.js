// The compose form (New, Reply, Forward): the draft the user writes, our compose ribbon, the
// add-in's launch events (OnNewMessageCompose, OnMessageSend with Smart Alerts), and Send.
//
// Send follows the documented OnMessageSend contract: the handler's event.completed({allowEvent})
// decides; allowEvent false shows a Smart Alert with errorMessage, a cancel button (cancelLabel,
// opening the pane of commandId), and "Send Anyway" when the send mode is PromptUser (the
// manifest's SendMode, or sendModeOverride). Sending puts the message in Sent Items through the
// emulator's store with its categories and the add-in's custom properties as the extended property.
// An add-in whose runtime does not load in time is "unavailable": Outlook says so and, under
// PromptUser or SoftBlock, offers Send Anyway or Try Later (Block offers only Try Later).

import { loadMasterCategories } from "./category-menu.js";
import { postToFrame } from "./frames.js";
import { graph } from "./graph.js";
import { loadMessages } from "./message-list.js";
import { $, settings, singleSelected, state } from "./page-state.js";
import { closePane, openPane } from "./taskpane-host.js";

const FIELDS = ["to", "cc", "bcc"];
const CUSTOM_PROPERTIES_ID = `String {00020329-0000-0000-C000-000000000046} Name cecp-${settings.ribbon.addinId}`;
const launch = settings.ribbon.launch || { runtimeUrl: "", events: {} };
// The Mailbox set each launch event needs (Microsoft's table of supported events): a client
// without it never runs the handler, and sends as if the add-in had no OnMessageSend.
const EVENT_SETS = { OnNewMessageCompose: "1.10", OnMessageSend: "1.12" };
// How long the emulated Outlook waits for the runtime to load and associate a handler before
// it calls the add-in unavailable (Outlook's own figure is not documented; its long-running
// dialog comes after five seconds of running, and loading on a busy machine takes longer).
const LOAD_TIMEOUT_MS = 8000;
const clientHas = (version) => {
  const [have, want] = [settings.mailbox || "1.14", version].map((v) => Number(v.split(".")[1]));
  return have >= want;
};

state.compose = null; // the open draft: {to, cc, bcc, subject, body, categories, properties, conversationId}
state.events = { associated: new Set(), waiting: [], invocations: new Map(), failed: false };
state.sent = []; // what Send handed to the store, for tests

const person = (r) => ({ displayName: r.emailAddress.name || r.emailAddress.address, emailAddress: r.emailAddress.address });
const parseField = (text) =>
  String(text || "").split(/[;,]/).map((s) => s.trim()).filter(Boolean).map((a) => ({ displayName: a, emailAddress: a.toLowerCase() }));

/** How Office.js shows the draft to the add-in's frames (compose mode: no itemId). */
export const composeItem = () => (state.compose ? { mode: "compose", conversationId: state.compose.conversationId || "" } : null);

function fieldInput(field) {
  return $(`compose-${field}`);
}

// Shows the draft's `parts` in the form, and only those: an add-in writing one part of the draft
// (its category, say) must not put back an older copy of a field the user is typing in.
function showFields(parts = [...FIELDS, "subject", "categories"]) {
  for (const field of FIELDS.filter((f) => parts.includes(f))) {
    fieldInput(field).value = state.compose[field].map((r) => r.emailAddress).join("; ");
  }
  if (parts.includes("subject")) $("compose-subject").value = state.compose.subject;
  if (parts.includes("categories")) $("compose-categories").textContent = state.compose.categories.join(", ");
}

/** The recipients typed in `field` as the draft's, when the user has not committed them yet (no change event). */
function readField(field) {
  state.compose[field] = parseField(fieldInput(field).value);
}

export function recipientsChanged(fields) {
  const changed = Object.fromEntries(FIELDS.map((f) => [f, fields.includes(f)]));
  for (const frame of [$("taskpane-frame"), $("events-frame")]) {
    postToFrame(frame, { type: "event", eventType: "olkRecipientsChanged", payload: { changedRecipientFields: changed } });
  }
}

export function openCompose(kind) {
  const original = kind === "new" ? null : singleSelected();
  if (kind !== "new" && !original) return;
  closePane();
  const prefix = { reply: "RE: ", forward: "FW: " }[kind] || "";
  state.compose = {
    kind,
    to: kind === "reply" && original.from ? [person(original.from)] : [],
    cc: [],
    bcc: [],
    subject: original ? prefix + (original.subject || "") : "",
    body: "",
    categories: [],
    properties: {},
    conversationId: original ? original.conversationId : "",
  };
  $("reading").hidden = true;
  $("reading-empty").hidden = true;
  $("compose").hidden = false;
  $("compose-status").textContent = "";
  $("compose-send").disabled = false;
  showFields();
  fieldInput(kind === "reply" ? "subject" : "to").focus();
  document.body.dataset.compose = "open";
  // The handler runs while the user types; what it writes to the draft shows as it writes it.
  startLaunchRuntime().then(() => runLaunchEvent("OnNewMessageCompose"));
}

function closeCompose() {
  closePane();
  state.compose = null;
  $("compose").hidden = true;
  $("smart-alert").hidden = true;
  $("reading-empty").hidden = false;
  $("events-frame").src = "about:blank";
  state.events.associated = new Set();
  document.body.dataset.compose = "closed";
}

// ------------------------------------------------------------------ launch events

function startLaunchRuntime() {
  if (!launch.runtimeUrl) return Promise.resolve();
  state.events.associated = new Set(); // a new runtime: its handlers associate again
  state.events.failed = false;
  $("events-frame").src = launch.runtimeUrl;
  return Promise.resolve();
}

/** Runs the manifest's handler for `eventType`; resolves to event.completed's options (null: none),
 * or to {unavailable: true} when the runtime did not load and associate the handler in time. */
function runLaunchEvent(eventType) {
  const event = launch.events[eventType];
  if (!event || !state.compose || !clientHas(EVENT_SETS[eventType] || "1.10")) return Promise.resolve(null);
  return new Promise((resolve) => {
    const invocationId = `${eventType}-${Date.now()}-${Math.random().toString(16).slice(2)}`;
    state.events.invocations.set(invocationId, resolve);
    const send = () =>
      postToFrame($("events-frame"), { type: "invoke", functionName: event.function, controlId: eventType, invocationId, item: composeItem() });
    if (state.events.associated.has(event.function)) return send();
    const waiter = { name: event.function, send };
    state.events.waiting.push(waiter);
    setTimeout(() => {
      if (!state.events.waiting.includes(waiter)) return; // associated and invoked meanwhile
      state.events.waiting = state.events.waiting.filter((w) => w !== waiter);
      state.events.invocations.delete(invocationId);
      state.events.failed = true;
      resolve({ unavailable: true });
    }, LOAD_TIMEOUT_MS);
  });
}

export function onLaunchAssociated(name) {
  state.events.associated.add(name);
  const ready = state.events.waiting.filter((w) => w.name === name);
  state.events.waiting = state.events.waiting.filter((w) => w.name !== name);
  for (const waiter of ready) waiter.send();
}

export function onLaunchCompleted(invocationId, options) {
  const resolve = state.events.invocations.get(invocationId);
  state.events.invocations.delete(invocationId);
  if (resolve) resolve(options || {});
}

// ------------------------------------------------------------------ send

async function onSend() {
  readFields();
  $("compose-send").disabled = true;
  $("compose-status").textContent = "Checking your message…";
  document.body.dataset.send = "checking";
  if (state.events.failed) await startLaunchRuntime(); // "Try Later": load the add-in again
  const options = await runLaunchEvent("OnMessageSend");
  if (options && options.unavailable) return unavailableAlert();
  if (!options || options.allowEvent !== false) return send();
  smartAlert(options);
}

// The add-in did not load: the manifest's send mode decides what the user may do (a runtime
// sendModeOverride never ran, so it cannot apply).
function unavailableAlert() {
  const mode = launch.events.OnMessageSend.sendMode;
  $("compose-status").textContent = "";
  $("compose-send").disabled = false;
  $("smart-alert-text").textContent = `${settings.ribbon.name || "The add-in"} is unavailable right now.`;
  $("smart-alert-cancel").textContent = "Try Later";
  $("smart-alert-cancel").dataset.commandId = "";
  $("smart-alert-anyway").hidden = mode === "Block";
  $("smart-alert").hidden = false;
  document.body.dataset.send = "unavailable";
  $("smart-alert-cancel").focus();
}

function smartAlert(options) {
  const mode = options.sendModeOverride === "promptUser" ? "PromptUser" : launch.events.OnMessageSend.sendMode;
  $("compose-status").textContent = "";
  $("compose-send").disabled = false;
  $("smart-alert-text").textContent = options.errorMessage || "The add-in stopped this message.";
  $("smart-alert-cancel").textContent = options.cancelLabel || "Don't send";
  $("smart-alert-cancel").dataset.commandId = options.commandId || "";
  $("smart-alert-anyway").hidden = mode !== "PromptUser";
  $("smart-alert").hidden = false;
  document.body.dataset.send = "alert";
  $("smart-alert-cancel").focus();
}

async function send() {
  const draft = state.compose;
  const address = (r) => ({ emailAddress: { name: r.displayName, address: r.emailAddress } });
  const message = {
    subject: draft.subject,
    body: { contentType: "text", content: draft.body },
    toRecipients: draft.to.map(address),
    ccRecipients: draft.cc.map(address),
    bccRecipients: draft.bcc.map(address),
    categories: [...draft.categories],
  };
  if (draft.conversationId) message.conversationId = draft.conversationId;
  if (Object.keys(draft.properties).length) {
    message.singleValueExtendedProperties = [{ id: CUSTOM_PROPERTIES_ID, value: JSON.stringify(draft.properties) }];
  }
  $("compose-status").textContent = "Sending…";
  const response = await fetch("/_emulator/messages/send", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ upn: state.user.upn, message }),
  });
  if (!response.ok) {
    $("compose-status").textContent = `Not sent: ${response.status}`;
    $("compose-send").disabled = false;
    document.body.dataset.send = "failed";
    return;
  }
  state.sent.push((await response.json()).sent);
  closeCompose();
  document.body.dataset.send = "sent";
  await loadMessages();
}

function readFields() {
  const before = Object.fromEntries(FIELDS.map((f) => [f, JSON.stringify(state.compose[f])]));
  for (const field of FIELDS) state.compose[field] = parseField(fieldInput(field).value);
  state.compose.subject = $("compose-subject").value;
  state.compose.body = $("compose-body").value;
  return FIELDS.filter((f) => JSON.stringify(state.compose[f]) !== before[f]);
}

// ------------------------------------------------------------------ the shim's draft calls

// As in Outlook, a category must be in the mailbox's master list before an item can carry it.
const inMaster = (name) => state.masterCategories.includes(name);

function draftOrFail() {
  if (!state.compose) throw { code: 9030, name: "ItemNotFound", message: "There is no item being composed." };
  return state.compose;
}

export const DRAFT_CALLS = {
  "draft.recipients.get": ({ field }) => draftOrFail()[field].map((r) => ({ ...r, recipientType: "other" })),
  "draft.recipients.set": ({ field, recipients }) => {
    draftOrFail()[field] = recipients;
    showFields([field]);
    recipientsChanged([field]);
    return null;
  },
  "draft.recipients.add": ({ field, recipients }) => {
    const draft = draftOrFail();
    readField(field); // added to what the user has typed, as Outlook adds to the field
    draft[field].push(...recipients);
    showFields([field]);
    recipientsChanged([field]);
    return null;
  },
  "draft.subject.get": () => draftOrFail().subject,
  "draft.subject.set": ({ subject }) => {
    draftOrFail().subject = subject;
    showFields(["subject"]);
    return null;
  },
  "draft.categories.get": () => draftOrFail().categories.map((displayName) => ({ displayName, color: "preset0" })),
  "draft.categories.add": async ({ categories }) => {
    const draft = draftOrFail();
    // The mailbox's master list as it is now (the backend may have added to it since the page loaded).
    if ((categories || []).some((name) => !inMaster(name))) await loadMasterCategories();
    for (const name of categories || []) {
      if (!inMaster(name)) throw { code: 9045, name: "InvalidCategory", message: "Invalid categories were provided." };
      if (!draft.categories.includes(name)) draft.categories.push(name);
    }
    showFields(["categories"]);
    return null;
  },
  "draft.categories.remove": ({ categories }) => {
    const draft = draftOrFail();
    draft.categories = draft.categories.filter((name) => !(categories || []).includes(name));
    showFields(["categories"]);
    return null;
  },
  "masterCategories.get": async () => {
    const answer = await graph("GET", "/me/outlook/masterCategories");
    return ((answer && answer.value) || []).map((c) => ({ displayName: c.displayName, color: c.color.replace(/^p/, "P") }));
  },
  "masterCategories.add": async ({ categories }) => {
    for (const category of categories || []) {
      if (inMaster(category.displayName)) throw { code: 9046, name: "DuplicateCategory", message: "The category already exists." };
      await graph("POST", "/me/outlook/masterCategories", { displayName: category.displayName, color: String(category.color).toLowerCase() });
      state.masterCategories.push(category.displayName);
    }
    return null;
  },
  "draft.customProperties.load": () => ({ ...draftOrFail().properties }),
  "draft.customProperties.save": ({ properties }) => {
    // Office.js keeps at most 2,500 characters of custom properties per add-in.
    if (JSON.stringify(properties || {}).length > 2500) throw { code: 9000, name: "InternalServerError", message: "Custom properties exceed 2,500 characters." };
    draftOrFail().properties = { ...properties };
    return null;
  },
};

// ------------------------------------------------------------------ wiring

export function wireCompose() {
  $("compose-new").addEventListener("click", () => openCompose("new"));
  $("compose-reply").addEventListener("click", () => openCompose("reply"));
  $("compose-forward").addEventListener("click", () => openCompose("forward"));
  $("compose-discard").addEventListener("click", closeCompose);
  $("compose-send").addEventListener("click", onSend);
  $("compose-subject").addEventListener("input", () => state.compose && (state.compose.subject = $("compose-subject").value));
  $("compose-body").addEventListener("input", () => state.compose && (state.compose.body = $("compose-body").value));
  for (const field of FIELDS) {
    fieldInput(field).addEventListener("change", () => {
      if (!state.compose) return;
      const changed = readFields();
      if (changed.length) recipientsChanged(changed);
    });
  }
  $("smart-alert-cancel").addEventListener("click", () => {
    $("smart-alert").hidden = true;
    document.body.dataset.send = "cancelled";
    const control = composeControls().find((c) => c.id === $("smart-alert-cancel").dataset.commandId);
    if (control) openPane(control, { compose: true });
  });
  $("smart-alert-anyway").addEventListener("click", () => {
    $("smart-alert").hidden = true;
    send();
  });
  renderComposeRibbon();
}

function composeControls() {
  return (settings.ribbon.composeGroups || []).flatMap((g) => g.controls);
}

function renderComposeRibbon() {
  const bar = $("compose-ribbon");
  for (const control of composeControls()) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "ribbon-button";
    button.id = `ribbon-${control.id}`;
    button.title = control.tooltip || control.label;
    if (control.icon) {
      const img = document.createElement("img");
      img.src = control.icon;
      img.alt = "";
      button.append(img);
    }
    button.append(document.createTextNode(control.label));
    button.addEventListener("click", () => openPane(control, { compose: true }));
    bar.append(button);
  }
}
