// The teacher's page: the courses they teach, with classes and materials, tasks and hand-ins, exams and their
// questions, results (grades are shown once the attempt is verified), each learner's digital footprint with a
// plot over time, and survey results. Reads and writes go through /api/teacher/... (a college admin may use it too).
import { $, announce, api, applyTexts, el, fail, field, fmtDate, fmtPct, fromLocalInput, initLang, localInput, scroller, signedIn, t, wireSignout, wireTabs } from "./common.js";
import { footprintPlot } from "./plot.js";

const state = { courses: [], course: null, content: null, exams: [], tab: "content", learner: null, timeline: null };
const cid = () => state.course;

// ---- classes and materials -------------------------------------------------------------------------------
function renderContent() {
  const c = state.content;
  if (!c) return;
  $("class-list").replaceChildren(...(c.classes.length ? c.classes.map((m) => el("li", { dataset: { class: m.id } },
    el("strong", {}, m.title), " — ", `${fmtDate(m.starts_at)} – ${fmtDate(m.ends_at)}`)) : [el("li", { class: "muted" }, t("none"))]));
  $("material-list").replaceChildren(...(c.materials.length ? c.materials.map((m) => el("li", { dataset: { material: m.id } },
    m.url ? el("a", { href: m.url, rel: "noopener" }, m.title) : m.title)) : [el("li", { class: "muted" }, t("none"))]));
  $("task-rows").replaceChildren(...c.tasks.map((x) => el("tr", { dataset: { task: x.id } },
    el("td", {}, x.title), el("td", {}, fmtDate(x.due_at)), el("td", {}, t("tasks.count", { n: x.hand_ins, graded: x.graded })),
    el("td", {}, el("button", { type: "button", class: "secondary", "aria-label": t("tasks.open_named", { title: x.title }), onclick: () => openHandIns(x) }, t("tasks.open"))))));
}

async function loadContent() { state.content = await api(`/api/teacher/courses/${cid()}/content`); renderContent(); }

function wireContent() {
  const title = el("input", { type: "text", required: true, autocomplete: "off" });
  const starts = el("input", { type: "datetime-local", required: true, value: localInput() });
  const minutes = el("input", { type: "number", min: "1", value: "90" });
  $("class-new").replaceChildren(field("col.title", title), field("content.starts", starts), field("content.minutes", minutes),
    el("button", { type: "submit", i18n: "content.add_class" }));
  $("class-new").addEventListener("submit", async (e) => {
    e.preventDefault();
    const s = fromLocalInput(starts.value);
    const end = new Date(Date.parse(s) + Number(minutes.value) * 60000).toISOString();
    try { await api(`/api/teacher/courses/${cid()}/classes`, { method: "POST", body: { title: title.value.trim(), starts_at: s, ends_at: end } });
      announce("msg.created", { what: title.value }); title.value = ""; await loadContent(); } catch (err) { fail(err); }
  });
  const mt = el("input", { type: "text", required: true, autocomplete: "off" });
  const url = el("input", { type: "url", autocomplete: "off", placeholder: "https://" });
  $("material-new").replaceChildren(field("col.title", mt), field("content.url", url), el("button", { type: "submit", i18n: "content.add_material" }));
  $("material-new").addEventListener("submit", async (e) => {
    e.preventDefault();
    try { await api(`/api/teacher/courses/${cid()}/materials`, { method: "POST", body: { title: mt.value.trim(), url: url.value.trim() || null } });
      announce("msg.created", { what: mt.value }); mt.value = ""; url.value = ""; await loadContent(); } catch (err) { fail(err); }
  });
  const tt = el("input", { type: "text", required: true, autocomplete: "off" });
  const due = el("input", { type: "datetime-local", required: true, value: localInput(new Date(Date.now() + 7 * 864e5).toISOString()) });
  const pts = el("input", { type: "number", min: "1", value: "10" });
  $("task-new").replaceChildren(field("col.title", tt), field("col.due", due), field("tasks.max_points", pts), el("button", { type: "submit", i18n: "tasks.add" }));
  $("task-new").addEventListener("submit", async (e) => {
    e.preventDefault();
    try { await api(`/api/teacher/courses/${cid()}/tasks`, { method: "POST", body: { title: tt.value.trim(), due_at: fromLocalInput(due.value), max_points: Number(pts.value) } });
      announce("msg.created", { what: tt.value }); tt.value = ""; await loadContent(); } catch (err) { fail(err); }
  });
}

// ---- tasks and hand-ins ----------------------------------------------------------------------------------
async function openHandIns(task) {
  const subs = await api(`/api/teacher/tasks/${task.id}/submissions`);
  const names = Object.fromEntries(state.content.learners.map((l) => [l.id, l.full_name]));
  const box = $("hand-ins");
  box.hidden = false;
  box.replaceChildren(el("h3", { id: "hand-ins-h", tabindex: "-1" }, t("tasks.hand_ins_of", { title: task.title })),
    subs.length ? scroller(t("tasks.hand_ins_of", { title: task.title }), el("table", {}, el("caption", { class: "visually-hidden" }, t("tasks.hand_ins_of", { title: task.title })),
      el("thead", {}, el("tr", {}, ...["col.student", "col.when", "tasks.on_time", "tasks.content", "col.grade"].map((k) => el("th", { scope: "col" }, t(k))))),
      el("tbody", {}, ...subs.map((s) => {
        const input = el("input", { type: "number", min: "0", max: String(task.max_points), step: "any", value: s.points ?? "",
          "aria-label": t("tasks.points_for", { name: names[s.student_id] || s.student_id, max: task.max_points }) });
        return el("tr", { dataset: { student: s.student_id } }, el("td", {}, names[s.student_id] || String(s.student_id)), el("td", {}, fmtDate(s.submitted_at)),
          el("td", {}, s.on_time ? t("yes") : el("span", { class: "bad" }, t("tasks.late"))), el("td", { class: "clip" }, s.content || ""),
          el("td", {}, el("form", { class: "inline tight", onsubmit: async (e) => {
            e.preventDefault();
            try { await api(`/api/teacher/tasks/${task.id}/submissions/${s.student_id}/grade`, { method: "PUT", body: { points: Number(input.value) } });
              announce("msg.saved"); await loadContent(); } catch (err) { fail(err); }
          } }, input, ` / ${task.max_points} `, el("button", { type: "submit", class: "small", i18n: "tasks.grade" }))));
      })))) : el("p", { class: "muted" }, t("tasks.none")));
  $("hand-ins-h").focus();
}

// ---- exams and questions ---------------------------------------------------------------------------------
function renderExams() {
  $("exam-rows").replaceChildren(...state.exams.map((x) => el("tr", { dataset: { exam: x.id } },
    el("td", {}, x.title), el("td", {}, t(`exam.type.${x.type}`), x.proctored ? el("span", { class: "chip" }, t("exam.proctored")) : ""),
    el("td", {}, `${fmtDate(x.opens_at)} – ${fmtDate(x.closes_at)}`), el("td", {}, String(x.questions.length)),
    el("td", {}, el("button", { type: "button", class: "secondary", "aria-label": t("exams.edit_named", { title: x.title }), onclick: () => openQuestions(x) }, t("exams.edit"))))));
  const sel = $("results-exam");
  const v = sel.value;
  sel.replaceChildren(...state.exams.map((x) => el("option", { value: x.id }, x.title)));
  if (v && state.exams.some((x) => String(x.id) === v)) sel.value = v;
}

async function loadExams() { state.exams = await api(`/api/teacher/courses/${cid()}/exams`); renderExams(); }

function questionBlock(q, n, list) {
  const kind = el("select", { onchange: (e) => { q.kind = e.target.value; redraw(); } },
    ...["single_choice", "multiple_choice", "short_text"].map((k) => el("option", { value: k }, t(`q.kind.${k}`))));
  kind.value = q.kind;
  const prompt = el("textarea", { rows: "2", oninput: (e) => { q.prompt = e.target.value; } }, q.prompt || "");
  const opts = el("textarea", { rows: "3", oninput: (e) => { q.options = e.target.value.split("\n").map((s) => s.trim()).filter(Boolean); } }, (q.options || []).join("\n"));
  const correct = el("input", { type: "text", value: q.kind === "short_text" ? (q.correct || []).join(" | ") : (q.correct || []).map((i) => i + 1).join(", "),
    oninput: (e) => {
      q.correct = q.kind === "short_text" ? e.target.value.split("|").map((s) => s.trim()).filter(Boolean)
        : e.target.value.split(/[ ,;]+/).filter(Boolean).map((s) => Number(s) - 1);
    } });
  const points = el("input", { type: "number", min: "0", step: "any", value: q.points ?? 1, oninput: (e) => { q.points = Number(e.target.value); } });
  const redraw = () => { const i = list.indexOf(q); $(`qb-${i}`).replaceWith(questionBlock(q, i, list)); };
  return el("fieldset", { class: "q", id: `qb-${n}` }, el("legend", {}, t("q.n", { n: n + 1 })),
    field("q.kind", kind), field("q.prompt", prompt),
    q.kind === "short_text" ? "" : field("q.options", opts),
    field(q.kind === "short_text" ? "q.accepted" : "q.correct", correct), field("q.points", points),
    el("button", { type: "button", class: "secondary small", onclick: () => { list.splice(list.indexOf(q), 1); drawQuestions(list); } }, t("q.remove_n", { n: n + 1 })));
}

let editing = null;
function drawQuestions(list) { $("q-list").replaceChildren(...list.map((q, i) => questionBlock(q, i, list))); }

function openQuestions(exam) {
  editing = exam;
  const list = exam.questions.map((q) => ({ kind: q.kind, prompt: q.prompt, options: q.options, correct: q.correct, points: q.points }));
  const box = $("question-editor");
  box.hidden = false;
  box.replaceChildren(el("h3", { id: "q-h", tabindex: "-1" }, t("exams.questions_of", { title: exam.title })),
    el("div", { id: "q-list" }),
    el("div", { class: "row" },
      el("button", { type: "button", class: "secondary", id: "q-add", onclick: () => {
        list.push({ kind: "single_choice", prompt: "", options: [], correct: [], points: 1 }); drawQuestions(list);
        $("q-list").lastElementChild.querySelector("select").focus();
      } }, t("q.add")),
      el("button", { type: "button", id: "q-save", onclick: async () => {
        try {
          const x = await api(`/api/teacher/exams/${exam.id}/questions`, { method: "PUT", body: { questions: list.map((q) => ({
            kind: q.kind, prompt: q.prompt, points: q.points, options: q.kind === "short_text" ? null : q.options, correct: q.correct })) } });
          announce("msg.saved"); await loadExams(); editing = x;
        } catch (err) { fail(err); }
      } }, t("q.save"))));
  drawQuestions(list);
  $("q-h").focus();
}

function wireExams() {
  const title = el("input", { type: "text", required: true, autocomplete: "off" });
  const type = el("select", {}, ...["practice", "intermediate_attestation", "final_attestation"].map((k) => el("option", { value: k, i18n: `exam.type.${k}` })));
  const opens = el("input", { type: "datetime-local", required: true, value: localInput() });
  const closes = el("input", { type: "datetime-local", required: true, value: localInput(new Date(Date.now() + 7 * 864e5).toISOString()) });
  const minutes = el("input", { type: "number", min: "1", value: "45" });
  const proctored = el("input", { type: "checkbox", checked: true });
  $("exam-new").replaceChildren(field("col.title", title), field("col.type", type), field("exams.opens", opens), field("exams.closes", closes),
    field("exams.minutes", minutes), el("div", { class: "field" }, el("label", { class: "check" }, proctored, " ", el("span", { i18n: "exam.proctored" }))),
    el("button", { type: "submit", i18n: "exams.create" }));
  $("exam-new").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const x = await api(`/api/teacher/courses/${cid()}/exams`, { method: "POST", body: { title: title.value.trim(), type: type.value,
        opens_at: fromLocalInput(opens.value), closes_at: fromLocalInput(closes.value), time_limit_min: Number(minutes.value), proctored: proctored.checked } });
      announce("msg.created", { what: x.title }); title.value = "";
      await loadExams(); openQuestions(x);
    } catch (err) { fail(err); }
  });
}

// ---- results ---------------------------------------------------------------------------------------------
async function loadResults() {
  if (!state.exams.length) await loadExams();
  const exam = $("results-exam").value;
  if (!exam) { $("result-rows").replaceChildren(); return; }
  const rows = await api(`/api/teacher/attempts?exam_id=${exam}`);
  $("result-rows").replaceChildren(...(rows.length ? rows.map((a) => el("tr", { dataset: { attempt: a.id, state: a.state } },
    el("td", {}, a.student.full_name), el("td", {}, `#${a.number}`), el("td", {}, t(`state.${a.state}`)),
    el("td", {}, a.grade.status === "published" ? `${a.grade.score} / ${a.grade.max_score} (${fmtPct(a.grade.percent)})` : t(`grade.${a.grade.status}`, {}) ))) :
    [el("tr", {}, el("td", { colspan: 4, class: "muted" }, t("results.none")))]));
  renderToMark(rows);
}

// Open answers the engine cannot grade: the teacher marks them here (the grade is published once every answer
// is marked and a proctor verified the attempt).
function renderToMark(rows) {
  const handedIn = rows.filter((a) => !["created", "ready_to_start", "started"].includes(a.state) && a.points.needs_manual_grading);
  const items = handedIn.flatMap((a) => a.answers.filter((x) => x.kind === "short_text" && x.auto_points === null && x.manual_points === null)
    .map((x) => ({ a, x })));
  const box = $("to-mark");
  box.replaceChildren(el("h3", {}, t("results.to_mark", { n: items.length })),
    ...(items.length ? items.map(({ a, x }) => {
      const input = el("input", { type: "number", min: "0", max: String(x.max_points), step: "any",
        "aria-label": t("results.points_for", { name: a.student.full_name, max: x.max_points }) });
      return el("form", { class: "panel mark", dataset: { attempt: a.id, question: x.question_id }, onsubmit: async (e) => {
        e.preventDefault();
        try { await api(`/api/teacher/attempts/${a.id}/answers/${x.question_id}/points`, { method: "PUT", body: { points: Number(input.value) } });
          announce("msg.saved"); await loadResults(); } catch (err) { fail(err); }
      } }, el("p", {}, el("strong", {}, a.student.full_name), ` — ${x.prompt}`), el("blockquote", {}, x.response ?? "—"),
        el("div", { class: "row" }, input, ` / ${x.max_points} `, el("button", { type: "submit", class: "small", i18n: "results.mark" })));
    }) : [el("p", { class: "muted" }, t("results.nothing_to_mark"))]));
}

// ---- digital footprint -----------------------------------------------------------------------------------
async function loadFootprint() {
  const rows = await api(`/api/teacher/courses/${cid()}/footprint`);
  $("fp-rows").replaceChildren(...rows.map((r) => el("tr", { dataset: { learner: r.learner.id } },
    el("td", {}, r.learner.full_name), el("td", {}, `${fmtPct(r.attendance_pct)} (${r.classes_attended}/${r.classes_held})`),
    el("td", {}, `${r.materials_opened}/${r.materials}`), el("td", {}, `${fmtPct(r.on_time_pct)} (${r.tasks_on_time}/${r.tasks_considered})`),
    el("td", {}, fmtPct(r.progress_pct)), el("td", {}, r.grades.length ? r.grades.map((g) => `${g.exam}: ${fmtPct(g.percent)}`).join("; ") : "—"),
    el("td", {}, el("button", { type: "button", class: "secondary", "aria-label": t("fp.over_time_named", { name: r.learner.full_name }),
      onclick: () => openTimeline(r.learner.id) }, t("fp.over_time"))))));
  if (state.learner) await openTimeline(state.learner, false);
}

function renderTimeline() {
  const tl = state.timeline;
  if (!tl) return;
  const labels = { attendance_pct: t("fp.attendance"), on_time_pct: t("fp.on_time"), progress_pct: t("fp.progress"), grade: t("fp.grade_dot") };
  const [svg, legend] = footprintPlot(tl.points, tl.grades, { title: t("fp.plot_title", { name: tl.learner.full_name }),
    desc: t("fp.plot_desc", { bucket: t(`fp.bucket.${tl.bucket}`) }), labels });
  const table = scroller(t("fp.table_caption", { name: tl.learner.full_name }), el("table", { class: "compact" }, el("caption", {}, t("fp.table_caption", { name: tl.learner.full_name })),
    el("thead", {}, el("tr", {}, ...["col.when", "fp.attendance", "fp.on_time", "fp.progress"].map((k) => el("th", { scope: "col" }, t(k))))),
    el("tbody", {}, ...tl.points.map((p) => el("tr", {}, el("th", { scope: "row" }, new Date(p.at).toLocaleDateString(document.documentElement.lang)),
      el("td", {}, fmtPct(p.attendance_pct)), el("td", {}, fmtPct(p.on_time_pct)), el("td", {}, fmtPct(p.progress_pct)))))));
  const box = $("fp-detail");
  box.hidden = false;
  box.replaceChildren(el("h3", { id: "fp-h", tabindex: "-1" }, t("fp.over_time_of", { name: tl.learner.full_name })), svg, legend,
    el("details", {}, el("summary", {}, t("fp.as_table")), table,
      tl.grades.length ? el("ul", { class: "plain" }, ...tl.grades.map((g) => el("li", {}, `${fmtDate(g.at)}: ${g.exam} — ${fmtPct(g.percent)}`))) : ""));
}

async function openTimeline(learnerId, focus = true) {
  state.learner = learnerId;
  state.timeline = await api(`/api/teacher/courses/${cid()}/learners/${learnerId}/timeline`);
  renderTimeline();
  if (focus) $("fp-h").focus();
}

// ---- surveys ---------------------------------------------------------------------------------------------
async function loadSurveys() {
  const list = await api("/api/teacher/surveys");
  const sel = $("survey");
  const v = sel.value;
  sel.replaceChildren(...list.map((s) => el("option", { value: s.id }, s.title)));
  if (v && list.some((s) => String(s.id) === v)) sel.value = v;
  if (!list.length) { $("survey-results").replaceChildren(el("p", { class: "muted" }, t("surveys.none"))); return; }
  const r = await api(`/api/teacher/surveys/${sel.value}/results?course_id=${cid()}`);
  $("survey-results").replaceChildren(el("p", { id: "survey-count" }, t("surveys.responses", { n: r.responses })),
    ...r.questions.map((q) => el("section", { class: "panel", dataset: { question: q.question_id } }, el("h3", {}, q.prompt),
      q.kind === "rating" ? el("p", {}, t("surveys.mean", { mean: q.mean ?? "—", n: q.answers }), " ",
        el("span", { class: "muted" }, Object.entries(q.distribution).map(([k, n]) => `${k}: ${n}`).join(" · ")))
        : q.kind === "single_choice" ? el("ul", { class: "plain" }, ...Object.entries(q.counts).map(([o, n]) => el("li", {}, `${o}: ${n}`)))
          : el("ul", { class: "plain" }, ...(q.texts.length ? q.texts.map((x) => el("li", {}, x)) : [el("li", { class: "muted" }, t("none"))])))));
}

// ---- the page --------------------------------------------------------------------------------------------
const LOADERS = { content: loadContent, tasks: loadContent, exams: loadExams, results: loadResults, footprint: loadFootprint, surveys: loadSurveys };
const load = (name) => LOADERS[name]().then(() => { document.body.dataset.loaded = name; }).catch(fail);

async function main() {
  initLang();
  wireSignout();
  await signedIn(["teacher", "college_admin"]);
  state.courses = await api("/api/teacher/courses");
  const sel = $("course");
  sel.replaceChildren(...state.courses.map((c) => el("option", { value: c.id }, `${c.code} ${c.title}`)));
  if (!state.courses.length) { announce("teacher.no_courses", {}, "bad"); return; }
  state.course = Number(sel.value);
  sel.addEventListener("change", () => { state.course = Number(sel.value); state.learner = null; state.exams = [];
    for (const id of ["hand-ins", "question-editor", "fp-detail"]) $(id).hidden = true; load(state.tab); });
  wireContent(); wireExams();
  $("results-exam").addEventListener("change", () => load("results"));
  $("survey").addEventListener("change", () => load("surveys"));
  wireTabs((name) => { state.tab = name; load(name); });
  document.addEventListener("langchange", () => { renderContent(); renderExams(); renderTimeline(); load(state.tab); });
  applyTexts();
}

main();
