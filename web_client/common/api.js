// Shared by the signed-in staff and review pages: JSON API calls with the sign-in cookie (errors as ApiError with
// the server's code, message and details), sign-out, and the small DOM helpers $ and el.
import { t } from "./i18n.js";

export const $ = (id) => document.getElementById(id);

export class ApiError extends Error {
  constructor(status, code, message, details) { super(message); this.status = status; this.code = code; this.details = details; }
}

// A FormData body goes as multipart (the browser sets its boundary); anything else as JSON.
export async function api(path, { method = "GET", body } = {}) {
  const form = body instanceof FormData;
  const headers = body !== undefined && !form ? { "Content-Type": "application/json" } : {};
  const r = await fetch(path, { method, headers, credentials: "same-origin",
    body: body === undefined || form ? body : JSON.stringify(body) });
  if (!r.ok) {
    let code = "error", message = r.statusText, details;
    try { const e = (await r.json()).error; code = e.code; message = e.message; details = e.details; } catch { /* not JSON */ }
    throw new ApiError(r.status, code, message, details);
  }
  return r.status === 204 ? null : r.json();
}

// "Sign out" (#signout) ends the cookie session and reloads the page (which then shows the sign-in form).
export function wireSignout() {
  const b = $("signout");
  if (b) b.addEventListener("click", async () => { try { await api("/api/auth/logout", { method: "POST" }); } finally { location.reload(); } });
}

// el("button", {type: "button", onclick: f, i18n: "key"}, children...)
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "i18n") { e.dataset.i18n = v; e.textContent = t(v); }
    else if (k === "value") e.value = v;
    else if (k === "checked") e.checked = !!v;
    else if (k === "style") e.style.cssText = v;  // CSSOM: allowed by the CSP, a style attribute is not
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c);
  return e;
}

// The sign-in gate of a signed-in page: resolves with the person `whoAmI()` answers once they are signed in and
// allowed (#main shown, and "Sign out"); when `whoAmI()` fails with 403 the refusal (#refused) is shown, otherwise
// the sign-in form (#signin), and the promise waits for a sign-in. "Sign out" never shows on the sign-in form.
export async function signInGate(whoAmI) {
  const show = (id, on) => { const e = $(id); if (e) e.hidden = !on; };
  const admitted = (me) => { show("signin", false); show("refused", false); show("main", true); show("signout", true); return me; };
  const refused = () => { show("signin", false); show("main", false); show("refused", true); show("signout", true); };
  try {
    return admitted(await whoAmI());
  } catch (e) {
    if (e.status === 403) { refused(); return new Promise(() => {}); }
  }
  show("main", false);
  buildSignin();
  show("signin", true);
  return new Promise((resolve) => {
    $("signin-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("signin-error").textContent = "";
      try {
        await api("/api/auth/login", { method: "POST", body: { email: $("email").value.trim(), password: $("password").value } });
        resolve(admitted(await whoAmI()));
      } catch (err) {
        if (err.status === 403) refused(); else $("signin-error").textContent = t("signin.error");
      }
    });
  });
}

// The sign-in form of a signed-in page, built once into its <section id="signin"> (hidden until the page's gate
// shows it): e-mail, password, the submit button and an alert line for the error.
export function buildSignin() {
  const box = $("signin");
  if (!box || $("signin-form")) return;
  box.setAttribute("aria-labelledby", "signin-h");
  box.replaceChildren(
    el("h2", { id: "signin-h", i18n: "signin.heading" }),
    el("form", { id: "signin-form", novalidate: true },
      el("label", { for: "email", i18n: "signin.email" }),
      el("input", { id: "email", type: "email", autocomplete: "username", required: true }),
      el("label", { for: "password", i18n: "signin.password" }),
      el("input", { id: "password", type: "password", autocomplete: "current-password", required: true }),
      el("button", { id: "signin-btn", type: "submit", i18n: "signin.submit" }),
      el("p", { id: "signin-error", class: "error", role: "alert" })));
}
