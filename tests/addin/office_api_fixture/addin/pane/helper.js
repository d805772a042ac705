// Reported: an Office.js call on an untyped parameter, which the check cannot see into.
export function untyped(mailItem) {
  mailItem.categories.getAsync(() => {});
}
