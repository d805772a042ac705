// Talks to the backend: every route in one place, one fetch helper that adds the token and parses errors.
import { getToken, forgetToken, SignInNeeded } from "./auth.js";

const BASE = "/api/v1";
const REQUEST_TIMEOUT_MS = 30_000; // the backend answers within its own Graph budget; past this it is down
const MAX_BUSY_RETRIES = 3;
const DEFAULT_RETRY_AFTER_S = 5;

/** An API failure in the shape the backend sends: {"error":{"code","message","retry_after"?}}. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** True for throttling/unavailability that says when to come back. */
  get isBusy() {
    return this.status === 429 || this.status === 503 || (this.status === 504 && this.retryAfter != null);
  }
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): keep only the status.
  }
  const err = (body && body.error) || {};
  const header = Number(response.headers.get("Retry-After"));
  const retryAfter = err.retry_after ?? (Number.isFinite(header) && header > 0 ? header : null);
  return new ApiError(response.status, err.code || `http_${response.status}`, err.message || "", retryAfter);
}

/**
 * The one fetch helper: Bearer token, JSON in and out, the error shape parsed.
 * Raises ApiError (HTTP or network: status 0), SignInNeeded, or AbortError when `signal` aborts.
 */
async function request(method, path, { body, signal } = {}) {
  let retriedAuth = false;
  for (;;) {
    const token = await getToken();
    // Our own controller: aborts on the caller's signal (a stale request) or on the timeout.
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    if (signal) {
      if (signal.aborted) controller.abort();
      else signal.addEventListener("abort", onAbort, { once: true });
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(BASE + path, {
        method,
        signal: controller.signal,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: "application/json",
          ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        credentials: "omit",
      });
    } catch (error) {
      if (error && error.name === "AbortError" && !timedOut) throw error;
      throw new ApiError(0, timedOut ? "timeout" : "network", "");
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener("abort", onAbort);
    }
    if (response.ok) return response.status === 204 ? null : response.json();
    const error = await errorFrom(response);
    if (response.status === 401 && !retriedAuth) {
      // An expired or revoked token: ask once more for a fresh one.
      retriedAuth = true;
      forgetToken();
      continue;
    }
    if (response.status === 401) throw new SignInNeeded(error.code);
    if (response.status === 403 && /consent|access_denied/i.test(error.code)) throw new SignInNeeded(error.code, { consent: true });
    throw error;
  }
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    if (signal) {
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(new DOMException("Aborted", "AbortError"));
      }, { once: true });
    }
  });
}

/**
 * Runs `call()` and, when the CRM answers busy (429/503), waits `retry_after` seconds and tries
 * again, calling `onWait(secondsLeft, error)` once a second so the UI can count down (and name who is busy).
 */
export async function withBusyRetry(call, { onWait = () => {}, signal } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ApiError) || !error.isBusy || attempt >= MAX_BUSY_RETRIES) throw error;
      let left = Math.max(1, Math.ceil(error.retryAfter ?? DEFAULT_RETRY_AFTER_S));
      while (left > 0) {
        onWait(left, error);
        await sleep(1000, signal);
        left -= 1;
      }
      onWait(0, error);
    }
  }
}

const enc = encodeURIComponent;

// The people Outlook shows on the message (from currentMessage()): the server then reads the
// message and their Outlook contacts in one Graph request instead of two. It uses at most 19
// of them (a $batch holds 20), so no more are sent, and the URL stays well inside a server's
// request-line limit (gunicorn: 4094 bytes) however long the addresses are.
const PEOPLE_MAX = 19;
const PEOPLE_QUERY_MAX_CHARS = 1500;

export function peopleQuery(message, own = "") {
  if (!message) return "";
  const mine = own.toLowerCase();
  const chosen = [];
  let length = 0;
  for (const p of [message.from, ...(message.to || []), ...(message.cc || [])]) {
    const address = ((p && p.address) || "").trim();
    if (!address || address.includes(",") || address.toLowerCase() === mine || chosen.includes(address)) continue;
    const cost = enc(address).length + 3; // the encoded comma between entries
    if (chosen.length >= PEOPLE_MAX || length + cost > PEOPLE_QUERY_MAX_CHARS) break;
    chosen.push(address);
    length += cost;
  }
  return chosen.length ? `?people=${enc(chosen.join(","))}` : "";
}

export const getMessage = (id, opts = {}) =>
  request("GET", `/messages/${enc(id)}${peopleQuery(opts.message, opts.own)}`, opts);
export const syncMessage = (id, opts) => request("POST", `/messages/${enc(id)}/sync`, opts);
export const setMessageState = (id, state, opts) =>
  request("POST", `/messages/${enc(id)}/state`, { ...opts, body: { state } });
export const batchSync = (ids, opts) => request("POST", "/messages/batch-sync", { ...opts, body: { ids } });
// Contacts both ways (docs/CONTACTS_API.md).
/** opts.messageId: the message the address came from (on sent mail the backend picks its recipient). */
export const createOutlookContact = (address, name, opts = {}) =>
  request("POST", "/outlook-contacts", {
    ...opts,
    body: { address, name, ...(opts.messageId ? { message_id: opts.messageId } : {}) },
  });
export const syncOutlookContact = (id, opts) => request("POST", `/outlook-contacts/${enc(id)}/sync`, opts);
export const linkOutlookContact = (id, crmContactId, opts) =>
  request("POST", `/outlook-contacts/${enc(id)}/link`, { ...opts, body: { crm_contact_id: crmContactId } });
export const outlookContactCrmUrl = (id, opts) => request("GET", `/outlook-contacts/${enc(id)}/crm-url`, opts);
export const searchCrmContacts = (q, limit, opts) =>
  request("GET", `/crm/contacts/search?q=${enc(q)}&limit=${limit}`, opts);
/** body: {address, name, company?, link_email} */
export const createCrmContactFromMessage = (messageId, body, opts) =>
  request("POST", `/messages/${enc(messageId)}/contacts`, { ...opts, body });

// Cases, tasks, a filed email's links, notes and conversation links; sharing rules.
export const listCases = (opts) => request("GET", "/cases?status=open&limit=50", opts);
export const listTasks = (caseId, opts) =>
  request("GET", `/tasks?done=false&limit=50${caseId ? `&case_id=${caseId}` : ""}`, opts);
export const emailLinks = (emailId, opts) => request("GET", `/emails/${emailId}/links`, opts);
/** targets: {case_id?, task_id?, new_case?: {title}, new_task?: {title}} */
export const linkEmail = (emailId, targets, opts) => request("POST", `/emails/${emailId}/links`, { ...opts, body: targets });
export const conversationLinks = (emailId, opts) => request("GET", `/emails/${emailId}/conversation-links`, opts);
export const linkConversation = (emailId, targets, opts) =>
  request("POST", `/emails/${emailId}/conversation-links`, { ...opts, body: targets });
export const unlinkConversation = (linkId, opts) => request("DELETE", `/conversation-links/${linkId}`, opts);
export const listNotes = (emailId, opts) => request("GET", `/emails/${emailId}/notes`, opts);
export const addNote = (emailId, body, opts) => request("POST", `/emails/${emailId}/notes`, { ...opts, body: { body } });
export const addSharingRule = (caseId, address, opts) =>
  request("POST", `/cases/${caseId}/sharing-rules`, { ...opts, body: { address } });

// Bulk sync, job progress, the user's automatic sync setting.
export const startBulkSync = (folder, since, opts) => request("POST", "/bulk-sync", { ...opts, body: { folder, since } });
export const jobProgress = (jobId, opts) => request("GET", `/jobs/${jobId}`, opts);
export const getSettings = (opts) => request("GET", "/settings/me", opts);
/** The CRM matches of addresses (the compose pane's recipients): {people: [...]}, as the message view's. */
export const matchPeople = (addresses, opts) => request("POST", "/people/match", { ...opts, body: { addresses } });
/** A CRM contact from a recipient's address and display name (compose): {crm_contact_id, created, person, ...}. */
export const createRecipientContact = (body, opts) => request("POST", "/people/contacts", { ...opts, body });
/** Sent Items copies of a message sent with `subject` to `to` around `sentAt` (ISO): {messages: [{id, state, ...}]}. */
export const findSent = ({ subject, sentAt, to = [] }, opts) =>
  request("GET", `/sent-messages?subject=${enc(subject || "")}&sent_at=${enc(sentAt)}${to.length ? `&to=${enc(to.join(","))}` : ""}`, opts);
export const putSettings = (changes, opts) => request("PUT", "/settings/me", { ...opts, body: changes });

// Per-id failures in a batch carry a code but no HTTP status.
const CODE_STATUS = {
  message_not_found: 404,
  invalid_message_id: 400,
  graph_access_denied: 403,
  graph_unauthorized: 401,
  graph_throttled: 429,
  graph_unavailable: 503,
  graph_timeout: 504,
};

/**
 * Normalises a batch-sync answer into [{id, ok, message?, error?}], whatever container the
 * backend uses ({"results":[...]} or {"results":{id: ...}} or a bare list).
 */
export function batchResults(answer, ids) {
  let rows = answer && (answer.results ?? answer.messages ?? answer.items ?? answer);
  if (rows && !Array.isArray(rows) && typeof rows === "object") {
    rows = Object.entries(rows).map(([id, value]) => ({ id, ...(value || {}) }));
  }
  rows = Array.isArray(rows) ? rows : [];
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id, index) => {
    const row = byId.get(id) ?? rows[index] ?? {};
    const failed = row.ok === false || row.status === "failed" || Boolean(row.error);
    if (failed) {
      const error = row.error || {};
      const status = Number(error.status) || CODE_STATUS[error.code] || (error.retry_after ? 503 : 500);
      return { id, ok: false, error: new ApiError(status, error.code || "failed", error.message || "", error.retry_after ?? null) };
    }
    const message = row.message || (row.state ? row : null);
    return { id, ok: true, already: row.status === "already_synced", message };
  });
}
