// How Office.js shows a Graph message to an add-in: EWS ids and plain person objects.

export const ewsId = (restId) => restId.replace(/-/g, "/").replace(/_/g, "+");
export const person = (r) => (r && r.emailAddress ? { displayName: r.emailAddress.name || "", emailAddress: r.emailAddress.address || "" } : null);

export function officeItem(message) {
  if (!message) return null;
  return {
    itemId: ewsId(message.id),
    subject: message.subject || "",
    from: person(message.from),
    to: (message.toRecipients || []).map(person),
    cc: (message.ccRecipients || []).map(person),
    internetMessageId: message.internetMessageId || "",
    conversationId: message.conversationId || "",
    receivedDateTime: message.receivedDateTime || null,
  };
}
