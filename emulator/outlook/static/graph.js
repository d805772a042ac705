// Calls to the emulated Graph as the signed-in user, with a token from the emulator's admin API.

import { state } from "./page-state.js";

async function graphToken(force = false) {
  if (state.token && !force) return state.token;
  const response = await fetch(`/_emulator/graph-token?upn=${encodeURIComponent(state.user.upn)}`);
  if (!response.ok) throw new Error(`graph-token: ${response.status}`);
  state.token = (await response.json()).access_token;
  return state.token;
}

// One retry with a fresh token on 401: the cached token may have expired or been revoked.
export async function graph(method, path, body) {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const token = await graphToken(attempt > 0);
    const response = await fetch(path.startsWith("http") ? path : `/v1.0${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        "X-Emulator-Client": "outlook-page",
        ...(body ? { "Content-Type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (response.status === 401 && attempt === 0) continue;
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`);
    return response.status === 204 ? null : response.json();
  }
  return null;
}
