// Plain words for failures (addin/shared/error-words.js): a busy or silent Microsoft 365 is named
// as such, and CRM Sync's own busy answers name CRM Sync.
import assert from "node:assert/strict";
import { test } from "node:test";

globalThis.document = { querySelector: () => ({ content: "{}" }), documentElement: {} };
const { ApiError } = await import("../../addin/shared/api.js");
const { errorKey, waitKey } = await import("../../addin/shared/error-words.js");
const en = (await import("../../addin/shared/strings/en.js")).default;

test("Graph throttling names Microsoft 365 as the busy party", () => {
  const error = new ApiError(429, "graph_throttled", "", 6);
  assert.equal(errorKey(error), "error.graphBusy");
  assert.match(en[errorKey(error)], /^Microsoft 365 is busy/);
  assert.match(en[waitKey(error)], /^Microsoft 365 is busy, retrying in \{seconds\} s/);
});

test("Graph unavailable or timing out says Microsoft 365 did not answer", () => {
  for (const [status, code] of [[503, "graph_unavailable"], [504, "graph_timeout"], [503, "identity_unavailable"]]) {
    assert.match(en[errorKey(new ApiError(status, code, "", 5))], /^Microsoft 365 did not answer/, code);
  }
});

test("our own 429 and 503 name CRM Sync", () => {
  for (const [status, code] of [[429, "rate_limited"], [503, "busy"], [503, "unavailable"], [429, "throttled"]]) {
    const error = new ApiError(status, code, "", 5);
    assert.match(en[errorKey(error)], /^CRM Sync is busy/, code);
    assert.match(en[waitKey(error)], /^CRM Sync is busy, retrying/, code);
  }
});

test("a folder sync of a mailbox the organisation keeps the app out of says why, not just 'forbidden'", () => {
  const error = new ApiError(403, "automatic_sync_not_allowed", "", null);
  assert.equal(errorKey(error), "error.automaticSyncNotAllowed");
  assert.match(en[errorKey(error)], /^Automatic sync is not allowed for this mailbox by your organisation/);
});
