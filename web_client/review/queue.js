// The queue: sessions waiting for review, worst integrity score first, with filters and event counts;
// and the sessions in progress (refreshed every few seconds).
import { $, api, applyTexts, el, initLang, kindLabel, signedIn, t, wireSignout } from "./common.js";

const state = { filters: null, rows: [], live: [] };

function scoreBadge(score) {
  if (score === null || score === undefined) return el("span", { class: "score none" }, "—");
  const cls = score < 60 ? "violation" : score < 85 ? "suspicious" : "clean";
  return el("span", { class: `score ${cls}` }, String(score));
}

function counts(c) {
  return Object.entries(c || {}).map(([k, n]) => el("span", { class: "chip", dataset: { kind: k, count: n } }, `${kindLabel(k)}: ${n}`));
}

function open(row, live = false) { location.href = `/review/session?id=${encodeURIComponent(row.id)}${live ? "&live=1" : ""}`; }

function render() {
  const body = $("queue-rows");
  body.replaceChildren(...state.rows.map((r) => el("tr", { class: "row", tabindex: 0, dataset: { session: r.id, score: r.integrity_score ?? "" },
      onclick: () => open(r), onkeydown: (e) => { if (e.key === "Enter") open(r); } },
    el("td", {}, scoreBadge(r.integrity_score), r.score_provisional ? el("small", { class: "muted", dataset: { i18n: "score.provisional" } }, " " + t("score.provisional")) : ""),
    el("td", {}, el("a", { href: `/review/session?id=${r.id}` }, r.student.full_name), el("br"), el("small", { class: "muted" }, r.student.external_id || "")),
    el("td", {}, r.exam.title, el("br"), el("small", { class: "muted" }, `${r.course.code} · ${r.college.name}`)),
    el("td", {}, new Date(r.started_at || r.created_at).toLocaleString()),
    el("td", {}, t(`state.${r.attempt_state}`)),
    el("td", {}, counts(r.counts)))));
  $("queue-empty").hidden = state.rows.length > 0;
  $("live-rows").replaceChildren(...(state.live.length ? state.live.map((r) => el("tr", { class: "row", dataset: { session: r.id }, onclick: () => open(r, true) },
    el("td", {}, el("span", { class: "badge live" }, t("live.badge")), " ", r.student.full_name),
    el("td", {}, r.exam.title), el("td", {}, new Date(r.started_at || r.created_at).toLocaleString()),
    el("td", {}, t(`state.${r.attempt_state}`)), el("td", {}, counts(r.counts))))
    : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, t("queue.live_none")))]));
}

function fillFilters(f) {
  const opt = (v, label) => el("option", { value: v }, label);
  const keep = (id, opts) => { const s = $(id), v = s.value; s.replaceChildren(...opts); if (v) s.value = v; };
  keep("f-college", f.colleges.map((c) => opt(c.id, c.name)));
  keep("f-course", [opt("", t("filter.any")), ...f.courses.map((c) => opt(c.id, `${c.code} ${c.title}`))]);
  keep("f-exam", [opt("", t("filter.any")), ...f.exams.map((e) => opt(e.id, e.title))]);
  keep("f-status", f.statuses.map((s) => opt(s, s in { waiting: 1, live: 1, all: 1 } ? t(`status.${s}`) : t(`state.${s}`))));
}

function query() {
  const p = new URLSearchParams();
  for (const [id, key] of [["f-course", "course_id"], ["f-exam", "exam_id"], ["f-from", "date_from"], ["f-to", "date_to"], ["f-status", "status"]]) {
    if ($(id).value) p.set(key, $(id).value);
  }
  return p.toString();
}

async function load() {
  const data = await api(`/api/review/queue?${query()}`);
  state.rows = data.sessions;
  state.filters = data.filters;
  fillFilters(data.filters);
  render();
  document.body.dataset.loaded = "1";
}

async function loadLive() {
  try { state.live = (await api("/api/review/queue?status=live")).sessions; render(); } catch { /* next time */ }
}

async function main() {
  initLang();
  wireSignout();
  const me = await signedIn();
  $("who").textContent = me.full_name || "";
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  document.addEventListener("langchange", () => { if (state.filters) fillFilters(state.filters); render(); });
  await load();
  await loadLive();
  setInterval(loadLive, 3000);
  applyTexts();
}

main();
