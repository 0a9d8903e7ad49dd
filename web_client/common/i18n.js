// The i18n machinery shared by the browser pages (student, review, staff); each page keeps only its own texts
// and registers them once with useTexts(). The language comes from the saved choice, else the browser's
// languages, else English; t(key, vars) falls back to English, then to the key; applyTexts() fills [data-i18n]
// elements (text) and [data-i18n-label] elements (aria-label).

export const LANGS = { kk: "Қазақша", ru: "Русский", en: "English" };

let TEXTS = { en: {} };
let storageKey = "lang";
let titleKey = null;
let current = "en";

// texts: { en, ru, kk } tables; storage: the localStorage key of the page's choice; title: the key of the
// document title when the page's <body data-title> does not name one.
export function useTexts(texts, { storage, title = null }) {
  TEXTS = texts;
  storageKey = storage;
  titleKey = title;
}

const known = (code) => Object.hasOwn(TEXTS, code);

export function initialLang() {
  const saved = localStorage.getItem(storageKey);
  if (saved && known(saved)) return saved;
  const browser = navigator.languages?.length ? navigator.languages : [navigator.language || "en"];
  for (const l of browser) {
    const code = l.slice(0, 2).toLowerCase();
    if (known(code)) return code;
  }
  return "en";
}

export function setLang(code) {
  current = known(code) ? code : "en";
  localStorage.setItem(storageKey, current);
  document.documentElement.lang = current;
  applyTexts();
}

export function lang() { return current; }

export function has(key) { return key in TEXTS.en; }

export function t(key, vars = {}) {
  const text = TEXTS[current][key] ?? TEXTS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

export function applyTexts(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    const vars = el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : {};
    el.textContent = t(el.dataset.i18n, vars);
  }
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  const title = document.body?.dataset.title || titleKey;
  if (title) document.title = t(title);
}

// The page's language menu (<select id="lang">): filled with LANGS, set to the first choice; a change re-applies
// the texts, calls onChange and fires a "langchange" event on the document for parts drawn by script.
export function initLang(onChange) {
  const sel = document.getElementById("lang");
  for (const [code, name] of Object.entries(LANGS)) sel.add(new Option(name, code));
  sel.value = initialLang();
  setLang(sel.value);
  sel.addEventListener("change", () => {
    setLang(sel.value);
    onChange?.();
    document.dispatchEvent(new Event("langchange"));
  });
}
