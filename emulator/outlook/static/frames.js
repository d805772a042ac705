// Messages from the page to the add-in's frames (task pane and function file), on the add-in's origin only.

import { ADDIN_ORIGIN } from "./page-state.js";

export function postToFrame(frame, message) {
  if (frame.contentWindow) frame.contentWindow.postMessage({ source: "outlook-page", ...message }, ADDIN_ORIGIN);
}
