// Shared by the review pages: API calls (cookie sign-in), the language menu, sign-in gate, small DOM helpers.
import { LANGS, applyTexts, initialLang, setLang, t } from "./i18n.js";

export const $ = (id) => document.getElementById(id);
export const SEV = { low: "#e0a800", medium: "#f08a4b", high: "#d7263d" };

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = body !== undefined ? { "Content-Type": "application/json" } : {};
  const r = await fetch(path, { method, headers, credentials: "same-origin",
    body: body !== undefined ? JSON.stringify(body) : undefined });
  if (!r.ok) {
    let code = "error", message = r.statusText;
    try { const e = (await r.json()).error; code = e.code; message = e.message; } catch { /* not JSON */ }
    throw new ApiError(r.status, code, message);
  }
  return r.status === 204 ? null : r.json();
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "i18n") { e.dataset.i18n = v; e.textContent = t(v); }
    else if (k === "style") e.style.cssText = v;  // CSSOM: allowed by the CSP, a style attribute is not
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c);
  return e;
}

export function fmtTime(s) {
  if (s === null || s === undefined) return "—";
  const m = Math.floor(s / 60), r = s - m * 60;
  return `${m}:${r.toFixed(1).padStart(4, "0")}`;
}

export function kindLabel(kind) { const k = `kind.${kind}`; const v = t(k); return v === k ? kind : v; }

export function initLang() {
  const sel = $("lang");
  for (const [code, name] of Object.entries(LANGS)) sel.append(el("option", { value: code }, name));
  const lang = initialLang();
  sel.value = lang;
  setLang(lang);
  sel.addEventListener("change", () => { setLang(sel.value); document.dispatchEvent(new Event("langchange")); });
}

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

export function wireSignout() {
  const b = $("signout");
  if (b) b.addEventListener("click", async () => { try { await api("/api/auth/logout", { method: "POST" }); } finally { location.reload(); } });
}

export { applyTexts, t };
