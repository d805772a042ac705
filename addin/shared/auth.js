// Gets a token for our API: nested app authentication (MSAL.js), else Office SSO. Memory only.
/* global Office */

const MSAL_SCRIPT = "/addin/vendor/msal-browser.min.js";
const EXPIRY_MARGIN_MS = 60_000;

/** A failure the user can fix by signing in (or that needs an admin's consent). */
export class SignInNeeded extends Error {
  constructor(message, { consent = false } = {}) {
    super(message);
    this.name = "SignInNeeded";
    this.consent = consent;
  }
}

let config = { clientId: "", scope: "", authority: "https://login.microsoftonline.com/common" };
let cached = null; // {token, expiresAt}
let naaClient = null; // Promise of the MSAL nestable client, or null when NAA is unavailable

/** Takes the settings the server rendered into the page's <meta name="crm-config"> (none: the defaults). */
export function configureFromPage() {
  try {
    config = { ...config, ...JSON.parse(document.querySelector('meta[name="crm-config"]').content || "{}") };
  } catch {
    // No meta or unreadable JSON: keep the defaults, and sign-in says what is missing.
  }
}

function expiryOf(token) {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return payload.exp * 1000;
  } catch {
    return Date.now() + 5 * 60_000;
  }
}

function remember(token) {
  cached = { token, expiresAt: expiryOf(token) - EXPIRY_MARGIN_MS };
  return token;
}

function naaSupported() {
  return Boolean(
    config.clientId &&
      config.scope &&
      Office.context.requirements &&
      Office.context.requirements.isSetSupported("NestedAppAuth", "1.1") &&
      // Without the host's bridge MSAL would build a plain SPA client (its own sign-in
      // popups), which is not what we want inside Outlook: Office SSO is the fallback then.
      typeof window !== "undefined" &&
      window.nestedAppAuthBridge !== undefined,
  );
}

function loadMsal() {
  if (globalThis.msal) return Promise.resolve(globalThis.msal);
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = MSAL_SCRIPT;
    script.onload = () => (globalThis.msal ? resolve(globalThis.msal) : reject(new Error("MSAL did not load")));
    script.onerror = () => reject(new Error("MSAL did not load"));
    document.head.appendChild(script);
  });
}

function nestableClient() {
  if (!naaClient) {
    naaClient = loadMsal().then((msal) =>
      msal.createNestablePublicClientApplication({
        auth: { clientId: config.clientId, authority: config.authority },
        cache: { cacheLocation: "memoryStorage" },
      }),
    );
  }
  return naaClient;
}

async function tokenByNaa() {
  const pca = await nestableClient();
  const request = { scopes: [config.scope] };
  try {
    const result = await pca.acquireTokenSilent(request);
    return result.accessToken;
  } catch {
    // Silent failed (first use, consent, expired session): Outlook shows its own prompt.
    try {
      const result = await pca.acquireTokenPopup(request);
      return result.accessToken;
    } catch (error) {
      throw new SignInNeeded(String((error && error.errorCode) || "popup_failed"));
    }
  }
}

function tokenByOfficeSso({ prompt }) {
  // Error codes: https://learn.microsoft.com/office/dev/add-ins/develop/troubleshoot-sso-in-office-add-ins
  const signIn = new Set([13001, 13002, 13006, 13008, 13010]);
  // Office SSO is IdentityAPI 1.3; a client without it answers as Office itself does there (13012).
  if (!Office.context.requirements || !Office.context.requirements.isSetSupported("IdentityAPI", "1.3")) {
    return Promise.reject(new SignInNeeded("13012"));
  }
  return Office.auth
    .getAccessToken({ allowSignInPrompt: prompt, allowConsentPrompt: prompt, forMSGraphAccess: false })
    .catch((error) => {
      const code = error && error.code;
      if (code === 13005 || code === 13012 || code === 13013) throw new SignInNeeded(String(code), { consent: code === 13005 });
      if (signIn.has(code)) throw new SignInNeeded(String(code));
      throw new SignInNeeded(String(code || "sso_failed"));
    });
}

/**
 * Resolves to an access token for our API.
 * Raises SignInNeeded when the user has to sign in or consent (show a "Sign in" button).
 */
export async function getToken({ forceRefresh = false, prompt = false } = {}) {
  if (!forceRefresh && cached && cached.expiresAt > Date.now()) return cached.token;
  cached = null;
  if (naaSupported()) {
    try {
      return remember(await tokenByNaa());
    } catch (error) {
      if (!(error instanceof SignInNeeded) || !Office.auth) throw error;
      // NAA refused (e.g. an old host build): Office SSO may still work.
    }
  }
  return remember(await tokenByOfficeSso({ prompt }));
}

/** Forgets the token (after a 401, so the next call asks again). */
export function forgetToken() {
  cached = null;
}
