// Reading Microsoft's published Office.js type definitions (@types/office-js): where a member is
// declared, its documented name, and the requirement set its documentation names.
import path from "node:path";
import { createRequire } from "node:module";
import { compareVersions } from "./surfaces.mjs";

const require = createRequire(import.meta.url);
export const ts = require("typescript");
export const OFFICE_DTS = path.resolve(require.resolve("@types/office-js/package.json"), "..", "index.d.ts");
export const TYPES_VERSION = require("@types/office-js/package.json").version;

export const isOfficeDecl = (decl) => decl && path.resolve(decl.getSourceFile().fileName) === OFFICE_DTS;

/** True when `type` (or a part of a union or intersection) is declared by Office.js. */
export function isOfficeType(type) {
  if (!type) return false;
  if (type.types && type.types.some(isOfficeType)) return true;
  const symbols = [type.symbol, type.aliasSymbol].filter(Boolean);
  return symbols.some((s) => (s.declarations || []).some(isOfficeDecl));
}

const NAMED = new Set([
  ts.SyntaxKind.ModuleDeclaration,
  ts.SyntaxKind.InterfaceDeclaration,
  ts.SyntaxKind.EnumDeclaration,
  ts.SyntaxKind.ClassDeclaration,
  ts.SyntaxKind.VariableDeclaration,
  ts.SyntaxKind.FunctionDeclaration,
  ts.SyntaxKind.PropertySignature,
  ts.SyntaxKind.PropertyDeclaration,
  ts.SyntaxKind.MethodSignature,
  ts.SyntaxKind.MethodDeclaration,
  ts.SyntaxKind.EnumMember,
]);

/** "Office.MessageCompose.categories": the declaration's documented path. */
export function declName(decl) {
  const parts = [];
  for (let node = decl; node && !ts.isSourceFile(node); node = node.parent) {
    if (NAMED.has(node.kind) && node.name) parts.unshift(node.name.getText());
  }
  return parts.join(".");
}

function docComment(decl) {
  const anchor = ts.isVariableDeclaration(decl) && decl.parent && decl.parent.parent ? decl.parent.parent : decl;
  const text = anchor.getSourceFile().text;
  const ranges = ts.getLeadingCommentRanges(text, anchor.pos) || [];
  return ranges.map((r) => text.slice(r.pos, r.end)).join("\n");
}

/**
 * The requirement sets a documentation comment names: [{name, version, note}].
 * "[Api set: Mailbox 1.8]" (Outlook's style) and "**Requirement set**: {@link ... | IdentityAPI 1.3}"
 * (the common APIs'). Where the text names one version per client ("Mailbox 1.1 for Outlook on
 * Windows (classic) and on Mac, Mailbox 1.8 for Outlook on the web"), the highest applies, as the
 * add-in runs on all of them; where it names a later version for an extra ("Mailbox 1.8 for shared
 * folder support, Mailbox 1.13 for shared mailbox support"), the first is the member's own.
 */
export function parseSets(comment) {
  const out = [];
  for (const [, body] of comment.matchAll(/\[Api set: ([^\]]+)\]/g)) {
    const versions = [...body.matchAll(/([A-Za-z][\w]*)\s+(\d+(?:\.\d+)+)/g)].map(([, name, version]) => ({ name, version }));
    if (!versions.length) continue;
    const perClient = /for Outlook on/i.test(body);
    const pick = perClient ? versions.reduce((a, b) => (compareVersions(b.version, a.version) > 0 ? b : a)) : versions[0];
    out.push({ ...pick, note: body.trim() });
  }
  for (const [, body] of comment.matchAll(/\*\*Requirement set\*\*:\s*\{@link [^|}]*\|\s*([^}]+)\}/g)) {
    const m = body.match(/([A-Za-z][\w]*)\s+(\d+(?:\.\d+)+)/);
    if (m) out.push({ name: m[1], version: m[2], note: body.trim() });
  }
  return out;
}

/**
 * The requirement set a member needs: its own documentation's, else the nearest enclosing
 * declaration's (an enum member or an interface property documented on its enum or interface).
 * Overloads and merged declarations (a member of Office.context.mailbox.item, typed as every kind
 * of item at once): the lowest any of them names.
 */
export function requiredSet(decls) {
  let best;
  for (const decl of decls) {
    let mine = null;
    for (let node = decl; node && !ts.isSourceFile(node); node = node.parent) {
      if (!NAMED.has(node.kind)) continue;
      const sets = parseSets(docComment(node));
      if (sets.length) {
        mine = sets[0];
        break;
      }
    }
    // A declaration that names no set at any level is there from the start (Mailbox 1.1).
    if (!mine) return null;
    if (!best || (best.name === mine.name && compareVersions(mine.version, best.version) < 0)) best = mine;
  }
  return best || null;
}

/**
 * The Outlook modes a member works in, from its documentation's "Applicable Outlook mode"
 * ("Message Compose", "Compose or Read", "Appointment Attendee"...): a set of "read" and
 * "compose", or null when a declaration names none (then it is not checked).
 */
export function applicableModes(decls) {
  const modes = new Set();
  for (const decl of decls) {
    let text = null;
    for (let node = decl; node && !ts.isSourceFile(node) && text === null; node = node.parent) {
      if (!NAMED.has(node.kind)) continue;
      const m = docComment(node).match(/Applicable Outlook mode\}\*\*:\s*([^\n*]+)/);
      if (m) text = m[1];
    }
    if (text === null) return null;
    if (/Compose|Organizer/.test(text)) modes.add("compose");
    if (/Read|Attendee/.test(text)) modes.add("read");
  }
  return modes;
}
