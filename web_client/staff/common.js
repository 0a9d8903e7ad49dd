// Shared by the staff pages: the sign-in gate with the role the page needs, a polite live region for "saved" and
// error messages, tabs and form helpers; API calls, DOM helpers and the language menu come from /common/.
import { $, ApiError, api, el, signInGate } from "/common/api.js";
import { applyTexts, initLang, t } from "./i18n.js";

// A wide table inside a region that scrolls sideways on its own (keyboard-focusable), so the page never does.
export function scroller(label, table) {
  return el("div", { class: "scroll", role: "region", tabindex: "0", "aria-label": label }, table);
}

// A labelled form field: label + input/select, ids tied so screen readers read the label.
let uid = 0;
export function field(labelKey, control) {
  if (!control.id) control.id = `f${++uid}`;
  return el("div", { class: "field" }, el("label", { for: control.id, i18n: labelKey }), control);
}

export function fmtDate(iso) { return iso ? new Date(iso).toLocaleString(document.documentElement.lang) : "—"; }
export function fmtPct(v) { return v === null || v === undefined ? "—" : `${Number(v).toFixed(1)} %`; }
export function localInput(iso) { // an ISO time -> the value of an <input type="datetime-local">
  const d = iso ? new Date(iso) : new Date();
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
export function fromLocalInput(v) { return new Date(v).toISOString(); }

// Status messages: written to one polite live region (announced, focus stays where it is).
export function announce(key, vars = {}, kind = "ok") {
  const s = $("status");
  s.className = `status ${kind}`;
  s.dataset.i18n = key;
  s.dataset.i18nVars = JSON.stringify(vars);
  s.textContent = t(key, vars);
}
export function fail(err) { announce("msg.error", { error: err.message || String(err) }, "bad"); }

// Resolves with the signed-in person once their role is one of `roles`; shows the sign-in form otherwise, and the
// refusal for a signed-in person whose role may not use the page (the gate is /common/api.js's).
export async function signedIn(roles) {
  const me = await signInGate(async () => {
    const who = await api("/api/auth/me");
    if (!roles.includes(who.role)) throw new ApiError(403, "forbidden", "this page is not for this role");
    return who;
  });
  $("who").textContent = me.full_name || me.email || "";
  return me;
}

// Tabs: buttons in the page's nav show one section at a time; the chosen one is aria-current.
export function wireTabs(onShow) {
  const buttons = [...document.querySelectorAll("nav.tabs button[data-tab]")];
  const show = (name) => {
    for (const b of buttons) {
      if (b.dataset.tab === name) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
      $(b.dataset.tab).hidden = b.dataset.tab !== name;
    }
    document.body.dataset.tab = name;
    onShow?.(name);
  };
  for (const b of buttons) b.addEventListener("click", () => { show(b.dataset.tab); $(`${b.dataset.tab}-h`)?.focus(); });
  show(buttons[0].dataset.tab);
  return show;
}

export { $, api, applyTexts, el, initLang, t };
export { ApiError, wireSignout } from "/common/api.js";
