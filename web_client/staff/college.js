// The college's page (college admin, methodist): programmes and the 30 % rule, people, courses and enrolments,
// each student's reference photos, API keys and webhooks with their delivery log. Every change goes through the college REST API (/api/v1).
import { $, announce, api, applyTexts, el, fail, field, fmtDate, initLang, scroller, signedIn, t, wireSignout, wireTabs } from "./common.js";
import { loadProgrammes, rerenderProgrammes, wireProgrammes } from "./programmes.js";

const state = { people: [], courses: [], programmes: [], enrolments: [], keys: [], hooks: [], course: null, hook: null,
  refStudent: null, refs: [] };
const ROLES = ["student", "teacher", "proctor", "college_admin"];

// ---- people ----------------------------------------------------------------------------------------------
function renderPeople() {
  $("people-rows").replaceChildren(...state.people.map((u) => el("tr", { dataset: { user: u.id, role: u.role } },
    el("td", {}, u.full_name), el("td", {}, u.email), el("td", {}, t(`role.${u.role}`)), el("td", {}, u.external_id || "—"),
    el("td", {}, u.is_active === false ? t("no") : t("yes")))));
}

async function loadPeople() { state.people = await api("/api/v1/users"); renderPeople(); }

function wirePeople() {
  const name = el("input", { type: "text", required: true, autocomplete: "off" });
  const email = el("input", { type: "email", required: true, autocomplete: "off" });
  const role = el("select", {}, ...ROLES.map((r) => el("option", { value: r, i18n: `role.${r}` })));
  const ext = el("input", { type: "text", autocomplete: "off" });
  const pw = el("input", { type: "password", autocomplete: "new-password", minlength: "8" });
  const form = $("people-new");
  form.replaceChildren(field("col.name", name), field("col.email", email), field("col.role", role), field("col.external_id", ext),
    field("people.password", pw), el("button", { type: "submit", i18n: "people.create" }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const u = await api("/api/v1/users", { method: "POST", body: { full_name: name.value.trim(), email: email.value.trim(), role: role.value,
        external_id: ext.value.trim() || null, password: pw.value || null } });
      for (const i of [name, email, ext, pw]) i.value = "";
      announce("msg.created", { what: u.full_name });
      await loadPeople();
    } catch (err) { fail(err); }
  });
}

// ---- courses and enrolments ------------------------------------------------------------------------------
function renderCourses() {
  const progs = Object.fromEntries(state.programmes.map((p) => [p.id, p]));
  const counts = {};
  for (const e of state.enrolments) counts[e.course_id] = (counts[e.course_id] || 0) + 1;
  $("course-rows").replaceChildren(...state.courses.map((c) => el("tr", { dataset: { course: c.id } },
    el("td", {}, c.code), el("td", {}, c.title), el("td", {}, progs[c.programme_id]?.code || "—"), el("td", {}, String(counts[c.id] || 0)),
    el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => openCourse(c.id),
      "aria-label": t("courses.open_named", { title: c.title }) }, t("courses.open"))))));
  const sel = $("course-programme");
  if (sel) {
    const v = sel.value;
    sel.replaceChildren(el("option", { value: "" }, t("none")), ...state.programmes.map((p) => el("option", { value: p.id }, `${p.code} ${p.title}`)));
    sel.value = v;
  }
  if (state.course) renderCourseDetail();
}

async function loadCourses() {
  [state.courses, state.programmes, state.enrolments, state.people] = await Promise.all([
    api("/api/v1/courses"), api("/api/v1/programmes"), api("/api/v1/enrolments"), api("/api/v1/users")]);
  renderCourses();
}

function renderCourseDetail() {
  const c = state.courses.find((x) => x.id === state.course);
  if (!c) return;
  const byId = Object.fromEntries(state.people.map((u) => [u.id, u]));
  const enrolled = state.enrolments.filter((e) => e.course_id === c.id);
  const taken = new Set(enrolled.map((e) => e.student_id));
  const student = el("select", { id: "enrol-student" }, ...state.people.filter((u) => u.role === "student" && !taken.has(u.id))
    .map((u) => el("option", { value: u.id }, `${u.full_name} (${u.external_id || u.email})`)));
  const teacher = el("select", { id: "assign-teacher" }, ...state.people.filter((u) => u.role === "teacher")
    .map((u) => el("option", { value: u.id }, u.full_name)));
  const box = $("course-detail");
  box.hidden = false;
  box.replaceChildren(
    el("h3", { id: "course-detail-h", tabindex: "-1" }, t("courses.enrolments_of", { title: `${c.code} ${c.title}` })),
    el("ul", { class: "plain", id: "enrolled" }, ...(enrolled.length ? enrolled.map((e) => el("li", { dataset: { student: e.student_id } },
      `${byId[e.student_id]?.full_name || e.student_id} `,
      el("button", { type: "button", class: "secondary small", "aria-label": t("courses.unenrol_named", { name: byId[e.student_id]?.full_name || e.student_id }),
        onclick: async () => { try { await api(`/api/v1/enrolments/${e.id}`, { method: "DELETE" }); announce("msg.saved"); await loadCourses(); } catch (err) { fail(err); } } },
        t("courses.unenrol")))) : [el("li", { class: "muted" }, t("courses.nobody"))])),
    el("form", { class: "inline", id: "enrol-form", onsubmit: async (e) => {
      e.preventDefault();
      if (!student.value) return;
      try { await api("/api/v1/enrolments", { method: "POST", body: { course_id: c.id, student_id: Number(student.value) } }); announce("msg.saved"); await loadCourses(); } catch (err) { fail(err); }
    } }, field("courses.student", student), el("button", { type: "submit", i18n: "courses.enrol" })),
    el("form", { class: "inline", id: "teacher-form", onsubmit: async (e) => {
      e.preventDefault();
      if (!teacher.value) return;
      try { await api(`/api/v1/courses/${c.id}/teachers/${teacher.value}`, { method: "PUT" }); announce("courses.teacher_assigned"); } catch (err) { fail(err); }
    } }, field("courses.teacher", teacher), el("button", { type: "submit", i18n: "courses.assign" })));
}

function openCourse(id) { state.course = id; renderCourseDetail(); $("course-detail-h").focus(); }

function wireCourses() {
  const code = el("input", { type: "text", required: true, autocomplete: "off" });
  const title = el("input", { type: "text", required: true, autocomplete: "off" });
  const prog = el("select", { id: "course-programme" });
  const form = $("course-new");
  form.replaceChildren(field("col.code", code), field("col.title", title), field("col.programme", prog), el("button", { type: "submit", i18n: "courses.create" }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const c = await api("/api/v1/courses", { method: "POST", body: { code: code.value.trim(), title: title.value.trim(), programme_id: prog.value ? Number(prog.value) : null } });
      code.value = ""; title.value = "";
      announce("msg.created", { what: c.title });
      await loadCourses();
    } catch (err) { fail(err); }
  });
}

// ---- reference photos -------------------------------------------------------------------------------------
// The identity a live exam's identity step is checked against: 1 to 3 photos, enrolled by the engine on upload (a
// photo it cannot use is refused, naming the photo and the reason), newest first, retired ones kept and marked.
const MAX_REF_PHOTOS = 3;
const refBase = (id) => `/api/v1/students/${id}/reference-photos`;

function refError(err) {
  const box = $("ref-error");
  const reason = err?.details?.reason;
  const photo = err?.details?.photo_index;
  const key = reason && t(`ref.reason.${reason}`) !== `ref.reason.${reason}` ? `ref.reason.${reason}` : null;
  const text = key ? (photo != null ? t("ref.refused_photo", { n: photo + 1, reason: t(key) }) : t(key))
    : err?.code === "reference_locked" ? t("ref.locked") : t("msg.error", { error: err?.message || String(err) });
  box.dataset.reason = reason || err?.code || "";
  box.textContent = text;
  announce("msg.error", { error: text }, "bad");
}

function renderReferences() {
  const u = state.people.find((p) => p.id === state.refStudent);
  const box = $("ref-student");
  box.hidden = !u;
  if (!u) return;
  $("ref-student-h").textContent = t("ref.of", { name: u.full_name });
  $("ref-list").replaceChildren(...(state.refs.length ? state.refs.map((r) => el("li", { class: `ref ${r.active ? "active" : "retired"}`,
    dataset: { ref: r.id, active: r.active ? "1" : "0" } },
    el("p", {}, el("span", { class: `badge ${r.active ? "approved" : "retired"}` }, t(r.active ? "ref.in_use" : "ref.retired")), " ",
      t("ref.added", { at: fmtDate(r.created_at), by: r.created_by || "—" }),
      r.retired_at ? ` · ${t("ref.retired_at", { at: fmtDate(r.retired_at), by: r.retired_by || "—" })}` : ""),
    el("div", { class: "thumbs" }, ...r.photos.map((p, i) => el("img", { src: `${refBase(u.id)}/photo/${p.sha256}.jpg`, loading: "lazy",
      alt: t("ref.photo_alt", { n: i + 1, name: u.full_name }), title: `sha256 ${p.sha256.slice(0, 12)}…` }))),
    r.active ? el("button", { type: "button", class: "danger", "aria-label": t("ref.retire_named", { name: u.full_name }),
      onclick: async () => {
        try { await api(`${refBase(u.id)}/${r.id}`, { method: "DELETE" }); announce("ref.retired_msg"); await loadReferences(); }
        catch (err) { refError(err); }
      } }, t("ref.retire")) : ""))
    : [el("li", { class: "muted" }, t("ref.none"))]));
}

async function loadReferences() {
  if (!state.people.length) state.people = await api("/api/v1/users");
  const sel = $("ref-student-select");
  const v = sel.value;
  sel.replaceChildren(el("option", { value: "" }, t("ref.pick_one")), ...state.people.filter((u) => u.role === "student")
    .map((u) => el("option", { value: u.id }, `${u.full_name} (${u.external_id || u.email})`)));
  sel.value = v;
  state.refs = state.refStudent ? await api(refBase(state.refStudent)) : [];
  renderReferences();
}

function wireReferences() {
  const sel = el("select", { id: "ref-student-select" });
  const pick = $("ref-pick");
  pick.replaceChildren(field("ref.student", sel), el("button", { type: "submit", i18n: "ref.show" }));
  pick.addEventListener("submit", async (e) => {
    e.preventDefault();
    state.refStudent = sel.value ? Number(sel.value) : null;
    $("ref-error").textContent = "";
    try { await loadReferences(); document.body.dataset.loaded = "references"; $("ref-student-h").focus(); } catch (err) { fail(err); }
  });
  const files = el("input", { type: "file", id: "ref-files", accept: "image/jpeg,image/png", multiple: true, required: true,
    "aria-describedby": "ref-files-hint" });
  const upload = $("ref-upload");
  upload.replaceChildren(field("ref.photos", files), el("span", { id: "ref-files-hint", class: "muted", i18n: "ref.photos_hint" }),
    el("button", { type: "submit", i18n: "ref.upload" }));
  upload.addEventListener("submit", async (e) => {
    e.preventDefault();
    $("ref-error").textContent = "";
    const chosen = [...files.files];
    if (!chosen.length || chosen.length > MAX_REF_PHOTOS) { refError({ details: { reason: "count" } }); return; }
    const body = new FormData();
    for (const f of chosen) body.append("photos", f, f.name);
    try {
      upload.setAttribute("aria-busy", "true");
      await api(refBase(state.refStudent), { method: "POST", body });
      files.value = "";
      announce("ref.registered");
      await loadReferences();
    } catch (err) { refError(err); } finally { upload.removeAttribute("aria-busy"); }
  });
}

// ---- API keys and webhooks -------------------------------------------------------------------------------
function renderIntegrations() {
  $("key-rows").replaceChildren(...state.keys.map((k) => el("tr", { dataset: { key: k.id, revoked: k.revoked_at ? "1" : "" } },
    el("td", {}, k.name), el("td", {}, el("code", {}, k.prefix)), el("td", {}, fmtDate(k.created_at)), el("td", {}, fmtDate(k.last_used_at)),
    el("td", {}, k.revoked_at ? t("keys.revoked", { at: fmtDate(k.revoked_at) }) : el("button", { type: "button", class: "danger",
      "aria-label": t("keys.revoke_named", { name: k.name }), onclick: async () => {
        try { await api(`/api/v1/api-keys/${k.id}`, { method: "DELETE" }); announce("keys.revoked_msg"); await loadIntegrations(); } catch (err) { fail(err); }
      } }, t("keys.revoke"))))));
  $("hook-rows").replaceChildren(...state.hooks.map((h) => el("tr", { dataset: { hook: h.id } },
    el("td", {}, el("code", {}, h.url)), el("td", {}, h.events.join(", ")), el("td", {}, h.is_active ? t("yes") : t("no")),
    el("td", {}, el("button", { type: "button", class: "secondary", "aria-label": t("hooks.log_named", { url: h.url }), onclick: () => openDeliveries(h) }, t("hooks.log")),
      " ", h.is_active ? el("button", { type: "button", class: "danger", "aria-label": t("hooks.disable_named", { url: h.url }), onclick: async () => {
        try { await api(`/api/v1/webhooks/${h.id}`, { method: "DELETE" }); announce("msg.saved"); await loadIntegrations(); } catch (err) { fail(err); }
      } }, t("hooks.disable")) : ""))));
}

async function loadIntegrations() {
  [state.keys, state.hooks] = await Promise.all([api("/api/v1/api-keys"), api("/api/v1/webhooks")]);
  renderIntegrations();
}

async function openDeliveries(h) {
  const rows = await api(`/api/v1/webhooks/${h.id}/deliveries`);
  const box = $("deliveries");
  box.hidden = false;
  box.replaceChildren(el("h3", { id: "deliveries-h", tabindex: "-1" }, t("hooks.log_of", { url: h.url })),
    rows.length ? scroller(t("hooks.log_of", { url: h.url }), el("table", {}, el("caption", { class: "visually-hidden" }, t("hooks.log_of", { url: h.url })),
      el("thead", {}, el("tr", {}, ...["col.event", "col.status", "col.tries", "col.when", "col.error"].map((k) => el("th", { scope: "col" }, t(k))))),
      el("tbody", {}, ...rows.flatMap((d) => [el("tr", { dataset: { delivery: d.id, status: d.status } },
        el("td", {}, d.event_type), el("td", {}, t(`delivery.${d.status}`)), el("td", {}, String(d.attempts)),
        el("td", {}, fmtDate(d.delivered_at || d.next_attempt_at)), el("td", {}, d.last_error || "—")),
        ...d.log.map((x) => el("tr", { class: "sub" }, el("td", {}, `#${x.number}`), el("td", {}, x.ok ? t("delivery.ok") : t("delivery.failed_try")),
          el("td", {}, x.status_code ? String(x.status_code) : "—"), el("td", {}, fmtDate(x.at)), el("td", {}, x.error || `${x.duration_ms ?? ""} ms`)))]))))
      : el("p", { class: "muted" }, t("hooks.no_deliveries")));
  $("deliveries-h").focus();
}

function wireIntegrations() {
  const name = el("input", { type: "text", required: true, autocomplete: "off" });
  const kf = $("key-new");
  kf.replaceChildren(field("keys.name", name), el("button", { type: "submit", i18n: "keys.create" }));
  kf.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const k = await api("/api/v1/api-keys", { method: "POST", body: { name: name.value.trim() } });
      name.value = "";
      const shown = $("key-shown");
      shown.hidden = false;
      shown.replaceChildren(el("strong", {}, t("keys.shown_once")), " ", el("code", { id: "new-key" }, k.key));
      announce("keys.created");
      await loadIntegrations();
    } catch (err) { fail(err); }
  });
  const url = el("input", { type: "url", required: true, autocomplete: "off", placeholder: "https://" });
  const hf = $("hook-new");
  hf.replaceChildren(field("hooks.url", url), el("button", { type: "submit", i18n: "hooks.create" }));
  hf.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const h = await api("/api/v1/webhooks", { method: "POST", body: { url: url.value.trim() } });
      url.value = "";
      const shown = $("hook-shown");
      shown.hidden = false;
      shown.replaceChildren(el("strong", {}, t("hooks.secret_once")), " ", el("code", {}, h.secret));
      announce("msg.created", { what: h.url });
      await loadIntegrations();
    } catch (err) { fail(err); }
  });
}

// ---- the page --------------------------------------------------------------------------------------------
async function main() {
  initLang();
  wireSignout();
  await signedIn(["college_admin"]);
  wireProgrammes(); wirePeople(); wireCourses(); wireReferences(); wireIntegrations();
  const loaders = { programmes: loadProgrammes, people: loadPeople, courses: loadCourses, references: loadReferences,
    integrations: loadIntegrations };
  wireTabs((name) => loaders[name]().then(() => { document.body.dataset.loaded = name; }).catch(fail));
  document.addEventListener("langchange", () => { rerenderProgrammes(); renderPeople(); renderCourses(); renderIntegrations();
    if (state.refStudent) renderReferences(); });
  applyTexts();
}

main();
