// The "More" disclosure: sync a folder since a date (a job with a progress bar) and the automatic sync setting.
import * as api from "../../addin/shared/api.js";
import { t } from "../../addin/shared/i18n.js";
import { $, announce, el, errorBox, isAbort, isBusy, setBusy, skeletonLines } from "./ui.js";

const POLL_MS = 1000;
const DEFAULT_SINCE_DAYS = 30;
const MODES = ["off", "marked", "known_contacts"];

const bulk = { jobId: null, timer: 0, request: null };
let settingsLoaded = false;

export function init() {
  const since = new Date(Date.now() - DEFAULT_SINCE_DAYS * 86_400_000);
  $("bulk-since").value = since.toISOString().slice(0, 10);
  $("bulk-since").max = new Date().toISOString().slice(0, 10);
  $("bulk-form").addEventListener("submit", (event) => {
    event.preventDefault();
    startBulk();
  });
  $("more").addEventListener("toggle", () => {
    if ($("more").open && !settingsLoaded) loadSettings();
  });
}

// ---------------------------------------------------------------- bulk sync

async function startBulk() {
  const form = $("bulk-form");
  if (isBusy(form) || bulk.jobId) return;
  form.querySelector(".inline-alert")?.remove();
  const folder = $("bulk-folder").value;
  const since = $("bulk-since").value;
  setBusy(form, true);
  showProgress({ state: "queued", done: 0, total: null, failed: 0 });
  announce(t("bulk.started"));
  try {
    const answer = await api.withBusyRetry(() => api.startBulkSync(folder, since));
    bulk.jobId = answer.job_id;
    poll();
  } catch (error) {
    setBusy(form, false);
    $("bulk-progress").hidden = true;
    announce("");
    form.append(errorBox(error, startBulk));
  }
}

async function poll() {
  clearTimeout(bulk.timer);
  const form = $("bulk-form");
  try {
    const job = await api.withBusyRetry(() => api.jobProgress(bulk.jobId));
    showProgress(job);
    if (job.state === "done" || job.state === "failed") {
      bulk.jobId = null;
      setBusy(form, false);
      announce($("bulk-result").textContent);
      if (job.state === "failed") form.append(errorBox(new Error("job failed"), startBulk));
      return;
    }
    bulk.timer = setTimeout(poll, POLL_MS);
  } catch (error) {
    if (isAbort(error)) return;
    form.append(errorBox(error, poll)); // the job goes on; Retry resumes watching it
  }
}

function duration(seconds) {
  if (seconds < 60) return t("bulk.seconds", { n: Math.max(1, Math.round(seconds)) });
  return t("bulk.minutes", { n: Math.round(seconds / 60) });
}

// Each outcome counted apart, so "N emails synced" never counts what was skipped or already there.
const SUMMARY_PARTS = [
  ["already_filed", "bulk.alreadyFiled"],
  ["marked", "bulk.skippedMarked"],
  ["no_contact", "bulk.skippedNoContact"],
  ["never_sync", "bulk.skippedNeverSync"],
  ["failed", "bulk.notSynced"],
];

function doneSummary(summary) {
  const parts = SUMMARY_PARTS.filter(([key]) => summary[key] > 0).map(([key, text]) => t(text, { n: summary[key] }));
  const done = t("bulk.done", { done: summary.filed || 0 });
  return parts.length ? `${done.replace(/\.$/, "")}; ${parts.join(", ")}.` : done;
}

function showProgress(job) {
  $("bulk-progress").hidden = false;
  const bar = $("bulk-bar");
  const total = job.total;
  const handled = (job.done || 0) + (job.failed || 0);
  if (total) {
    bar.max = total;
    bar.value = Math.min(handled, total);
  } else if (job.state === "done") {
    bar.max = 1;
    bar.value = 1;
  } else {
    bar.removeAttribute("value"); // indeterminate until the folder is counted
  }
  let text;
  if (job.state === "queued") text = t("bulk.queued");
  else if (job.state === "retrying") text = t("bulk.retrying", { done: handled });
  else if (job.state === "done") text = job.summary ? doneSummary(job.summary) : t(job.failed ? "bulk.doneFailed" : "bulk.done", { done: job.done, failed: job.failed });
  else if (job.state === "failed") text = t("bulk.failed", { done: job.done });
  else if (total) {
    text = t("bulk.progress", { done: handled, total });
    if (job.eta_s != null && job.eta_s > 0) text += ` · ${t("bulk.eta", { time: duration(job.eta_s) })}`;
  } else text = t("bulk.counting", { done: handled });
  $("bulk-result").textContent = text;
  $("bulk-progress").dataset.state = job.state;
}

// ---------------------------------------------------------------- automatic sync setting

async function loadSettings() {
  const box = $("auto-sync-options");
  box.setAttribute("aria-busy", "true");
  box.replaceChildren(...skeletonLines(3));
  try {
    const settings = await api.withBusyRetry(() => api.getSettings());
    settingsLoaded = true;
    renderSettings(settings);
  } catch (error) {
    if (isAbort(error)) return;
    box.replaceChildren(errorBox(error, loadSettings));
  } finally {
    box.setAttribute("aria-busy", "false");
  }
}

function renderSettings(settings) {
  const box = $("auto-sync-options");
  const radios = MODES.map((mode) => {
    const id = `auto-sync-${mode}`;
    const input = el("input", { type: "radio", name: "auto_sync", id, value: mode, checked: settings.auto_sync === mode });
    input.addEventListener("change", () => input.checked && saveMode(mode, settings.auto_sync));
    return el("div", { class: "check" }, input, el("label", { for: id, text: t(`auto.${mode}`) }));
  });
  const tenant = settings.tenant && settings.tenant.auto_sync;
  // The organisation keeps the app out of this mailbox: the setting is kept, but nothing runs by itself.
  const blocked = settings.automatic_sync_blocked ? el("p", { id: "auto-sync-blocked", class: "state-note", text: t("auto.blocked") }) : "";
  // An administrator's restriction only narrows what this mailbox files: say so.
  const limit = settings.restrictions && settings.restrictions.auto_sync;
  box.replaceChildren(
    blocked,
    ...radios,
    tenant ? el("p", { class: "muted", text: t("auto.default", { mode: t(`auto.${tenant}`) }) }) : "",
    limit ? el("p", { class: "muted", id: "auto-sync-limit", text: t("auto.limited", { mode: t(`auto.${limit}`) }) }) : "",
  );
}

async function saveMode(mode, previous) {
  const box = $("auto-sync-options");
  box.querySelector(".inline-alert")?.remove();
  setBusy(box, true);
  announce(t("status.saving"));
  try {
    const settings = await api.withBusyRetry(() => api.putSettings({ auto_sync: mode }));
    renderSettings(settings);
    $(`auto-sync-${settings.auto_sync}`)?.focus();
    announce(t("auto.saved", { mode: t(`auto.${settings.auto_sync}`) }));
  } catch (error) {
    const back = $(`auto-sync-${previous}`);
    if (back) back.checked = true;
    announce("");
    box.append(errorBox(error, () => {
      $(`auto-sync-${mode}`).checked = true;
      saveMode(mode, previous);
    }));
  } finally {
    setBusy(box, false);
  }
}
