// The reading pane: the selected message's header, its body in a locked-down iframe, and add-in notifications.

import { categoryChips } from "./category-chips.js";
import { graph } from "./graph.js";
import { ewsId, person } from "./office-item.js";
import { $, singleSelected, state } from "./page-state.js";

export async function renderReadingPane() {
  const ticket = (state.readingTicket += 1);
  const message = singleSelected();
  renderNotifications();
  if (!message) {
    $("reading").hidden = true;
    $("reading-empty").hidden = false;
    $("reading-empty").textContent = state.selected.length > 1 ? `${state.selected.length} items selected` : "Select an item to read";
    return;
  }
  $("reading-empty").hidden = true;
  $("reading").hidden = false;
  $("reading-subject").textContent = message.subject || "(no subject)";
  const from = person(message.from);
  $("reading-from").textContent = from ? `${from.displayName} <${from.emailAddress}>` : "(no sender)";
  $("reading-to").textContent = `To: ${(message.toRecipients || []).map((r) => r.emailAddress.address).join("; ")}`;
  $("reading-categories").replaceChildren(...categoryChips(message.categories).children);
  showBody("");
  try {
    const full = await graph("GET", `/me/messages/${encodeURIComponent(message.id)}?$select=body,categories`);
    if (ticket !== state.readingTicket) return;
    showBody(bodyDocument(full.body || {}));
  } catch {
    if (ticket === state.readingTicket) showBody("<p>Could not load this message.</p>");
  }
}

// A fresh iframe per body: reusing one races two srcdoc navigations against each other.
function showBody(html) {
  const old = $("reading-body");
  const frame = document.createElement("iframe");
  frame.id = "reading-body";
  // No allow-scripts and no allow-same-origin: a message's scripts never run.
  frame.setAttribute("sandbox", "allow-popups allow-popups-to-escape-sandbox");
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.title = "Message body";
  frame.srcdoc = html;
  old.replaceWith(frame);
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function bodyDocument(body) {
  // The iframe is sandboxed without allow-scripts; the CSP is a second lock on the same door.
  // Remote images and frames stay blocked too, as Outlook blocks external content by default.
  const csp = `<meta http-equiv="Content-Security-Policy" content="script-src 'none'; object-src 'none'; base-uri 'none'; img-src data: cid:; frame-src 'none'; form-action 'none'">`;
  const style = "<style>body{font-family:'Segoe UI',sans-serif;font-size:14px;color:#242424;margin:0}</style>";
  if ((body.contentType || "").toLowerCase() === "html") return `${csp}${style}${body.content || ""}`;
  return `${csp}${style}<pre style="white-space:pre-wrap;font-family:inherit">${escapeHtml(body.content || "")}</pre>`;
}

export function renderNotifications() {
  const message = singleSelected();
  const box = $("notifications");
  const entries = message ? state.notifications.get(ewsId(message.id)) : null;
  box.replaceChildren(
    ...[...(entries ? entries.entries() : [])].map(([key, note]) => {
      const div = document.createElement("div");
      div.className = "notification";
      div.dataset.key = key;
      div.dataset.type = note.type || "informationalMessage";
      div.textContent = note.message || "";
      return div;
    }),
  );
}
