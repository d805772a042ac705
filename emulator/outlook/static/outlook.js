// The Outlook-like page: mailbox UI over the emulated Graph, our ribbon, and the host side of the Office.js shim.

const settings = JSON.parse(document.getElementById("outlook-settings").textContent);
const ADDIN_ORIGIN = settings.addinOrigin;
const OUR_CATEGORIES = ["Sync to CRM", "Don't sync to CRM"];
const MESSAGE_FIELDS = "id,subject,from,toRecipients,ccRecipients,receivedDateTime,internetMessageId,conversationId,categories,isRead,bodyPreview";
const THEMES = {
  light: { bodyBackgroundColor: "#FFFFFF", bodyForegroundColor: "#242424", controlBackgroundColor: "#FFFFFF", controlForegroundColor: "#242424", isDarkTheme: false },
  dark: { bodyBackgroundColor: "#292929", bodyForegroundColor: "#FFFFFF", controlBackgroundColor: "#333333", controlForegroundColor: "#FFFFFF", isDarkTheme: true },
};

const $ = (id) => document.getElementById(id);
const state = {
  users: [],
  user: null,
  token: null,
  folders: [],
  folderId: null,
  messages: [],
  selected: [], // ids, in selection order
  anchor: null,
  masterCategories: [],
  pane: { open: false, pinned: false, ready: false, control: null },
  functions: { ready: false, associated: new Set(), waiting: [] },
  invocations: new Map(),
  notifications: new Map(), // itemId (EWS) -> Map(key -> message)
  openedUrls: [],
  readingTicket: 0,
};
window.outlookPage = state; // for tests and curious developers

// ---------------------------------------------------------------- Graph

async function graphToken(force = false) {
  if (state.token && !force) return state.token;
  const response = await fetch(`/_emulator/graph-token?upn=${encodeURIComponent(state.user.upn)}`);
  if (!response.ok) throw new Error(`graph-token: ${response.status}`);
  state.token = (await response.json()).access_token;
  return state.token;
}

async function graph(method, path, body) {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const token = await graphToken(attempt > 0);
    const response = await fetch(path.startsWith("http") ? path : `/v1.0${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        "X-Emulator-Client": "outlook-page",
        ...(body ? { "Content-Type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (response.status === 401 && attempt === 0) continue;
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`);
    return response.status === 204 ? null : response.json();
  }
  return null;
}

const ewsId = (restId) => restId.replace(/-/g, "/").replace(/_/g, "+");
const person = (r) => (r && r.emailAddress ? { displayName: r.emailAddress.name || "", emailAddress: r.emailAddress.address || "" } : null);

function officeItem(message) {
  if (!message) return null;
  return {
    itemId: ewsId(message.id),
    subject: message.subject || "",
    from: person(message.from),
    to: (message.toRecipients || []).map(person),
    cc: (message.ccRecipients || []).map(person),
    internetMessageId: message.internetMessageId || "",
    conversationId: message.conversationId || "",
    receivedDateTime: message.receivedDateTime || null,
  };
}

const messageById = (id) => state.messages.find((m) => m.id === id);
const messageByEws = (itemId) => state.messages.find((m) => ewsId(m.id) === itemId);
const singleSelected = () => (state.selected.length === 1 ? messageById(state.selected[0]) : null);

// ---------------------------------------------------------------- users, folders, messages

async function loadUsers() {
  const response = await fetch("/_emulator/users");
  state.users = (await response.json()).users || [];
  state.user = state.users.find((u) => u.upn === settings.upn || u.mail === settings.upn) || state.users[0];
  const select = $("user-select");
  select.replaceChildren(...state.users.map((u) => new Option(`${u.display_name} <${u.upn}>`, u.upn, false, u === state.user)));
  select.addEventListener("change", () => {
    const url = new URL(location.href);
    url.searchParams.set("upn", select.value);
    location.href = url.toString();
  });
}

async function loadFolders() {
  const answer = await graph("GET", "/me/mailFolders?$top=50");
  state.folders = (answer && answer.value) || [];
  const inbox = state.folders.find((f) => (f.wellKnownName || f.displayName || "").toLowerCase() === "inbox") || state.folders[0];
  const list = $("folder-list");
  list.replaceChildren(
    ...state.folders.map((folder) => {
      const li = document.createElement("li");
      li.role = "option";
      li.tabIndex = 0;
      li.dataset.id = folder.id;
      li.textContent = folder.displayName;
      li.addEventListener("click", () => openFolder(folder.id));
      li.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && openFolder(folder.id));
      return li;
    }),
  );
  if (inbox) await openFolder(inbox.id);
}

async function openFolder(folderId) {
  state.folderId = folderId;
  for (const li of $("folder-list").children) li.setAttribute("aria-selected", String(li.dataset.id === folderId));
  await loadMessages();
  setSelection([]);
}

async function loadMessages() {
  let url = `/me/mailFolders/${encodeURIComponent(state.folderId)}/messages?$top=50&$select=${MESSAGE_FIELDS}&$orderby=receivedDateTime desc`;
  const messages = [];
  for (let page = 0; url && page < 4; page += 1) {
    const answer = await graph("GET", url);
    messages.push(...((answer && answer.value) || []));
    url = answer && answer["@odata.nextLink"];
  }
  messages.sort((a, b) => String(b.receivedDateTime).localeCompare(String(a.receivedDateTime)));
  state.messages = messages;
  renderMessageList();
}

function renderMessageList() {
  const list = $("message-list");
  list.replaceChildren(
    ...state.messages.map((message) => {
      const li = document.createElement("li");
      li.className = `message-row${message.isRead ? "" : " unread"}`;
      li.role = "option";
      li.dataset.id = message.id;
      li.dataset.subject = message.subject || "";
      li.setAttribute("aria-selected", String(state.selected.includes(message.id)));
      const from = document.createElement("div");
      from.className = "from";
      from.textContent = (message.from && message.from.emailAddress && (message.from.emailAddress.name || message.from.emailAddress.address)) || "(no sender)";
      const subject = document.createElement("div");
      subject.className = "subject";
      subject.textContent = message.subject || "(no subject)";
      const preview = document.createElement("div");
      preview.className = "preview";
      preview.textContent = message.bodyPreview || "";
      li.append(from, subject, preview, categoryChips(message.categories));
      li.addEventListener("click", (event) => onRowClick(event, message.id));
      li.addEventListener("contextmenu", (event) => {
        event.preventDefault();
        if (!state.selected.includes(message.id)) setSelection([message.id]);
        openContextMenu(event.clientX, event.clientY);
      });
      return li;
    }),
  );
}

function categoryChips(categories) {
  const box = document.createElement("div");
  box.className = "categories";
  for (const name of categories || []) {
    const chip = document.createElement("span");
    chip.className = "category";
    chip.textContent = name;
    box.append(chip);
  }
  return box;
}

// ---------------------------------------------------------------- selection

function onRowClick(event, id) {
  if (event.shiftKey && state.anchor) {
    const ids = state.messages.map((m) => m.id);
    const [a, b] = [ids.indexOf(state.anchor), ids.indexOf(id)].sort((x, y) => x - y);
    setSelection(ids.slice(a, b + 1), { keepAnchor: true });
  } else if (event.ctrlKey || event.metaKey) {
    const next = state.selected.includes(id) ? state.selected.filter((x) => x !== id) : [...state.selected, id];
    setSelection(next.slice(0, 100));
  } else {
    setSelection([id]);
  }
}

$("message-list").addEventListener("keydown", (event) => {
  const ids = state.messages.map((m) => m.id);
  if (!ids.length) return;
  const current = state.selected[state.selected.length - 1];
  const index = current ? ids.indexOf(current) : -1;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    const next = ids[Math.max(0, Math.min(ids.length - 1, index + (event.key === "ArrowDown" ? 1 : -1)))];
    if (event.shiftKey) setSelection([...new Set([...state.selected, next])], { keepAnchor: true });
    else setSelection([next]);
  } else if (event.key === "ContextMenu" || (event.shiftKey && event.key === "F10")) {
    event.preventDefault();
    const row = document.querySelector(`.message-row[data-id="${CSS.escape(current || "")}"]`);
    const box = row ? row.getBoundingClientRect() : { left: 100, bottom: 100 };
    openContextMenu(box.left + 20, box.bottom - 4);
  }
});

function setSelection(ids, { keepAnchor = false } = {}) {
  const before = state.selected.slice();
  state.selected = ids;
  if (!keepAnchor || !state.anchor) state.anchor = ids[0] || null;
  for (const row of $("message-list").children) row.setAttribute("aria-selected", String(ids.includes(row.dataset.id)));
  renderReadingPane();
  tellPaneAboutSelection(before, ids);
}

function tellPaneAboutSelection(before, after) {
  if (!state.pane.open) return;
  const wasSingle = before.length === 1;
  const isSingle = after.length === 1;
  if (!after.length) {
    if (!state.pane.pinned) closePane();
    return;
  }
  if (wasSingle && isSingle) {
    if (before[0] === after[0]) return;
    if (!state.pane.pinned) {
      closePane();
      return;
    }
    postToFrame($("taskpane-frame"), { type: "itemChanged", item: officeItem(singleSelected()) });
    return;
  }
  postToFrame($("taskpane-frame"), { type: "selectionChanged", item: officeItem(singleSelected()) });
}

// ---------------------------------------------------------------- reading pane

async function renderReadingPane() {
  const ticket = (state.readingTicket += 1);
  const message = singleSelected();
  renderNotifications();
  if (!message) {
    $("reading").hidden = true;
    $("reading-empty").hidden = false;
    $("reading-empty").textContent = state.selected.length > 1 ? `${state.selected.length} items selected` : "Select an item to read";
    return;
  }
  $("reading-empty").hidden = true;
  $("reading").hidden = false;
  $("reading-subject").textContent = message.subject || "(no subject)";
  const from = person(message.from);
  $("reading-from").textContent = from ? `${from.displayName} <${from.emailAddress}>` : "(no sender)";
  $("reading-to").textContent = `To: ${(message.toRecipients || []).map((r) => r.emailAddress.address).join("; ")}`;
  $("reading-categories").replaceChildren(...categoryChips(message.categories).children);
  showBody("");
  try {
    const full = await graph("GET", `/me/messages/${encodeURIComponent(message.id)}?$select=body,categories`);
    if (ticket !== state.readingTicket) return;
    showBody(bodyDocument(full.body || {}));
  } catch {
    if (ticket === state.readingTicket) showBody("<p>Could not load this message.</p>");
  }
}

// A fresh iframe per body: reusing one races two srcdoc navigations against each other.
function showBody(html) {
  const old = $("reading-body");
  const frame = document.createElement("iframe");
  frame.id = "reading-body";
  // No allow-scripts and no allow-same-origin: a message's scripts never run.
  frame.setAttribute("sandbox", "allow-popups allow-popups-to-escape-sandbox");
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.title = "Message body";
  frame.srcdoc = html;
  old.replaceWith(frame);
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function bodyDocument(body) {
  // The iframe is sandboxed without allow-scripts; the CSP is a second lock on the same door.
  // Remote images and frames stay blocked too, as Outlook blocks external content by default.
  const csp = `<meta http-equiv="Content-Security-Policy" content="script-src 'none'; object-src 'none'; base-uri 'none'; img-src data: cid:; frame-src 'none'; form-action 'none'">`;
  const style = "<style>body{font-family:'Segoe UI',sans-serif;font-size:14px;color:#242424;margin:0}</style>";
  if ((body.contentType || "").toLowerCase() === "html") return `${csp}${style}${body.content || ""}`;
  return `${csp}${style}<pre style="white-space:pre-wrap;font-family:inherit">${escapeHtml(body.content || "")}</pre>`;
}

function renderNotifications() {
  const message = singleSelected();
  const box = $("notifications");
  const entries = message ? state.notifications.get(ewsId(message.id)) : null;
  box.replaceChildren(
    ...[...(entries ? entries.entries() : [])].map(([key, note]) => {
      const div = document.createElement("div");
      div.className = "notification";
      div.dataset.key = key;
      div.dataset.type = note.type || "informationalMessage";
      div.textContent = note.message || "";
      return div;
    }),
  );
}

// ---------------------------------------------------------------- categories (right-click)

async function loadMasterCategories() {
  try {
    const answer = await graph("GET", "/me/outlook/masterCategories");
    state.masterCategories = ((answer && answer.value) || []).map((c) => c.displayName);
  } catch {
    state.masterCategories = [];
  }
}

function openContextMenu(x, y) {
  const selected = state.selected.map(messageById).filter(Boolean);
  if (!selected.length) return;
  const menu = $("context-menu");
  const names = [...OUR_CATEGORIES, ...state.masterCategories.filter((n) => !OUR_CATEGORIES.includes(n) && n !== "Synced to CRM")];
  const title = document.createElement("div");
  title.className = "menu-title";
  title.textContent = "Categorize";
  const buttons = names.map((name) => {
    const all = selected.every((m) => (m.categories || []).includes(name));
    const button = document.createElement("button");
    button.type = "button";
    button.role = "menuitemcheckbox";
    button.setAttribute("aria-checked", String(all));
    button.dataset.category = name;
    button.innerHTML = `<span class="check">${all ? "✓" : ""}</span>`;
    button.append(document.createTextNode(name));
    button.addEventListener("click", () => {
      closeContextMenu();
      toggleCategory(selected, name, !all);
    });
    return button;
  });
  menu.replaceChildren(title, ...buttons);
  menu.style.left = `${Math.min(x, innerWidth - 240)}px`;
  menu.style.top = `${Math.min(y, innerHeight - 40 * (names.length + 1))}px`;
  menu.hidden = false;
  buttons[0].focus();
}

function closeContextMenu() {
  $("context-menu").hidden = true;
}

$("context-menu").addEventListener("keydown", (event) => {
  const buttons = [...$("context-menu").querySelectorAll("button")];
  const index = buttons.indexOf(document.activeElement);
  if (event.key === "Escape") {
    closeContextMenu();
    $("message-list").focus();
  } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    buttons[(index + (event.key === "ArrowDown" ? 1 : buttons.length - 1)) % buttons.length].focus();
  }
});
document.addEventListener("click", (event) => {
  if (!$("context-menu").contains(event.target)) closeContextMenu();
  for (const menu of document.querySelectorAll(".ribbon-menu-items")) {
    if (!menu.parentElement.contains(event.target)) menu.hidden = true;
  }
});

async function toggleCategory(messages, name, add) {
  for (const message of messages) {
    const current = message.categories || [];
    const next = add ? [...new Set([...current, name])] : current.filter((c) => c !== name);
    await graph("PATCH", `/me/messages/${encodeURIComponent(message.id)}`, { categories: next });
    message.categories = next;
  }
  renderMessageList();
  renderReadingPane();
}

// ---------------------------------------------------------------- ribbon

function renderRibbon() {
  const ribbon = $("ribbon");
  for (const group of settings.ribbon.groups) {
    const box = document.createElement("div");
    box.className = "ribbon-group";
    box.role = "group";
    box.setAttribute("aria-label", group.label);
    const controls = document.createElement("div");
    controls.className = "ribbon-group-controls";
    for (const control of group.controls) controls.append(ribbonControl(control));
    const label = document.createElement("div");
    label.className = "ribbon-group-label";
    label.textContent = group.label;
    box.append(controls, label);
    ribbon.append(box);
  }
}

function ribbonButton(control, className = "ribbon-button") {
  const button = document.createElement("button");
  button.type = "button";
  button.className = className;
  button.id = `ribbon-${control.id}`;
  button.title = control.tooltip || control.title || control.label;
  button.dataset.controlId = control.id;
  if (control.icon) {
    const img = document.createElement("img");
    img.src = control.icon;
    img.alt = "";
    button.append(img);
  }
  button.append(document.createTextNode(control.label));
  return button;
}

function ribbonControl(control) {
  if (control.type === "Menu") {
    const wrap = document.createElement("div");
    wrap.className = "ribbon-menu";
    const button = ribbonButton(control);
    button.setAttribute("aria-haspopup", "menu");
    button.setAttribute("aria-expanded", "false");
    const items = document.createElement("ul");
    items.className = "ribbon-menu-items";
    items.role = "menu";
    items.hidden = true;
    for (const item of control.items || []) {
      const li = document.createElement("li");
      const entry = ribbonButton(item, "");
      entry.role = "menuitem";
      entry.addEventListener("click", () => {
        items.hidden = true;
        button.setAttribute("aria-expanded", "false");
        runAction(item);
      });
      li.append(entry);
      items.append(li);
    }
    button.addEventListener("click", () => {
      items.hidden = !items.hidden;
      button.setAttribute("aria-expanded", String(!items.hidden));
    });
    wrap.append(button, items);
    return wrap;
  }
  const button = ribbonButton(control);
  button.addEventListener("click", () => runAction(control));
  return button;
}

function runAction(control) {
  const action = control.action || {};
  if (action.type === "ShowTaskpane") openPane(control);
  else if (action.type === "ExecuteFunction") invokeFunction(control);
}

// ---------------------------------------------------------------- task pane

function openPane(control) {
  if (!state.selected.length) return;
  if (state.pane.open && state.pane.control === control.id) {
    closePane();
    return;
  }
  state.pane = { open: true, pinned: state.pane.pinned, ready: false, control: control.id };
  $("taskpane-title").textContent = control.label;
  $("taskpane").hidden = false;
  $(`ribbon-${control.id}`).setAttribute("aria-pressed", "true");
  $("taskpane-frame").src = control.action.url;
}

function closePane() {
  if (state.pane.control) $(`ribbon-${state.pane.control}`)?.setAttribute("aria-pressed", "false");
  state.pane = { open: false, pinned: state.pane.pinned, ready: false, control: null };
  $("taskpane").hidden = true;
  $("taskpane-frame").src = "about:blank";
}

$("taskpane-close").addEventListener("click", closePane);
$("taskpane-pin").addEventListener("click", () => {
  state.pane.pinned = !state.pane.pinned;
  $("taskpane-pin").setAttribute("aria-pressed", String(state.pane.pinned));
  $("taskpane-pin").textContent = state.pane.pinned ? "Pinned" : "Pin";
});

// ---------------------------------------------------------------- function commands

function loadFunctionFile() {
  if (!settings.ribbon.functionFile) return;
  $("function-frame").src = settings.ribbon.functionFile;
}

function invokeFunction(control) {
  const message = singleSelected();
  if (!message) return;
  const invocationId = `${control.action.function}-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  state.invocations.set(invocationId, { control: control.id, fn: control.action.function, started: Date.now() });
  document.body.dataset.command = `${control.action.function}:running`;
  const send = () =>
    postToFrame($("function-frame"), {
      type: "invoke",
      functionName: control.action.function,
      controlId: control.id,
      invocationId,
      item: officeItem(message),
    });
  if (state.functions.associated.has(control.action.function)) send();
  else state.functions.waiting.push({ name: control.action.function, send });
}

async function onCommandCompleted(invocationId) {
  const call = state.invocations.get(invocationId);
  if (!call) return;
  state.invocations.delete(invocationId);
  document.body.dataset.command = `${call.fn}:completed`;
  // The command may have changed categories: show what Outlook would show.
  await loadMessages();
  for (const row of $("message-list").children) row.setAttribute("aria-selected", String(state.selected.includes(row.dataset.id)));
  renderReadingPane();
}

// ---------------------------------------------------------------- the shim's host side

function frameKind(source) {
  if (source === $("taskpane-frame").contentWindow) return "pane";
  if (source === $("function-frame").contentWindow) return "function";
  return null;
}

function postToFrame(frame, message) {
  if (frame.contentWindow) frame.contentWindow.postMessage({ source: "outlook-page", ...message }, ADDIN_ORIGIN);
}

function officeContext(kind) {
  return {
    displayLanguage: settings.displayLanguage || "en-US",
    officeTheme: THEMES[settings.theme] || THEMES.light,
    user: { displayName: state.user.display_name, emailAddress: state.user.mail || state.user.upn },
    item: kind === "pane" ? officeItem(singleSelected()) : null,
    naa: settings.naa,
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

const CALLS = {
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

async function toggleCategories(message, names, add) {
  for (const name of names || []) await toggleCategory([message], name, add);
}

window.addEventListener("message", async (event) => {
  if (event.origin !== ADDIN_ORIGIN) return;
  const data = event.data || {};
  if (data.source !== "office-shim") return;
  const kind = frameKind(event.source);
  if (!kind) return;
  const frame = kind === "pane" ? $("taskpane-frame") : $("function-frame");
  if (data.type === "hello") {
    postToFrame(frame, { type: "context", context: officeContext(kind) });
    if (kind === "pane") state.pane.ready = true;
    else state.functions.ready = true;
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
      postToFrame(frame, { type: "result", id: data.id, ok: false, error: { code: error.code || 9000, message: error.message || String(error) } });
    }
  }
});

// ---------------------------------------------------------------- start

$("refresh").addEventListener("click", async () => {
  await loadMessages();
  setSelection(state.selected.filter((id) => messageById(id)));
});

async function start() {
  renderRibbon();
  await loadUsers();
  loadFunctionFile();
  await loadMasterCategories();
  await loadFolders();
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  document.body.dataset.ready = "error";
  $("reading-empty").textContent = `The emulated mailbox did not load: ${error.message}`;
});
