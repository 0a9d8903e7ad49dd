// Programmes and the 30 % rule. The plan editor asks the server to check the plan on every change
// (POST /api/v1/plan-check, nothing saved) and shows what counts, what is excluded (industrial training,
// professional practice) and why the plan cannot be approved; "Save" stores it, "Approve" asks the server,
// which refuses a plan that breaks the rule.
import { $, announce, api, el, fail, field, fmtPct, scroller, t } from "./common.js";

const state = { list: [], current: null, items: [], check: null, seq: 0 };

function shareOf(check) {
  if (!check) return "—";
  const f = check[check.basis];
  return f.share === null ? "—" : fmtPct(f.share * 100);
}

function renderList() {
  $("prog-rows").replaceChildren(...state.list.map((p) => el("tr", { dataset: { programme: p.id, status: p.status } },
    el("td", {}, p.code), el("td", {}, p.title),
    el("td", {}, el("span", { class: `badge ${p.status}` }, t(`prog.status.${p.status}`))),
    el("td", {}, shareOf(p.plan_check), " ", p.plan_check ? el("span", { class: p.plan_check.ok ? "ok" : "bad" }, p.plan_check.ok ? "✓" : "✗") : ""),
    el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => open(p.id),
      "aria-label": t("prog.edit_named", { title: p.title }) }, t("prog.edit"))))));
}

export async function loadProgrammes() {
  state.list = await api("/api/v1/programmes");
  renderList();
}

function itemRow(it, n) {
  const upd = (k, v) => { state.items[n][k] = v; queueCheck(); };
  const num = (k) => el("input", { type: "number", min: "0", step: "any", value: it[k], "aria-label": `${t(`item.${k}`)}: ${it.title || n + 1}`,
    oninput: (e) => upd(k, e.target.value === "" ? 0 : Number(e.target.value)) });
  const fmt = el("select", { "aria-label": `${t("item.format")}: ${it.title || n + 1}`, onchange: (e) => upd("format", e.target.value) },
    ...["synchronous", "asynchronous"].map((f) => el("option", { value: f }, t(`format.${f}`))));
  fmt.value = it.format;
  const flag = (k) => el("input", { type: "checkbox", checked: it[k], "aria-label": `${t(`item.${k}`)}: ${it.title || n + 1}`,
    onchange: (e) => { upd(k, e.target.checked); renderItems(); } });
  const excluded = it.industrial_training || it.professional_practice;
  return el("tr", { class: excluded ? "excluded" : "", dataset: { item: n } },
    el("td", {}, el("input", { type: "text", value: it.title, "aria-label": t("item.title_n", { n: n + 1 }),
      oninput: (e) => { state.items[n].title = e.target.value; queueCheck(); } })),
    el("td", {}, num("hours")), el("td", {}, num("credits")), el("td", {}, fmt),
    el("td", {}, flag("industrial_training")), el("td", {}, flag("professional_practice")),
    el("td", { class: "counts" }, excluded ? t(it.industrial_training ? "item.excluded_it" : "item.excluded_pp") : t("item.counts")),
    el("td", {}, el("button", { type: "button", class: "secondary", "aria-label": t("item.remove_n", { n: n + 1 }),
      onclick: () => { state.items.splice(n, 1); renderItems(); queueCheck(); } }, "✕")));
}

function renderItems() {
  $("plan-rows").replaceChildren(...state.items.map(itemRow));
}

function renderCheck() {
  const c = state.check;
  const box = $("plan-check");
  if (!c) { box.replaceChildren(); return; }
  const f = c[c.basis];
  const unit = t(`basis.${c.basis}`);
  box.dataset.ok = String(c.ok);
  box.className = `plan-check ${c.ok ? "pass" : "fail"}`;
  box.replaceChildren(
    el("p", { class: "verdict" }, el("strong", {}, c.ok ? t("check.ok") : t("check.not_ok")), " ",
      t("check.share", { share: f.share === null ? "—" : (f.share * 100).toFixed(1), required: (c.required_share * 100).toFixed(0) })),
    el("dl", { class: "figures" },
      el("dt", {}, t("check.total", { unit })), el("dd", { id: "fig-total" }, String(f.total)),
      el("dt", {}, t("check.excluded", { unit })), el("dd", { id: "fig-excluded" }, `${f.excluded} (${t("check.excluded_items", { n: c.excluded_items })})`),
      el("dt", {}, t("check.counted", { unit })), el("dd", { id: "fig-counted" }, String(f.counted)),
      el("dt", {}, t("check.synchronous", { unit })), el("dd", { id: "fig-sync" }, String(f.synchronous)),
      el("dt", {}, t("check.asynchronous", { unit })), el("dd", {}, String(f.asynchronous))),
    c.ok ? el("p", {}, t("check.why_ok")) :
      el("p", { id: "why-not", class: "bad" }, f.counted > 0 ? t("check.why_not", { more: f.shortfall, unit }) : t("check.nothing_counted")),
    el("p", { class: "muted" }, t("check.rule")));
  $("approve").disabled = !c.ok;
  $("approve-why").textContent = c.ok ? "" : t("check.cannot_approve");
}

function payload() {
  return { items: state.items.map((i) => ({ title: i.title || "—", hours: Number(i.hours) || 0, credits: Number(i.credits) || 0,
    format: i.format, industrial_training: !!i.industrial_training, professional_practice: !!i.professional_practice,
    course_id: i.course_id ?? null })) };
}

let timer = null;
function queueCheck() { clearTimeout(timer); timer = setTimeout(runCheck, 250); }
async function runCheck() {
  const seq = ++state.seq;
  try {
    const c = await api("/api/v1/plan-check", { method: "POST", body: payload() });
    if (seq !== state.seq) return; // a newer edit is being checked
    state.check = c;
    renderCheck();
    document.body.dataset.checked = String(seq);
  } catch (e) { fail(e); }
}

async function open(id) {
  const p = await api(`/api/v1/programmes/${id}`);
  state.current = p;
  state.items = p.items.map((i) => ({ ...i }));
  const editor = $("prog-editor");
  editor.hidden = false;
  editor.replaceChildren(
    el("h3", { id: "plan-h", tabindex: "-1" }, t("prog.plan_of", { title: `${p.code} ${p.title}` })),
    el("p", { id: "prog-status" }, t("prog.status_line", { status: t(`prog.status.${p.status}`) })),
    scroller(t("prog.plan_of", { title: p.title }), el("table", { class: "plan" },
      el("caption", { class: "visually-hidden" }, t("prog.plan_of", { title: p.title })),
      el("thead", {}, el("tr", {}, ...["item.title", "item.hours", "item.credits", "item.format", "item.industrial_training",
        "item.professional_practice", "item.counts_h", "col.action"].map((k) => el("th", { scope: "col" }, t(k))))),
      el("tbody", { id: "plan-rows" }))),
    el("button", { type: "button", id: "add-item", class: "secondary", onclick: () => {
      state.items.push({ title: "", hours: 0, credits: 0, format: "synchronous", industrial_training: false, professional_practice: false });
      renderItems(); queueCheck();
      $("plan-rows").lastElementChild?.querySelector("input")?.focus();
    }, i18n: "prog.add_item" }),
    el("section", { id: "plan-check", class: "plan-check", "aria-live": "polite", "aria-label": t("check.heading") }),
    el("div", { class: "row" },
      el("button", { type: "button", id: "save-plan", onclick: savePlan, i18n: "prog.save" }),
      el("button", { type: "button", id: "approve", onclick: approve, i18n: "prog.approve" }),
      el("span", { id: "approve-why", class: "muted" })));
  renderItems();
  await runCheck();
  $("plan-h").focus();
}

async function savePlan() {
  try {
    const p = await api(`/api/v1/programmes/${state.current.id}/plan`, { method: "PUT", body: payload() });
    state.current = p;
    $("prog-status").textContent = t("prog.status_line", { status: t(`prog.status.${p.status}`) });
    announce("msg.saved");
    await loadProgrammes();
  } catch (e) { fail(e); }
}

async function approve() {
  try {
    await savePlan();
    const p = await api(`/api/v1/programmes/${state.current.id}/approve`, { method: "POST" });
    state.current = p;
    $("prog-status").textContent = t("prog.status_line", { status: t(`prog.status.${p.status}`) });
    announce("prog.approved");
    await loadProgrammes();
  } catch (e) { fail(e); }
}

export function wireProgrammes() {
  const code = el("input", { type: "text", required: true, autocomplete: "off" });
  const title = el("input", { type: "text", required: true, autocomplete: "off" });
  const form = $("prog-new");
  form.replaceChildren(field("col.code", code), field("col.title", title),
    el("button", { type: "submit", i18n: "prog.create" }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const p = await api("/api/v1/programmes", { method: "POST", body: { code: code.value.trim(), title: title.value.trim(), items: [] } });
      code.value = ""; title.value = "";
      announce("msg.created", { what: p.title });
      await loadProgrammes();
      await open(p.id);
    } catch (err) { fail(err); }
  });
}

export function rerenderProgrammes() {
  renderList();
  if (state.current) { renderItems(); renderCheck(); }
}
