// Several selected messages (Mailbox 1.13 multi-select): their list, synced in chunks with a result per row.
import * as api from "../../addin/shared/api.js";
import { t } from "../../addin/shared/i18n.js";
import { clearAlert } from "./alerts.js";
import { callPatiently, currentTicket, isCurrent, view } from "./current-view.js";
import * as colleagues from "./colleague-links.js";
import * as filed from "./filed-email.js";
import { $, announce, describeError, el, isAbort } from "./ui.js";

// One request per 20 messages (what one Graph $batch holds), so rows show results as each chunk ends.
const BATCH_CHUNK = 20;

export function init() {
  $("multi-sync").addEventListener("click", () => syncSelection());
}

/** Shows the selected messages [{id, subject}] with a Sync button for all of them. */
export function showSelection(selected) {
  filed.hide();
  colleagues.hide();
  $("single").hidden = true;
  $("people-section").hidden = true;
  $("multi").hidden = false;
  clearAlert();
  announce("");
  view.message = null;
  view.selection = selected;
  $("multi-title").textContent = t("multi.title", { count: selected.length });
  const button = $("multi-sync");
  button.textContent = t("multi.sync", { count: selected.length });
  button.disabled = false;
  $("multi-summary").textContent = "";
  $("multi-list").replaceChildren(
    ...selected.map((message) =>
      el(
        "li",
        { "data-id": message.id },
        el(
          "div",
          { class: "multi-row" },
          el("span", { class: "multi-subject", text: message.subject || t("multi.noSubject") }),
          el("span", { class: "result", "data-result": "idle" }),
        ),
      ),
    ),
  );
}

function setRowResult(id, result, detail = "") {
  const li = $("multi-list").querySelector(`li[data-id="${CSS.escape(id)}"]`);
  if (!li) return;
  const badge = li.querySelector(".result");
  badge.dataset.result = result;
  badge.textContent = t(`multi.${result}`);
  li.querySelector(".result-detail")?.remove();
  if (detail) li.append(el("span", { class: "result-detail", text: detail }));
}

async function syncSelection() {
  const selected = view.selection || [];
  if (!selected.length) return;
  const ticket = currentTicket();
  const ids = selected.map((message) => message.id);
  $("multi-sync").disabled = true;
  for (const id of ids) setRowResult(id, "waiting");
  let ok = 0;
  for (let start = 0; start < ids.length; start += BATCH_CHUNK) {
    const chunk = ids.slice(start, start + BATCH_CHUNK);
    for (const id of chunk) setRowResult(id, "syncing");
    try {
      const answer = await callPatiently(() => api.batchSync(chunk, { signal: ticket.signal }), ticket);
      if (!isCurrent(ticket)) return;
      announce("");
      for (const row of api.batchResults(answer, chunk)) {
        if (row.ok) {
          ok += 1;
          setRowResult(row.id, "done");
        } else {
          setRowResult(row.id, "failed", describeError(row.error));
        }
      }
    } catch (error) {
      if (!isCurrent(ticket) || isAbort(error)) return;
      for (const id of chunk) setRowResult(id, "failed", describeError(error));
    }
  }
  $("multi-summary").textContent = t("multi.summary", { ok, count: ids.length });
  $("multi-sync").disabled = false;
}
