// The add-in's roaming settings (Office.context.roamingSettings), kept as Outlook keeps them: per
// add-in and per user's mailbox, outliving the add-in's pages. Here in the page's localStorage (the
// emulator's origin), so they survive a reload; each browser profile has its own, as each test does.

import { settings, state } from "./page-state.js";

const key = () => `outlook-emulator.roamingSettings.${settings.ribbon.addinId}.${state.user ? state.user.upn : ""}`;

/** What an add-in page loading now reads. */
export function loadRoamingSettings() {
  try {
    return JSON.parse(localStorage.getItem(key()) || "{}");
  } catch {
    return {};
  }
}

export const ROAMING_CALLS = {
  "roamingSettings.save": ({ settings: values }) => {
    localStorage.setItem(key(), JSON.stringify(values || {}));
    return null;
  },
};
