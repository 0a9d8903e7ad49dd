// Shared by the review pages: the sign-in gate for proctors and the review's own formatting; API calls, DOM helpers
// and the language menu come from the pages' common modules (/common/).
import { $, api, buildSignin } from "/common/api.js";
import { applyTexts, initLang, t } from "./i18n.js";

export const SEV = { low: "#e0a800", medium: "#f08a4b", high: "#d7263d" };

export function fmtTime(s) {
  if (s === null || s === undefined) return "—";
  const m = Math.floor(s / 60), r = s - m * 60;
  return `${m}:${r.toFixed(1).padStart(4, "0")}`;
}

export function kindLabel(kind) { const k = `kind.${kind}`; const v = t(k); return v === k ? kind : v; }

// "Sign out" is shown only to someone signed in (never on the sign-in form).
function showSignout() { const b = $("signout"); if (b) b.hidden = false; }

// Resolves with the signed-in proctor; shows the sign-in form (or the refusal) otherwise.
export async function signedIn() {
  try {
    const me = await api("/api/review/me");
    showSignout();
    return me;
  } catch (e) {
    $("main").hidden = true;
    if (e.status === 403) { $("refused").hidden = false; showSignout(); return new Promise(() => {}); }
    buildSignin();
    $("signin").hidden = false;
    return new Promise((resolve) => {
      $("signin-form").addEventListener("submit", async (ev) => {
        ev.preventDefault();
        $("signin-error").textContent = "";
        try {
          await api("/api/auth/login", { method: "POST", body: { email: $("email").value, password: $("password").value } });
          const me = await api("/api/review/me");
          $("signin").hidden = true; $("main").hidden = false;
          showSignout();
          resolve(me);
        } catch (err) {
          if (err.status === 403) { $("signin").hidden = true; $("refused").hidden = false; showSignout(); return; }
          $("signin-error").textContent = t("signin.error");
        }
      });
    });
  }
}

export { $, api, applyTexts, initLang, t };
export { ApiError, el, wireSignout } from "/common/api.js";
