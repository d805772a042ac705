// The "Signed in as" picker: the emulator's users; choosing one reloads the page as that user.

import { $, settings, state } from "./page-state.js";

export async function loadUsers() {
  const response = await fetch("/_emulator/users");
  state.users = (await response.json()).users || [];
  state.user = state.users.find((u) => u.upn === settings.upn || u.mail === settings.upn) || state.users[0];
  const select = $("user-select");
  select.replaceChildren(...state.users.map((u) => new Option(`${u.display_name} <${u.upn}>`, u.upn, false, u === state.user)));
  select.addEventListener("change", () => {
    const url = new URL(location.href);
    url.searchParams.set("upn", select.value);
    location.href = url.toString();
  });
}
