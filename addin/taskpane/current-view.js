// What the pane shows now, and the tickets that keep a late answer from being drawn under another message.
import { withBusyRetry } from "../../addin/shared/api.js";
import { showBusy } from "./alerts.js";

// `generation` grows on every switch, so a late answer for an earlier message (or selection) is
// dropped instead of rendered under the wrong subject. `busy`: an action on the message is running.
export const view = { generation: 0, controller: null, message: null, data: null, selection: null, busy: false };

/** The current generation and its abort signal: what an answer is checked against before it is shown. */
export const currentTicket = () => ({ generation: view.generation, signal: view.controller.signal });

export const isCurrent = (ticket) => ticket.generation === view.generation;

/** Starts a new generation (another message or selection) and aborts what the last one still waits for. */
export function beginGeneration() {
  if (view.controller) view.controller.abort();
  view.generation += 1;
  view.controller = new AbortController();
  return currentTicket();
}

/** Runs `call()` for `ticket`, waiting out a busy CRM Sync or Microsoft 365 with a countdown in the status line while it is current. */
export function callPatiently(call, ticket) {
  return withBusyRetry(call, { signal: ticket.signal, onWait: (seconds, error) => isCurrent(ticket) && showBusy(seconds, error) });
}
