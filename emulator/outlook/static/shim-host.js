// The host side of the Office.js shim: answers the add-in frames' calls as Outlook would.

import { toggleCategory } from "./category-menu.js";
import { composeItem, DRAFT_CALLS, onLaunchAssociated, onLaunchCompleted } from "./compose-form.js";
import { postToFrame } from "./frames.js";
import { onCommandCompleted } from "./function-commands.js";
import { ewsId, officeItem } from "./office-item.js";
import { $, ADDIN_ORIGIN, messageById, messageByEws, settings, singleSelected, state } from "./page-state.js";
import { renderNotifications } from "./reading-pane.js";
import { loadRoamingSettings, ROAMING_CALLS } from "./roaming-settings.js";

const THEMES = {
  light: { bodyBackgroundColor: "#FFFFFF", bodyForegroundColor: "#242424", controlBackgroundColor: "#FFFFFF", controlForegroundColor: "#242424", isDarkTheme: false },
  dark: { bodyBackgroundColor: "#292929", bodyForegroundColor: "#FFFFFF", controlBackgroundColor: "#333333", controlForegroundColor: "#FFFFFF", isDarkTheme: true },
};

function frameKind(source) {
  if (source === $("taskpane-frame").contentWindow) return "pane";
  if (source === $("function-frame").contentWindow) return "function";
  if (source === $("events-frame").contentWindow) return "events";
  return null;
}

function officeContext(kind) {
  return {
    displayLanguage: settings.displayLanguage || "en-US",
    officeTheme: THEMES[settings.theme] || THEMES.light,
    user: { displayName: state.user.display_name, emailAddress: state.user.mail || state.user.upn },
    item: kind === "events" || (kind === "pane" && state.pane.compose) ? composeItem() : kind === "pane" ? officeItem(singleSelected()) : null,
    naa: settings.naa,
    mailbox: settings.mailbox || "",
    roamingSettings: loadRoamingSettings(),
  };
}

async function paneToken() {
  const response = await fetch(`/_emulator/pane-token?upn=${encodeURIComponent(state.user.upn)}`);
  if (!response.ok) throw { code: 13001, message: "The user is not signed in." };
  return (await response.json()).access_token;
}

function noteBox(itemId) {
  if (!state.notifications.has(itemId)) state.notifications.set(itemId, new Map());
  return state.notifications.get(itemId);
}

async function toggleCategories(message, names, add) {
  for (const name of names || []) await toggleCategory([message], name, add);
}

const CALLS = {
  ...DRAFT_CALLS,
  ...ROAMING_CALLS,
  getSelectedItems: () =>
    state.selected.map(messageById).filter(Boolean).map((m) => ({ itemId: ewsId(m.id), itemMode: "Read", itemType: "message", subject: m.subject || "" })),
  getAccessToken: () => paneToken(),
  openBrowserWindow: ({ url }) => {
    if (!/^https?:\/\//i.test(url)) throw { code: 12002, message: "Only http(s) URLs can be opened." };
    state.openedUrls.push(url);
    const line = document.createElement("div");
    line.textContent = `Opened in browser: ${url}`;
    $("opened-urls").replaceChildren(line);
    window.open(url, "_blank", "noopener");
    return null;
  },
  "notifications.add": ({ itemId, key, message }) => {
    const box = noteBox(itemId);
    if (box.has(key)) throw { code: 9041, message: "A notification with this key exists." };
    box.set(key, message);
    renderNotifications();
    return null;
  },
  "notifications.replace": ({ itemId, key, message }) => {
    noteBox(itemId).set(key, message);
    renderNotifications();
    return null;
  },
  "notifications.remove": ({ itemId, key }) => {
    noteBox(itemId).delete(key);
    renderNotifications();
    return null;
  },
  "notifications.getAll": ({ itemId }) => [...noteBox(itemId).entries()].map(([key, m]) => ({ key, ...m })),
  "categories.get": ({ itemId }) => {
    const message = messageByEws(itemId);
    return (message && message.categories ? message.categories : []).map((displayName) => ({ displayName, color: "preset0" }));
  },
  "categories.add": async ({ itemId, categories }) => {
    const message = messageByEws(itemId);
    if (message) await toggleCategories(message, categories, true);
    return null;
  },
  "categories.remove": async ({ itemId, categories }) => {
    const message = messageByEws(itemId);
    if (message) await toggleCategories(message, categories, false);
    return null;
  },
};

// Only our own frames, on the add-in's origin, speaking the shim's protocol are answered.
export function wireShimHost() {
  window.addEventListener("message", async (event) => {
    if (event.origin !== ADDIN_ORIGIN) return;
    const data = event.data || {};
    if (data.source !== "office-shim") return;
    const kind = frameKind(event.source);
    if (!kind) return;
    const frame = { pane: $("taskpane-frame"), function: $("function-frame"), events: $("events-frame") }[kind];
    if (data.type === "hello") {
      postToFrame(frame, { type: "context", context: officeContext(kind) });
      if (kind === "pane") state.pane.ready = true;
      else if (kind === "function") state.functions.ready = true;
    } else if (data.type === "associated" && kind === "events") {
      onLaunchAssociated(data.name);
    } else if (data.type === "completed" && kind === "events") {
      onLaunchCompleted(data.invocationId, data.options);
    } else if (data.type === "associated" && kind === "function") {
      state.functions.associated.add(data.name);
      const ready = state.functions.waiting.filter((w) => w.name === data.name);
      state.functions.waiting = state.functions.waiting.filter((w) => w.name !== data.name);
      for (const waiter of ready) waiter.send();
    } else if (data.type === "completed" && kind === "function") {
      onCommandCompleted(data.invocationId);
    } else if (data.type === "call") {
      const handler = CALLS[data.method];
      try {
        if (!handler) throw { code: 5001, message: `Not supported by the emulated Outlook: ${data.method}` };
        const value = await handler(data.args || {});
        postToFrame(frame, { type: "result", id: data.id, ok: true, value });
      } catch (error) {
        postToFrame(frame, { type: "result", id: data.id, ok: false, error: { name: error.name, code: error.code || 9000, message: error.message || String(error) } });
      }
    }
  });
}
