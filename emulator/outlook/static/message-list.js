// The message list of the open folder: loading it from Graph and drawing its rows.

import { categoryChips } from "./category-chips.js";
import { graph } from "./graph.js";
import { $, state } from "./page-state.js";
import { onRowClick } from "./selection.js";

const MESSAGE_FIELDS = "id,subject,from,toRecipients,ccRecipients,receivedDateTime,internetMessageId,conversationId,categories,isRead,bodyPreview";

export async function loadMessages() {
  let url = `/me/mailFolders/${encodeURIComponent(state.folderId)}/messages?$top=50&$select=${MESSAGE_FIELDS}&$orderby=receivedDateTime desc`;
  const messages = [];
  for (let page = 0; url && page < 4; page += 1) {
    const answer = await graph("GET", url);
    messages.push(...((answer && answer.value) || []));
    url = answer && answer["@odata.nextLink"];
  }
  messages.sort((a, b) => String(b.receivedDateTime).localeCompare(String(a.receivedDateTime)));
  state.messages = messages;
  renderMessageList();
}

export function renderMessageList() {
  const list = $("message-list");
  list.replaceChildren(
    ...state.messages.map((message) => {
      const li = document.createElement("li");
      li.className = `message-row${message.isRead ? "" : " unread"}`;
      li.role = "option";
      li.dataset.id = message.id;
      li.dataset.subject = message.subject || "";
      li.setAttribute("aria-selected", String(state.selected.includes(message.id)));
      const from = document.createElement("div");
      from.className = "from";
      from.textContent = (message.from && message.from.emailAddress && (message.from.emailAddress.name || message.from.emailAddress.address)) || "(no sender)";
      const subject = document.createElement("div");
      subject.className = "subject";
      subject.textContent = message.subject || "(no subject)";
      const preview = document.createElement("div");
      preview.className = "preview";
      preview.textContent = message.bodyPreview || "";
      li.append(from, subject, preview, categoryChips(message.categories));
      li.addEventListener("click", (event) => onRowClick(event, message.id));
      return li;
    }),
  );
}
