// Shared by the review pages: the sign-in gate for proctors and the review's own formatting; API calls, DOM helpers
// and the language menu come from the pages' common modules (/common/).
import { $, api, signInGate } from "/common/api.js";
import { applyTexts, initLang, t } from "./i18n.js";

export const SEV = { low: "#e0a800", medium: "#f08a4b", high: "#d7263d" };

export function fmtTime(s) {
  if (s === null || s === undefined) return "—";
  const m = Math.floor(s / 60), r = s - m * 60;
  return `${m}:${r.toFixed(1).padStart(4, "0")}`;
}

export function kindLabel(kind) { const k = `kind.${kind}`; const v = t(k); return v === k ? kind : v; }

// Resolves with the signed-in proctor; shows the sign-in form (or the refusal) otherwise (/common/api.js).
export const signedIn = () => signInGate(() => api("/api/review/me"));

export { $, api, applyTexts, initLang, t };
export { ApiError, el, wireSignout } from "/common/api.js";
