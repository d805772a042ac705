// The page's settings (from the server) and its one state object, with lookups into the loaded messages.

import { ewsId } from "./office-item.js";

export const settings = JSON.parse(document.getElementById("outlook-settings").textContent);
export const ADDIN_ORIGIN = settings.addinOrigin;

export const $ = (id) => document.getElementById(id);
export const state = {
  users: [],
  user: null,
  token: null,
  folders: [],
  folderId: null,
  messages: [],
  selected: [], // ids, in selection order
  anchor: null,
  masterCategories: [],
  pane: { open: false, pinned: false, ready: false, control: null },
  functions: { ready: false, associated: new Set(), waiting: [] },
  invocations: new Map(),
  notifications: new Map(), // itemId (EWS) -> Map(key -> message)
  openedUrls: [],
  readingTicket: 0,
};
window.outlookPage = state; // for tests and curious developers

export const messageById = (id) => state.messages.find((m) => m.id === id);
export const messageByEws = (itemId) => state.messages.find((m) => ewsId(m.id) === itemId);
export const singleSelected = () => (state.selected.length === 1 ? messageById(state.selected[0]) : null);
