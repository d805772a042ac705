// Plain words for any failure, shared by the pane and the ribbon commands: never the raw body or a
// stack, and when something is busy or silent, the words name which party it is.
import { ApiError } from "./api.js";
import { SignInNeeded } from "./auth.js";

// Codes the backend answers when Microsoft 365 (Graph, or its sign-in) is the busy or silent
// party (server/sync/errors.py, server/auth/): CRM Sync itself is fine and retrying helps.
const MICROSOFT_BUSY = new Set(["graph_throttled"]);
const MICROSOFT_SILENT = new Set(["graph_unavailable", "graph_timeout", "identity_unavailable"]);

const CODE_KEYS = {
  outlook_contact_not_found: "error.contactGone",
  crm_contact_not_found: "error.crmContactGone",
  invalid_address: "error.invalidAddress",
  no_conversation: "error.noConversation",
  own_address: "error.ownAddress",
  no_external_recipient: "error.noExternalRecipient",
  automatic_sync_not_allowed: "error.automaticSyncNotAllowed",
};

/** "microsoft" when Microsoft 365 is the busy or silent party, "crm" when CRM Sync is. */
export function busyParty(error) {
  const code = error && error.code;
  return MICROSOFT_BUSY.has(code) || MICROSOFT_SILENT.has(code) ? "microsoft" : "crm";
}

/** The string key of the countdown while a busy party is waited out. */
export function waitKey(error) {
  return busyParty(error) === "microsoft" ? "busy.graphRetrying" : "busy.retrying";
}

/** The string key that says what went wrong with `error` and what to do. */
export function errorKey(error) {
  if (error instanceof SignInNeeded) return error.consent ? "error.consent" : "error.signIn";
  if (!(error instanceof ApiError)) return "error.server";
  if (error.status === 0) return "error.network";
  if (MICROSOFT_BUSY.has(error.code)) return "error.graphBusy";
  if (MICROSOFT_SILENT.has(error.code)) return "error.graphDown";
  if (CODE_KEYS[error.code]) return CODE_KEYS[error.code];
  if (error.status === 404) return "error.notFound";
  if (error.status === 403) return "error.forbidden";
  if (error.isBusy || error.status === 504) return "error.busy";
  if (error.status >= 400 && error.status < 500) return "error.invalid";
  return "error.server";
}
