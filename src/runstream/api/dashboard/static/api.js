// The page's one client: same origin, org "default", and the credentials a person gave
// (an API key, or a stream token; `?token=` in the page URL works too).

import { RunstreamClient } from "./lib/index.js";

const KEY = "runstream.apiKey";
const TOKEN = "runstream.token";

export const ORG = new URLSearchParams(location.search).get("org") || "default";

/** The credentials in force: the page URL's ?token= wins over saved ones. */
export function credentials() {
  const fromUrl = new URLSearchParams(location.search).get("token");
  return {
    apiKey: sessionStorage.getItem(KEY) || undefined,
    token: fromUrl || sessionStorage.getItem(TOKEN) || undefined,
  };
}

/** Save credentials for this tab (empty strings forget them). */
export function saveCredentials({ apiKey, token }) {
  for (const [name, value] of [[KEY, apiKey], [TOKEN, token]]) {
    if (value) sessionStorage.setItem(name, value);
    else sessionStorage.removeItem(name);
  }
}

/** A client with the current credentials. */
export function client() {
  const { apiKey, token } = credentials();
  return new RunstreamClient({
    org: ORG,
    ...(apiKey ? { apiKey } : {}),
    ...(token ? { token } : {}),
  });
}

/** A short sentence for a failed call. */
export function explain(error) {
  if (error && typeof error.status === "number") {
    if (error.status === 401 || error.status === 403) return `${error.message} — give a key under Access`;
    return `${error.status}: ${error.message}`;
  }
  return "cannot reach the server";
}
