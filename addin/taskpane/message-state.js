// What the open message offers in each of its CRM states: the one table of actions, their order
// (the first is the primary action) and the sentence that says what will happen next. No DOM here.

/** Each action: the button it uses, its label, and what it runs (message-actions.js `runAction`). */
export const ACTIONS = {
  sync: { button: "btn-sync", label: "action.sync", run: "sync" },
  fileNow: { button: "btn-sync", label: "action.fileNow", run: "sync" },
  syncAgain: { button: "btn-sync", label: "action.syncAgain", run: "sync" },
  open: { button: "btn-open", label: "action.open", run: "open" },
  markSynced: { button: "btn-mark-synced", label: "action.markSynced", run: "markSynced" },
  markUnsynced: { button: "btn-mark-unsynced", label: "action.markUnsynced", run: "markUnsynced" },
};

// Situation -> actions, primary first. Why each is (not) there:
// - not filed: Sync files it; Mark as synced keeps automatic and bulk sync away; Mark as unsynced
//   leaves it to the next sync; Open in CRM files it first.
// - marked synced (excluded): marking it synced again means nothing; it can still be filed by hand.
// - waiting (pending): "File now" does at once what the next sync would; marking unsynced again means nothing.
// - being filed (queued by the "Sync to CRM" category or automatic sync): only File now or Open.
// - filed: the CRM page is what the user wants next; Sync again picks up contacts added since;
//   Mark as synced means nothing for an email the CRM already holds.
// - filed and marked unsynced: it will be filed again; File now does that at once.
// - unknown (the view did not load): what works whatever the state is.
export const SITUATIONS = {
  unfiled: ["sync", "markSynced", "markUnsynced", "open"],
  excluded: ["sync", "markUnsynced", "open"],
  pending: ["fileNow", "markSynced", "open"],
  queued: ["fileNow", "open"],
  filed: ["open", "syncAgain", "markUnsynced"],
  refiling: ["fileNow", "open"],
  unknown: ["sync", "open"],
  loading: [],
};

const BADGES = {
  unfiled: "state.none",
  excluded: "state.excluded",
  pending: "state.pending",
  queued: "state.filing",
  filed: "state.synced",
  refiling: "state.refiling",
  unknown: "state.unknown",
  loading: "",
};

/** The message view's facts, with the defaults of a backend that does not send auto_sync or filing_queued. */
export function facts(data) {
  const state = (data && data.state) || "unknown";
  return {
    state,
    filed: Boolean(data && (data.crm_email_id || state === "synced")),
    autoSync: (data && data.auto_sync) || "off",
    queued: Boolean(data && data.filing_queued === true),
  };
}

/** Which row of the table a message view is in ("loading" while it loads, "unknown" when it failed). */
export function situation(data) {
  if (data === "loading") return "loading";
  const { state, filed, queued } = facts(data);
  if (filed) return state === "pending" ? "refiling" : "filed";
  if (state === "pending") return "pending";
  if (queued) return "queued";
  if (state === "excluded") return "excluded";
  if (state === "none") return "unfiled";
  return "unknown";
}

/**
 * The sentence under the badge that says what will happen to the email, or "" when nothing is due.
 * When the organisation keeps the app out of the mailbox nothing is filed by itself, whatever the
 * state: the sentence says so, and that the pane's own commands (the user's own token) still work.
 */
function noteFor(where, data) {
  if (where !== "loading" && data && data.automatic_sync_blocked === true) return "note.blocked";
  const { autoSync, queued } = facts(data);
  const automatic = autoSync !== "off";
  if (where === "queued") return "note.filingQueued";
  if (where === "pending") return automatic ? "note.pendingAuto" : queued ? "note.filingQueued" : "note.pendingOff";
  if (where === "refiling") return automatic ? "note.refileAuto" : queued ? "note.refileQueued" : "note.refileOff";
  return "";
}

/**
 * What the pane shows for a message view (`"loading"` while it loads, null when it failed):
 * {situation, badge (string key), note (string key or ""), actions: [{id, button, label, run}], primary}.
 */
export function actionsFor(data) {
  const where = data ? situation(data) : "unknown";
  const actions = SITUATIONS[where].map((id) => ({ id, ...ACTIONS[id] }));
  return { situation: where, badge: BADGES[where], note: noteFor(where, data), actions, primary: actions[0] || null };
}
