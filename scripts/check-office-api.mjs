#!/usr/bin/env node
// Checks that the add-in and the emulated Outlook use only the Office.js that Microsoft publishes.
//
//   node scripts/check-office-api.mjs [--root DIR] [--manifest FILE] [--shim FILE | --no-shim] [--verbose]
//
// Against @types/office-js (Microsoft's type definitions, pinned in package.json):
// 1. every Office.js member the add-in's JavaScript uses (the files the manifest's pages load:
//    task panes, function commands, event handlers and what they import) exists, and every call
//    of an Office.js method has the documented arguments (the TypeScript checker on the plain
//    JavaScript, checkJs);
// 2. the requirement set each member's documentation names is one the manifest declares for
//    every block that loads the file (see office-api/surfaces.mjs: a page only launch events load
//    may rely on the lowest set among its events), unless the use is guarded: in
//    the branch of an `isSetSupported(set, version)` check or of a test of a member of that set
//    (`typeof x.member === "function"`), or after an early return when it fails, as Microsoft's
//    docs advise;
// 3. a member documented for one Outlook mode only (compose or read) is not used in a file the
//    manifest loads only in the other;
// 4. every member of the emulator's Office.js shim exists in Office.js (office-api/shim.mjs).
// Prints each problem with its member, file:line, the set it needs and the set declared, and
// exits 1 when there is any.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkShim } from "./office-api/shim.mjs";
import { compareVersions, fileSurfaces } from "./office-api/surfaces.mjs";
import { OFFICE_DTS, TYPES_VERSION, applicableModes, declName, isOfficeDecl, isOfficeType, requiredSet, ts } from "./office-api/typedefs.mjs";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// Findings known to be right, each with its reason: {kind, member, file (from the root)}. Keep this short.
const ALLOWED = [
  {
    kind: "arguments",
    member: "Office.CustomProperties.set",
    file: "addin/taskpane/compose-draft.js",
    reason:
      "the definitions type `value` as string, but their own text says 'The value parameter can " +
      "be of any type; however, it is always passed to the server as a string'; crm_case_id and crm_task_id are CRM ids as " +
      "numbers and crm_file a boolean, which the backend reads back from the JSON of the custom properties",
  },
];

function options(argv) {
  const opts = { root: REPO, manifest: null, shim: undefined, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--root") opts.root = path.resolve(argv[++i]);
    else if (arg === "--manifest") opts.manifest = path.resolve(argv[++i]);
    else if (arg === "--shim") opts.shim = path.resolve(argv[++i]);
    else if (arg === "--no-shim") opts.shim = null;
    else if (arg === "--verbose") opts.verbose = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  opts.manifest = opts.manifest || path.join(opts.root, "addin", "manifest.xml");
  if (opts.shim === undefined) opts.shim = path.join(opts.root, "emulator", "outlook", "static", "office-shim.js");
  return opts;
}

/** Every .js file under dir (the add-in's JavaScript, whether or not a page loads it). */
function jsFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return jsFiles(full);
    return entry.name.endsWith(".js") ? [full] : [];
  });
}

function program(files) {
  return ts.createProgram({
    rootNames: [...files, OFFICE_DTS],
    options: {
      allowJs: true,
      checkJs: true,
      noEmit: true,
      strict: false,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
      types: [],
      skipLibCheck: true,
    },
  });
}

const where = (node) => {
  const sf = node.getSourceFile();
  const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
  return { file: sf.fileName, line: line + 1, column: character + 1 };
};

/** The Office.js method a call expression calls, or null. */
function officeCallee(checker, call) {
  const callee = call.expression;
  const name = ts.isPropertyAccessExpression(callee) ? callee.name : ts.isIdentifier(callee) ? callee : null;
  const symbol = name && checker.getSymbolAtLocation(name);
  return symbol && (symbol.declarations || []).some(isOfficeDecl) ? symbol : null;
}

// A guard: `isSetSupported("Mailbox", "1.14")` naming the set at the version needed or above, or a
// test of a member that needs that set at that version or above (typeof item.member === "function",
// item.member !== undefined): where the member exists, so does its set. `absent` asks for the
// opposite reading, the condition of an early return: true where the set is missing.
function guards(checker, expr, need, absent = false) {
  let found = false;
  const visit = (node) => {
    if (found) return;
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === "isSetSupported") {
      const [set, version] = node.arguments;
      if (set && ts.isStringLiteralLike(set) && set.text.toLowerCase() === need.name.toLowerCase()) {
        const asked = version && ts.isStringLiteralLike(version) ? version.text : "1.1";
        if (compareVersions(asked, need.version) >= 0 && negated(node, expr) === absent) found = true;
      }
    }
    if (ts.isPropertyAccessExpression(node) && isFeatureTest(node) && negated(node, expr) === absent) {
      const symbol = checker.getSymbolAtLocation(node.name);
      const decls = ((symbol && symbol.declarations) || []).filter(isOfficeDecl);
      const tested = decls.length ? requiredSet(decls) : null;
      if (tested && tested.name === need.name && compareVersions(tested.version, need.version) >= 0) found = true;
    }
    ts.forEachChild(node, visit);
  };
  visit(expr);
  return found;
}

const isAbsentValue = (node) =>
  node.kind === ts.SyntaxKind.NullKeyword || (ts.isIdentifier(node) && node.text === "undefined") || (ts.isStringLiteralLike(node) && node.text === "undefined");

/** True when `node` reads as "missing" within `root`: under an odd number of `!`, `typeof x !== "function"`, `x === undefined`. */
function negated(node, root) {
  let flip = false;
  for (let child = node, parent = node.parent; child !== root && parent; child = parent, parent = parent.parent) {
    if (ts.isPrefixUnaryExpression(parent) && parent.operator === ts.SyntaxKind.ExclamationToken) flip = !flip;
    if (ts.isBinaryExpression(parent) && COMPARISONS.has(parent.operatorToken.kind)) {
      const other = parent.left === child ? parent.right : parent.left;
      const equal = parent.operatorToken.kind === ts.SyntaxKind.EqualsEqualsEqualsToken || parent.operatorToken.kind === ts.SyntaxKind.EqualsEqualsToken;
      // typeof x === "function" and x !== undefined say present; their opposites say missing.
      if (equal === isAbsentValue(other)) flip = !flip;
    }
  }
  return flip;
}

const COMPARISONS = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);
const isLogical = (node) =>
  ts.isBinaryExpression(node) && (node.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken || node.operatorToken.kind === ts.SyntaxKind.BarBarToken);

function up(node) {
  let parent = node.parent;
  while (parent && ts.isParenthesizedExpression(parent)) parent = parent.parent;
  return parent;
}

/**
 * True for an access that only asks whether the member is there, which is how code degrades on a
 * client without its set: under `typeof`, `!` or a comparison; the left side of `&&` or `||`; or
 * within the `&&`/`||` condition of an `if` or a `? :`. Never a call of it, nor its value passed on.
 */
function isFeatureTest(access) {
  const parent = up(access);
  if (!parent) return false;
  if (ts.isTypeOfExpression(parent)) return true;
  if (ts.isPrefixUnaryExpression(parent) && parent.operator === ts.SyntaxKind.ExclamationToken) return true;
  if (ts.isBinaryExpression(parent) && COMPARISONS.has(parent.operatorToken.kind)) return true;
  if (isLogical(parent) && parent.left.pos <= access.pos && access.end <= parent.left.end) return true;
  let node = access;
  let above = parent;
  while (above && isLogical(above)) {
    node = above;
    above = up(above);
  }
  if (!above) return false;
  if (ts.isIfStatement(above) && above.expression.pos <= node.pos && node.end <= above.expression.end) return true;
  return ts.isConditionalExpression(above) && above.condition.pos <= node.pos && node.end <= above.condition.end;
}

function exits(statement) {
  if (!statement) return false;
  if (ts.isReturnStatement(statement) || ts.isThrowStatement(statement)) return true;
  if (ts.isBlock(statement)) return exits(statement.statements[statement.statements.length - 1]);
  return false;
}

/** True when the use sits where a guard holds: the true side of a check, or after an early return on its failure. */
function guarded(checker, use, need) {
  if (isFeatureTest(use)) return true;
  let prev = use;
  for (let node = use.parent; node; prev = node, node = node.parent) {
    if (ts.isIfStatement(node) && prev === node.thenStatement && guards(checker, node.expression, need)) return true;
    if (ts.isConditionalExpression(node) && prev === node.whenTrue && guards(checker, node.condition, need)) return true;
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken && prev === node.right && guards(checker, node.left, need)) return true;
    if (ts.isBlock(node) || ts.isSourceFile(node)) {
      for (const statement of node.statements) {
        if (statement === prev) break;
        if (ts.isIfStatement(statement) && exits(statement.thenStatement) && guards(checker, statement.expression, need, true)) return true;
      }
    }
  }
  return false;
}

// Office.js's asynchronous methods (getAsync, saveAsync, ...) and an event's completed(): called on
// a value the checker knows nothing of (an untyped parameter), they would escape the check.
const OFFICE_LIKE = /^(?:[a-z]\w*Async|completed)$/;

/** [{kind, member, file, line, column, detail}] for one file of the add-in. */
function checkFile(checker, sf, declared, fileModes) {
  const problems = [];
  const uses = [];
  // A chain (item.categories.getAsync) is reported once, at its outermost member that lacks the set.
  const covered = new Set();
  const visit = (node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && OFFICE_LIKE.test(node.expression.name.text)) {
      const receiver = checker.getTypeAtLocation(node.expression.expression);
      if (receiver.flags & ts.TypeFlags.Any) {
        problems.push({
          kind: "untyped",
          member: `${node.expression.expression.getText()}.${node.expression.name.text}`,
          ...where(node.expression.name),
          detail: "an Office.js-style call on a value of unknown type escapes this check: give the value its Office.js type with JSDoc (e.g. @param {Office.MessageCompose} item)",
        });
      }
    }
    if (ts.isPropertyAccessExpression(node)) {
      const symbol = checker.getSymbolAtLocation(node.name);
      const decls = ((symbol && symbol.declarations) || []).filter(isOfficeDecl);
      if (decls.length) {
        const need = requiredSet(decls);
        const member = declName(decls[0]);
        uses.push({ member, need, ...where(node.name) });
        // A member for the other mode only (Recipients.getAsync is compose; item.itemId is read).
        const modes = applicableModes(decls);
        if (modes && fileModes.size && ![...fileModes].some((m) => modes.has(m))) {
          problems.push({
            kind: "mode",
            member,
            ...where(node.name),
            detail: `Office.js offers it in ${[...modes].join(" and ") || "no message"} mode; the manifest loads this file only in ${[...fileModes].join(" and ")} mode`,
          });
        }
        if (need) {
          const have = declared[need.name.toLowerCase()];
          if ((!have || compareVersions(have, need.version) < 0) && !covered.has(node) && !guarded(checker, node, need)) {
            for (let inner = node.expression; ts.isPropertyAccessExpression(inner) || ts.isCallExpression(inner); inner = inner.expression) covered.add(inner);
            problems.push({
              kind: "requirement set",
              member,
              ...where(node.name),
              detail: `needs ${need.name} ${need.version}${need.note !== `${need.name} ${need.version}` ? ` (${need.note})` : ""}; the manifest declares ${have ? `${need.name} ${have}` : `no ${need.name} set`} for this file, and no isSetSupported("${need.name}", "${need.version}") or test of .${node.name.text} guards it`,
            });
          }
        }
      } else if (!symbol) {
        const receiver = checker.getTypeAtLocation(node.expression);
        if (isOfficeType(receiver)) {
          const typeName = checker.typeToString(receiver);
          problems.push({
            kind: "no such member",
            member: `${node.expression.getText()}.${node.name.text}`,
            ...where(node.name),
            detail: `not in @types/office-js (${typeName.length > 80 ? `${typeName.slice(0, 77)}...` : typeName} has no "${node.name.text}")`,
          });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { problems, uses };
}

/** Type errors TypeScript reports inside a call of an Office.js method (wrong count or shape of arguments). */
function callProblems(prog, checker, sf) {
  const problems = [];
  for (const diagnostic of prog.getSemanticDiagnostics(sf)) {
    if (diagnostic.code === 2339) continue; // a missing member: reported by the walk, with its receiver
    let node = nodeAt(sf, diagnostic.start);
    while (node && !(ts.isCallExpression(node) && officeCallee(checker, node))) {
      if (ts.isFunctionLike(node)) node = null; // an error inside a callback belongs to the callback
      else node = node.parent;
    }
    if (!node) continue;
    const symbol = officeCallee(checker, node);
    problems.push({
      kind: "arguments",
      member: declName(symbol.declarations.find(isOfficeDecl)),
      ...where(node),
      detail: ts.flattenDiagnosticMessageText(diagnostic.messageText, " ").replace(/\s+/g, " "),
    });
  }
  return problems;
}

function nodeAt(sf, position) {
  let found = sf;
  const visit = (node) => {
    if (position >= node.getStart(sf) && position < node.getEnd()) {
      found = node;
      ts.forEachChild(node, visit);
    }
  };
  ts.forEachChild(sf, visit);
  return found;
}

function setsText(sets) {
  return Object.entries(sets || {}).map(([name, version]) => `${name} ${version}`).join(", ") || "none";
}

async function main() {
  const opts = options(process.argv.slice(2));
  const rel = (file) => path.relative(opts.root, file);
  const { files: surfaces } = fileSurfaces(opts.root, opts.manifest);
  const lowest = [...surfaces.values()].reduce((acc, s) => (acc && compareVersions(acc.mailbox || "1.1", s.sets.mailbox || "1.1") <= 0 ? acc : s.sets), null) || { mailbox: "1.1" };
  const files = [...new Set([...surfaces.keys(), ...jsFiles(path.join(opts.root, "addin"))])].filter((f) => f.endsWith(".js"));
  const prog = program(files);
  const checker = prog.getTypeChecker();
  let problems = [];
  let useCount = 0;

  console.log(`Office.js check against @types/office-js ${TYPES_VERSION}`);
  for (const file of files) {
    const sf = prog.getSourceFile(file);
    if (!sf) continue;
    const surface = surfaces.get(file);
    const declared = surface ? surface.sets : lowest;
    const { problems: found, uses } = checkFile(checker, sf, declared, surface ? surface.modes : new Set());
    useCount += uses.length;
    if (opts.verbose) {
      const modes = surface && surface.modes.size ? ` in ${[...surface.modes].join(" and ")} mode` : "";
      console.log(`\n${rel(file)}: declared ${setsText(declared)}${modes} ${surface ? `via ${surface.via.join("; ")}` : "(no manifest page loads it: the lowest declared sets apply)"}`);
      for (const use of uses) console.log(`  ${use.line}:${use.column} ${use.member}${use.need ? ` [${use.need.name} ${use.need.version}]` : ""}`);
    }
    problems.push(...found, ...callProblems(prog, checker, sf));
  }
  console.log(`${files.length} add-in files, ${useCount} uses of Office.js members.`);

  if (opts.shim) {
    const officeFile = prog.getSourceFile(OFFICE_DTS);
    const { problems: shimProblems, checked } = await checkShim(opts.shim, checker, officeFile);
    if (opts.verbose) console.log(`\nShim members checked:\n  ${checked.join("\n  ")}`);
    for (const p of shimProblems) problems.push({ kind: "shim", member: p.member, file: opts.shim, line: 0, column: 0, detail: p.problem });
    console.log(`Shim ${rel(opts.shim)}: ${checked.length} members, ${shimProblems.length ? `${shimProblems.length} problem(s)` : "every member is in Office.js"}.`);
  }

  const allowed = (p) => ALLOWED.find((a) => a.kind === p.kind && a.member === p.member && a.file === rel(p.file));
  for (const p of problems.filter(allowed)) console.log(`allowed: [${p.kind}] ${p.member} at ${rel(p.file)}:${p.line}: ${allowed(p).reason}`);
  problems = problems.filter((p) => !allowed(p));
  if (!problems.length) {
    console.log("OK: every Office.js member used exists, is called with its documented arguments and is covered by the declared requirement sets.");
    return 0;
  }
  console.log(`\n${problems.length} problem(s):`);
  for (const p of problems) {
    const at = p.line ? `${rel(p.file)}:${p.line}:${p.column}` : rel(p.file);
    console.log(`- [${p.kind}] ${p.member} at ${at}: ${p.detail}`);
  }
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
