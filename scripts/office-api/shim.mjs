// The emulated Outlook's Office.js stand-in, held against the published type definitions.
//
// The shim is run in a sandbox the way the Outlook-like page runs it (a frame that gets its
// context by postMessage), then every member of the `Office` object it builds is looked up in
// @types/office-js: the draft as Office.MessageCompose, a received message as Office.MessageRead,
// the AsyncResult and Error its callbacks get, the CustomProperties it loads, the event object
// its function commands get (Office.AddinCommands.Event). A member the shim defines that Office.js
// does not, a function where Office.js has a value, or a function taking more arguments than
// Office.js documents, is reported.
import fs from "node:fs";
import vm from "node:vm";
import { ts } from "./typedefs.mjs";

function sandbox(shimPath) {
  const listeners = [];
  const parent = { postMessage: (message) => parent.sent.push(message), sent: [] };
  const window = {
    parent,
    addEventListener: (type, fn) => type === "message" && listeners.push(fn),
    location: { href: "https://addin.invalid/pane.html" },
    console,
  };
  window.window = window;
  const context = vm.createContext({
    window,
    document: { currentScript: null },
    location: window.location,
    console,
    Promise,
    URL,
    setTimeout,
    clearTimeout,
  });
  vm.runInContext(fs.readFileSync(shimPath, "utf8"), context, { filename: shimPath });
  const deliver = (data) => listeners.forEach((fn) => fn({ source: parent, origin: "https://outlook.invalid", data }));
  return { window, parent, deliver };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Runs the shim and collects the objects it hands to the add-in, each with the Office.js type it stands for. */
async function shimObjects(shimPath) {
  const { window, parent, deliver } = sandbox(shimPath);
  const out = [];
  const Office = window.Office;
  if (!Office) return { out, error: "the shim defined no window.Office" };
  // Answers every call the shim sends to the page, first with a value, then with a failure.
  const answer = (ok, value) => {
    for (const message of parent.sent.splice(0)) {
      if (message.type === "call") deliver({ source: "outlook-page", type: "result", id: message.id, ok, value, error: { name: "InvalidCategory", code: 9000, message: "x" } });
    }
  };
  deliver({ source: "outlook-page", type: "context", context: { displayLanguage: "en-US", user: { displayName: "A", emailAddress: "a@b.c" }, item: { mode: "compose" }, naa: true } });
  out.push({ path: "Office", value: Office, type: "namespace:Office", skip: ["context.mailbox.item"] });
  const draft = Office.context.mailbox.item;
  if (draft) {
    out.push({ path: "Office.context.mailbox.item (compose)", value: draft, type: "Office.MessageCompose" });
    const results = [];
    if (draft.to && draft.to.getAsync) draft.to.getAsync((r) => results.push(r));
    if (draft.loadCustomPropertiesAsync) draft.loadCustomPropertiesAsync((r) => results.push(r));
    answer(true, {});
    await tick();
    if (draft.to && draft.to.getAsync) draft.to.getAsync((r) => results.push(r));
    answer(false, null);
    await tick();
    for (const result of results) {
      out.push({ path: "AsyncResult", value: result, type: "Office.AsyncResult", skip: ["AsyncResult.value"] });
      if (result.error) out.push({ path: "AsyncResult.error", value: result.error, type: "Office.Error" });
      if (result.value && typeof result.value.saveAsync === "function") out.push({ path: "CustomProperties", value: result.value, type: "Office.CustomProperties" });
    }
  }
  deliver({ source: "outlook-page", type: "itemChanged", item: { itemId: "AAMk/1+", subject: "Re: x", receivedDateTime: "2026-01-01T00:00:00Z" } });
  if (Office.context.mailbox.item) out.push({ path: "Office.context.mailbox.item (read)", value: Office.context.mailbox.item, type: "Office.MessageRead" });
  let commandEvent = null;
  if (Office.actions && Office.actions.associate) {
    Office.actions.associate("probe", (event) => (commandEvent = event));
    deliver({ source: "outlook-page", type: "invoke", functionName: "probe", controlId: "c", invocationId: 1, item: null });
  }
  if (commandEvent) out.push({ path: "command event", value: commandEvent, type: "Office.AddinCommands.Event" });
  return { out, error: null };
}

function officeSymbol(checker, officeFile) {
  for (const statement of officeFile.statements) {
    if (ts.isModuleDeclaration(statement) && statement.name.text === "Office") return checker.getSymbolAtLocation(statement.name);
  }
  return null;
}

function exported(checker, symbol, dotted) {
  let current = symbol;
  for (const name of dotted.split(".").slice(1)) {
    current = current && checker.getExportsOfModule(current).find((s) => s.name === name);
  }
  return current;
}

function maxParameters(checker, type) {
  const signatures = checker.getSignaturesOfType(type, ts.SignatureKind.Call);
  if (!signatures.length) return -1;
  return Math.max(...signatures.map((s) => (s.hasRestParameter ? Infinity : s.parameters.length)));
}

/** Problems in the shim: {problems: [{member, problem}], checked: [member paths]}. */
export async function checkShim(shimPath, checker, officeFile) {
  const { out, error } = await shimObjects(shimPath);
  if (error) return { problems: [{ member: shimPath, problem: error }], checked: [] };
  const office = officeSymbol(checker, officeFile);
  const problems = [];
  const checked = [];
  const seen = new Set();

  const walk = (value, type, where, skip) => {
    if (value === null || value === undefined || typeof value !== "object") return;
    if (seen.has(value) || Array.isArray(value) || value instanceof Date) return;
    seen.add(value);
    for (const key of Object.keys(value)) {
      const member = `${where}.${key}`;
      if (skip.some((s) => member.endsWith(s))) continue;
      checked.push(member);
      const prop = checker.getPropertyOfType(type, key);
      if (!prop) {
        problems.push({ member, problem: `not in Office.js: ${checker.typeToString(type)} has no member "${key}"` });
        continue;
      }
      const propType = checker.getNonNullableType(checker.getTypeOfSymbol(prop));
      const child = value[key];
      if (typeof child === "function") {
        const most = maxParameters(checker, propType);
        if (most < 0) problems.push({ member, problem: `a function in the shim, but ${checker.typeToString(propType)} in Office.js` });
        else if (child.length > most) problems.push({ member, problem: `takes ${child.length} arguments; Office.js documents at most ${most}` });
      } else {
        walk(child, propType, member, skip);
      }
    }
  };

  for (const { path, value, type, skip = [] } of out) {
    let tsType;
    if (type === "namespace:Office") tsType = checker.getTypeOfSymbol(office);
    else {
      const symbol = exported(checker, office, type);
      tsType = symbol && checker.getDeclaredTypeOfSymbol(symbol);
    }
    if (!tsType) {
      problems.push({ member: path, problem: `no type ${type} in @types/office-js` });
      continue;
    }
    walk(value, tsType, path.split(" ")[0], skip);
  }
  return { problems, checked };
}
