// Ribbon buttons that run a function in the add-in's function file, and what Outlook shows when one completes.

import { postToFrame } from "./frames.js";
import { loadMessages } from "./message-list.js";
import { officeItem } from "./office-item.js";
import { $, settings, singleSelected, state } from "./page-state.js";
import { renderReadingPane } from "./reading-pane.js";

export function loadFunctionFile() {
  if (!settings.ribbon.functionFile) return;
  $("function-frame").src = settings.ribbon.functionFile;
}

export function invokeFunction(control) {
  const message = singleSelected();
  if (!message) return;
  const invocationId = `${control.action.function}-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  state.invocations.set(invocationId, { control: control.id, fn: control.action.function, started: Date.now() });
  document.body.dataset.command = `${control.action.function}:running`;
  const send = () =>
    postToFrame($("function-frame"), {
      type: "invoke",
      functionName: control.action.function,
      controlId: control.id,
      invocationId,
      item: officeItem(message),
    });
  // A function can only run once the function file has associated it with its name.
  if (state.functions.associated.has(control.action.function)) send();
  else state.functions.waiting.push({ name: control.action.function, send });
}

export async function onCommandCompleted(invocationId) {
  const call = state.invocations.get(invocationId);
  if (!call) return;
  state.invocations.delete(invocationId);
  document.body.dataset.command = `${call.fn}:completed`;
  // The command may have changed categories: show what Outlook would show.
  await loadMessages();
  for (const row of $("message-list").children) row.setAttribute("aria-selected", String(state.selected.includes(row.dataset.id)));
  renderReadingPane();
}
