// Which requirement sets the manifest declares for each of the add-in's JavaScript files.
//
// The manifest names the pages Outlook loads (the ItemRead form, the task panes, the function
// file, the event runtimes), each inside a block that declares its requirement sets: the
// manifest's own <Requirements> and each <VersionOverrides> block's. A client loads a block only
// when it has that block's sets, so a page may rely on those sets and no more. A page named in
// several blocks may rely only on the lowest. Pages reach scripts (<script src>) and scripts
// reach modules (import): each file gets the sets of every block that can load it.
import fs from "node:fs";
import path from "node:path";

/** A small XML reader for the manifest: elements with attributes, text and children. */
export function parseXml(text) {
  const source = text.replace(/<!--[\s\S]*?-->/g, "").replace(/<\?[\s\S]*?\?>/g, "");
  const root = { name: "#root", local: "#root", attrs: {}, children: [], text: "" };
  const stack = [root];
  const token = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*"[^"]*")*)\s*(\/?)>|([^<]+)/g;
  let match;
  while ((match = token.exec(source))) {
    const [, closing, name, attrText, selfClosing, text] = match;
    const top = stack[stack.length - 1];
    if (text !== undefined) {
      top.text += text.trim();
      continue;
    }
    if (closing) {
      stack.pop();
      continue;
    }
    const attrs = {};
    for (const [, key, value] of (attrText || "").matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) attrs[key] = value;
    const node = { name, local: name.split(":").pop(), attrs, children: [], text: "", parent: top };
    top.children.push(node);
    if (!selfClosing) stack.push(node);
  }
  return root;
}

const kids = (node, local) => node.children.filter((c) => c.local === local);
const kid = (node, local) => kids(node, local)[0];

function* walk(node, stopAt = null) {
  for (const child of node.children) {
    if (stopAt && child.local === stopAt) continue;
    yield child;
    yield* walk(child, stopAt);
  }
}

/** "1.12" > "1.3": compares dotted versions as numbers. */
export function compareVersions(a, b) {
  const x = String(a).split(".").map(Number);
  const y = String(b).split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) - (y[i] || 0);
  }
  return 0;
}

/** {Mailbox: "1.3", ...} from a <Requirements> element (its <Sets DefaultMinVersion> and each <Set MinVersion>). */
function declaredSets(requirements, inherited) {
  if (!requirements) return { ...inherited };
  const sets = {};
  for (const group of kids(requirements, "Sets")) {
    const fallback = group.attrs.DefaultMinVersion || "1.1";
    for (const set of kids(group, "Set")) sets[set.attrs.Name.toLowerCase()] = set.attrs.MinVersion || fallback;
  }
  return sets;
}

// The Mailbox set each launch event needs, from Microsoft's table of supported events
// (https://learn.microsoft.com/office/dev/add-ins/outlook/autolaunch#supported-events). A client
// runs a LaunchEvent's handler only for an event it supports, so the page of a runtime that only
// launch events use may rely on the lowest set among its events, whatever its block declares.
// An event not listed here gets no more than its block.
export const LAUNCH_EVENT_SETS = {
  OnNewMessageCompose: "1.10",
  OnNewAppointmentOrganizer: "1.10",
  OnMessageAttachmentsChanged: "1.11",
  OnAppointmentAttachmentsChanged: "1.11",
  OnMessageRecipientsChanged: "1.11",
  OnAppointmentAttendeesChanged: "1.11",
  OnAppointmentTimeChanged: "1.11",
  OnAppointmentRecurrenceChanged: "1.11",
  OnInfoBarDismissClicked: "1.11",
  OnMessageSend: "1.12",
  OnAppointmentSend: "1.12",
  OnMessageCompose: "1.12",
  OnAppointmentOrganizer: "1.12",
  OnMessageFromChanged: "1.13",
  OnAppointmentFromChanged: "1.13",
  OnSensitivityLabelChanged: "1.13",
};

/**
 * The sets a page named by resid may rely on when only launch events load it: the block's sets
 * with Mailbox raised to the lowest set among those events. null when anything else (a task
 * pane, a function file) names the same resid, or no launch event does.
 */
function launchSets(hosts, resid, sets) {
  let lowest = null;
  for (const el of walk(hosts, "VersionOverrides")) {
    if (el.local !== "SourceLocation" || el.attrs.resid !== resid) continue;
    const point = el.parent && el.parent.local === "ExtensionPoint" ? el.parent : null;
    if (!point || point.attrs["xsi:type"] !== "LaunchEvent") return null;
    for (const event of walk(point)) {
      if (event.local !== "LaunchEvent") continue;
      const need = LAUNCH_EVENT_SETS[event.attrs.Type] || sets.mailbox || "1.1";
      if (!lowest || compareVersions(need, lowest) < 0) lowest = need;
    }
  }
  if (!lowest) return null;
  const mailbox = sets.mailbox && compareVersions(sets.mailbox, lowest) > 0 ? sets.mailbox : lowest;
  return { ...sets, mailbox };
}

/**
 * The blocks of the manifest that load pages: [{label, sets, urls: [{url, where}]}].
 * The manifest's own block loads the <FormSettings> forms; each <VersionOverrides> loads what
 * its <Hosts> name by resid (SourceLocation, FunctionFile, Runtime and its Override).
 */
export function manifestBlocks(manifestXml) {
  const doc = parseXml(manifestXml);
  const app = kid(doc, "OfficeApp");
  const base = declaredSets(kid(app, "Requirements"), { mailbox: "1.1" });
  const blocks = [];
  const formUrls = [];
  for (const form of kids(kid(app, "FormSettings") || { children: [] }, "Form")) {
    const modes = form.attrs["xsi:type"] === "ItemEdit" ? ["compose"] : ["read"];
    for (const el of walk(form)) {
      if (el.local === "SourceLocation" && el.attrs.DefaultValue) formUrls.push({ url: el.attrs.DefaultValue, where: "FormSettings", modes });
    }
  }
  blocks.push({ label: "manifest <Requirements> (FormSettings)", sets: base, urls: formUrls });

  const overrides = (node, inherited) => {
    for (const block of kids(node, "VersionOverrides")) {
      const sets = declaredSets(kid(block, "Requirements"), inherited);
      const resources = {};
      for (const url of walk(kid(block, "Resources") || { children: [] })) {
        if (url.local === "Url" && url.attrs.id) resources[url.attrs.id] = url.attrs.DefaultValue;
      }
      const urls = [];
      const hosts = kid(block, "Hosts") || { children: [] };
      for (const el of walk(hosts, "VersionOverrides")) {
        if (el.attrs.resid && resources[el.attrs.resid] && ["SourceLocation", "FunctionFile", "Runtime", "Override"].includes(el.local)) {
          const point = ancestorPoint(el);
          // A runtime's Override (the JavaScript-only file) serves the launch events of its Runtime's resid.
          const runtimeResid = el.local === "Override" && el.parent.local === "Runtime" ? el.parent.attrs.resid : el.attrs.resid;
          const own = ["LaunchEvent", "Runtimes"].includes(point) ? launchSets(hosts, runtimeResid, sets) : null;
          urls.push({ url: resources[el.attrs.resid], where: point ? `${point} ${el.local}` : el.local, modes: modesOf(el, point), sets: own });
        }
      }
      const type = (block.attrs["xsi:type"] || "VersionOverrides").replace(/^VersionOverrides/, "VersionOverrides ");
      blocks.push({ label: `<${type.trim()}>`, sets, urls });
      overrides(block, sets);
    }
  };
  overrides(app, base);
  return blocks;
}

// The Outlook modes a page runs in, from where the manifest names it: a read or compose command
// surface; the launch events (all on an item being composed); a function file, in the modes of
// the surfaces of its form factor that run functions. null: not known, so not checked.
const READ_POINTS = new Set(["MessageReadCommandSurface", "MobileMessageReadCommandSurface", "AppointmentAttendeeCommandSurface"]);
const COMPOSE_POINTS = new Set(["MessageComposeCommandSurface", "AppointmentOrganizerCommandSurface", "LaunchEvent"]);

function modesOf(el, point) {
  if (READ_POINTS.has(point)) return ["read"];
  if (COMPOSE_POINTS.has(point)) return ["compose"];
  if (point === "Runtimes") return ["compose"]; // the launch events' runtime
  if (el.local === "FunctionFile") {
    const modes = new Set();
    for (const ext of walk(el.parent)) {
      if (ext.local !== "ExtensionPoint") continue;
      const runs = [...walk(ext)].some((a) => a.local === "Action" && a.attrs["xsi:type"] === "ExecuteFunction");
      if (runs && READ_POINTS.has(ext.attrs["xsi:type"])) modes.add("read");
      if (runs && COMPOSE_POINTS.has(ext.attrs["xsi:type"])) modes.add("compose");
    }
    return modes.size ? [...modes] : null;
  }
  return null;
}

function ancestorPoint(el) {
  for (let node = el.parent; node; node = node.parent) {
    if (node.local === "ExtensionPoint") return node.attrs["xsi:type"];
    if (node.local === "Runtimes") return "Runtimes";
  }
  return "";
}

const SCRIPT_SRC = /<script\b[^>]*\bsrc\s*=\s*"([^"]+)"/g;
const IMPORTS = /(?:^|[;\n])\s*(?:import|export)\b[^;'"]*?\bfrom\s*["']([^"']+)["']|(?:^|[;\n])\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The local files a page or script loads: <script src> of a page, imports of a module. */
function loads(file) {
  const text = fs.readFileSync(file, "utf8");
  const out = [];
  if (file.endsWith(".html")) {
    for (const [, src] of text.matchAll(SCRIPT_SRC)) if (!/^[a-z]+:\/\//i.test(src)) out.push(path.resolve(path.dirname(file), src));
  } else {
    for (const m of text.matchAll(IMPORTS)) {
      const spec = m[1] || m[2] || m[3];
      if (spec.startsWith(".")) out.push(path.resolve(path.dirname(file), spec));
    }
  }
  return out.filter((f) => fs.existsSync(f));
}

/** The lower of two declarations: only the sets both declare, each at the lower version. */
function meet(a, b) {
  if (!a) return { ...b };
  const out = {};
  for (const [name, version] of Object.entries(a)) {
    if (b[name]) out[name] = compareVersions(version, b[name]) <= 0 ? version : b[name];
  }
  return out;
}

/**
 * Map file -> {sets, via: [labels], modes}: for every JavaScript file the manifest's pages load
 * (by URL path under `root`), the sets every block that loads it declares, and the Outlook modes
 * ("read", "compose") it runs in (none known: not checked).
 */
export function fileSurfaces(root, manifestPath) {
  const blocks = manifestBlocks(fs.readFileSync(manifestPath, "utf8"));
  const files = new Map();
  for (const block of blocks) {
    for (const { url, where, modes: entryModes, sets: own } of block.urls) {
      const sets = own || block.sets;
      const entry = path.join(root, new URL(url).pathname);
      if (!fs.existsSync(entry)) continue;
      const seen = new Set();
      const queue = [entry];
      while (queue.length) {
        const file = queue.shift();
        if (seen.has(file)) continue;
        seen.add(file);
        if (file.endsWith(".js") || file.endsWith(".mjs")) {
          const known = files.get(file) || { sets: null, via: [], modes: new Set() };
          known.sets = meet(known.sets, sets);
          for (const mode of entryModes || []) known.modes.add(mode);
          const events = own ? `, its launch events: Mailbox ${sets.mailbox}` : "";
          const label = `${path.relative(root, entry)} (${where}, ${block.label}: Mailbox ${block.sets.mailbox || "?"}${events})`;
          if (!known.via.includes(label)) known.via.push(label);
          files.set(file, known);
        }
        queue.push(...loads(file));
      }
    }
  }
  return { blocks, files };
}
