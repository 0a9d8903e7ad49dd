// The session page: recording with the event timeline and signal plots in step with it, evidence, identity,
// room scan, browser events, verification, live mode (Server-Sent Events) and the decision.
import { $, SEV, api, applyTexts, el, fmtTime, initLang, kindLabel, signedIn, t, wireSignout } from "./common.js";

const NS = "http://www.w3.org/2000/svg";
const W = 1000, LEFT = 150, RIGHT = 28;
const params = new URLSearchParams(location.search);
const sid = params.get("id");
const base = `/api/review/sessions/${encodeURIComponent(sid)}`;
const S = { view: null, series: null, events: new Map(), duration: 1, pending: [], es: null };

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
const xOf = (tt) => LEFT + (W - LEFT - RIGHT) * Math.max(0, tt) / S.duration;
const tOf = (x) => (x - LEFT) / (W - LEFT - RIGHT) * S.duration;

// ---- video ------------------------------------------------------------------------------------------------
export function seek(tt) {
  const v = $("video");
  const go = () => { v.currentTime = Math.max(0, tt); cursor(tt); };
  if (v.readyState >= 1) go(); else v.addEventListener("loadedmetadata", go, { once: true });
}
window.reviewSeek = seek;

function cursor(tt) {
  for (const id of ["tl-cursor", "pl-cursor"]) {
    const c = document.getElementById(id);
    if (c) { const x = xOf(tt); c.setAttribute("x1", x); c.setAttribute("x2", x); }
  }
  for (const row of document.querySelectorAll("#events tr")) {
    const s = +row.dataset.start, e = row.dataset.end === "" ? Infinity : +row.dataset.end;
    row.classList.toggle("current", tt >= s && tt <= e);
  }
  $("add-comment").textContent = t("decision.add_comment", { t: fmtTime(tt) });
}

function wireVideo() {
  const v = $("video");
  v.src = `${base}/recording.webm`;
  v.addEventListener("error", () => { v.hidden = true; $("no-video").hidden = false; });
  const tick = () => { cursor(v.currentTime); if (!v.paused) requestAnimationFrame(tick); };
  v.addEventListener("play", () => requestAnimationFrame(tick));
  v.addEventListener("seeked", () => cursor(v.currentTime));
  v.addEventListener("timeupdate", () => cursor(v.currentTime));
}

// ---- timeline ---------------------------------------------------------------------------------------------
// The stream's quality (the view's context_kinds) is context, not misconduct: one lane of its own under the
// events, in a neutral colour, with a note that it never lowers the score. Filled bands: what the server measured;
// outlined marks: what the student's page reported.
const QUALITY = "#52667a";
const isContext = (e) => (S.view?.context_kinds || []).includes(e.kind);

function qualityText(e) {
  const d = (e.evidence || {}).details || {};
  const parts = [`${kindLabel(e.kind)} · ${t(e.source === "server" ? "quality.server" : "quality.browser")}`,
    `${fmtTime(e.start)}–${e.end == null ? t("ev.open") : fmtTime(e.end)}`];
  if (d.kbps != null && d.fps != null) parts.push(t("quality.figures", { kbps: d.kbps, fps: d.fps, size: d.width ? `${d.width}×${d.height}` : "?" }));
  else if (d.kbps != null) parts.push(`${d.kbps} kbit/s${d.rung ? ` (${d.rung})` : ""}`);
  if ((d.reasons || []).length) parts.push(t("quality.reasons", { reasons: d.reasons.map((r) => t(`reason.${r}`)).join(", ") }));
  return parts.join(" · ");
}

function mark(e, attrs, title) {
  const r = svg("rect", { class: "mark", rx: 2, "data-id": e.id, "data-kind": e.kind, "data-start": e.start, "data-end": e.end ?? "",
    "data-severity": e.severity, tabindex: 0, role: "button", "aria-label": title, ...attrs });
  r.append(svg("title", {}, title));
  r.addEventListener("click", () => seek(e.start));
  r.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); seek(e.start); } });
  return r;
}

function drawTimeline() {
  const all = [...S.events.values()];
  const events = all.filter((e) => !isContext(e)), quality = all.filter(isContext);
  const kinds = [...new Set(events.map((e) => e.kind))].sort();
  const lanes = kinds.length + (quality.length ? 1 : 0);
  const row = 22, h = Math.max(1, lanes) * row + 28;
  const g = $("timeline");
  g.setAttribute("viewBox", `0 0 ${W} ${h}`);
  g.replaceChildren();
  const lane = (i, label, attrs = {}) => {
    g.append(svg("text", { x: 4, y: i * row + 18, ...attrs }, label));
    g.append(svg("line", { x1: LEFT, x2: W - RIGHT, y1: i * row + 14, y2: i * row + 14, stroke: "#eee" }));
  };
  kinds.forEach((k, i) => lane(i, kindLabel(k)));
  const width = (e) => Math.max(4, xOf(e.end ?? S.duration) - xOf(e.start)).toFixed(1);
  for (const e of events) {
    g.append(mark(e, { x: xOf(e.start).toFixed(1), y: kinds.indexOf(e.kind) * row + 5, height: 16, width: width(e),
      fill: SEV[e.severity] || "#888" },
    `${kindLabel(e.kind)} ${fmtTime(e.start)}–${e.end == null ? t("ev.open") : fmtTime(e.end)} · ${t(`sev.${e.severity}`)}`));
  }
  if (quality.length) {
    const y = kinds.length * row;
    lane(kinds.length, t("lane.stream"), { "data-lane": "stream_quality" });
    for (const e of quality) {
      const server = e.source === "server";
      g.append(mark(e, { x: xOf(e.start).toFixed(1), y: y + (server ? 4 : 12), height: server ? 8 : 7, width: width(e),
        fill: server ? QUALITY : "#fff", stroke: QUALITY, "stroke-width": server ? 0 : 1.5, "data-lane": "stream_quality",
        "data-source": e.source }, qualityText(e)));
    }
  }
  $("timeline-note").hidden = !quality.length;
  const axis = lanes * row + 8;
  const step = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600].find((s) => S.duration / s <= 12) || 3600;
  for (let tt = 0; tt <= S.duration + 1e-6; tt += step) {
    g.append(svg("line", { x1: xOf(tt), x2: xOf(tt), y1: axis, y2: axis + 5, stroke: "#999" }));
    g.append(svg("text", { x: xOf(tt), y: axis + 17, "text-anchor": "middle" }, tick(tt)));
  }
  g.append(svg("line", { id: "tl-cursor", x1: LEFT, x2: LEFT, y1: 0, y2: axis, stroke: "#0b57d0", "stroke-width": 2 }));
  g.onclick = (ev) => { if (ev.target.classList?.contains("mark")) return; const p = pt(g, ev); if (p.x >= LEFT) seek(tOf(p.x)); };
}

function tick(s) { const m = Math.floor(s / 60); return `${m}:${String(Math.round(s - m * 60)).padStart(2, "0")}`; }

function pt(g, ev) {
  const r = g.getBoundingClientRect();
  const vb = g.viewBox.baseVal;
  return { x: (ev.clientX - r.left) * vb.width / r.width, y: (ev.clientY - r.top) * vb.height / r.height };
}

// ---- plots ------------------------------------------------------------------------------------------------
function drawPlots() {
  const s = S.series || { frames: [], audio: [] };
  const g = $("plots");
  if (!s.frames.length && !s.audio.length) { g.hidden = true; $("no-series").hidden = false; return; }
  const ph = 90, gap = 14, n = 4, h = n * (ph + gap) + 10;
  g.setAttribute("viewBox", `0 0 ${W} ${h}`);
  g.replaceChildren();
  const fr = s.frames, au = s.audio;
  const thr = S.view.identity.threshold;
  const panels = [
    { key: "plot.yaw", lines: [["yaw", "#1d3557"], ["pitch", "#e76f51"]], data: fr, lo: -60, hi: 60 },
    { key: "plot.faces", lines: [["faces", "#444"]], data: fr, lo: 0, hi: Math.max(3, ...fr.map((f) => f.faces ?? 0)), step: true },
    { key: "plot.identity", lines: [["identity_distance", "#6a4c93"]], data: fr.filter((f) => f.identity_distance != null), lo: 0, hi: 1, dots: true, thr },
    { key: "plot.audio", lines: [["dbfs", "#1d3557"]], data: au, lo: -90, hi: 0 },
  ];
  panels.forEach((p, i) => {
    const top = i * (ph + gap) + 4;
    const y = (v) => top + ph - (Math.min(p.hi, Math.max(p.lo, v)) - p.lo) / (p.hi - p.lo) * ph;
    g.append(svg("rect", { x: LEFT, y: top, width: W - LEFT - RIGHT, height: ph, fill: "#fafafa", stroke: "#ddd" }));
    g.append(svg("text", { x: 4, y: top + 14 }, t(p.key)));
    g.append(svg("text", { x: LEFT - 4, y: top + 10, "text-anchor": "end" }, String(p.hi)));
    g.append(svg("text", { x: LEFT - 4, y: top + ph, "text-anchor": "end" }, String(p.lo)));
    for (const e of S.events.values()) {
      if (isContext(e)) continue;
      const x0 = xOf(e.start), x1 = xOf(e.end ?? S.duration);
      g.append(svg("rect", { x: x0, y: top, width: Math.max(2, x1 - x0), height: ph, fill: SEV[e.severity] || "#888", opacity: 0.08 }));
    }
    if (p.thr != null) g.append(svg("line", { x1: LEFT, x2: W - RIGHT, y1: y(p.thr), y2: y(p.thr), stroke: "#d7263d", "stroke-dasharray": "4 3" }));
    for (const [key, colour] of p.lines) {
      let d = "", pen = false, prev = null;
      for (const f of p.data) {
        const v = f[key];
        if (v === null || v === undefined) { pen = false; continue; }
        const x = xOf(f.t).toFixed(1), yy = y(+v).toFixed(1);
        if (p.step && pen && prev !== null) d += `L${x},${prev}`;
        d += `${pen ? "L" : "M"}${x},${yy}`;
        pen = true; prev = yy;
        if (p.dots) g.append(svg("circle", { cx: x, cy: yy, r: 3, fill: colour }));
      }
      if (d) g.append(svg("path", { d, fill: "none", stroke: colour, "stroke-width": 1.3, "data-series": key }));
    }
  });
  g.append(svg("line", { id: "pl-cursor", x1: LEFT, x2: LEFT, y1: 0, y2: h, stroke: "#0b57d0", "stroke-width": 2 }));
  g.onclick = (ev) => { const p = pt(g, ev); if (p.x >= LEFT) seek(tOf(p.x)); };
}

// ---- lists ------------------------------------------------------------------------------------------------
function drawEvents() {
  const rows = [...S.events.values()].map((e) => el("tr", { dataset: { id: e.id, start: e.start, end: e.end ?? "" }, onclick: () => seek(e.start) },
    el("td", {}, el("strong", {}, kindLabel(e.kind)), el("br"), el("small", { class: "muted" }, e.message || "")),
    el("td", {}, fmtTime(e.start)), el("td", {}, e.end == null ? t("ev.open") : fmtTime(e.end)),
    el("td", {}, el("span", { class: "sev", style: `background:${SEV[e.severity] || "#888"}` }), t(`sev.${e.severity}`)),
    el("td", {}, (e.confidence ?? 0).toFixed(2)),
    el("td", {}, el("div", { class: "thumbs" }, ((e.evidence || {}).frames || []).map((f) =>
      el("img", { src: `${base}/evidence/${encodeURIComponent(f.name)}`, alt: `${e.kind} ${f.t}s`, title: `${fmtTime(f.t)} · sha256 ${String(f.sha256).slice(0, 12)}…`,
        style: "width:110px", onclick: (ev) => { ev.stopPropagation(); seek(f.t); } }))))));
  $("events").replaceChildren(...rows);
  const browser = [...S.events.values()].filter((e) => ["tab_switch", "fullscreen_exit", "copy_paste", "devtools"].includes(e.kind));
  $("browser").replaceChildren(...(browser.length ? browser.map((e) => el("li", { dataset: { id: e.id }, onclick: () => seek(e.start) },
    `${fmtTime(e.start)} · ${kindLabel(e.kind)}${e.duration ? ` (${e.duration.toFixed(1)} s)` : ""}`)) : [el("li", { class: "muted" }, t("session.no_browser"))]));
}

function frameFig(tt, caption) {
  return el("figure", {}, el("img", { src: `${base}/frame.jpg?t=${tt.toFixed(2)}`, alt: caption, loading: "lazy", onclick: () => seek(tt) }),
    el("figcaption", {}, caption));
}

function drawIdentity() {
  const v = S.view, box = $("identity");
  const items = [];
  // side by side: the college's reference, the photo taken at the identity step, then the live frames
  const ref = v.identity.reference;
  for (const p of (ref?.photos || [])) {
    items.push(p.stored
      ? el("figure", { class: "reference" }, el("img", { src: `${base}/reference/${p.sha256}.jpg`, alt: t("session.reference") }),
           el("figcaption", {}, `${t("session.reference")} (${ref.source})`))
      : el("p", { class: "muted" }, `${t("session.no_photo")} ${p.sha256.slice(0, 12)}…`));
  }
  for (const p of v.identity.photos) {
    items.push(p.stored
      ? el("figure", { class: "enrolment" }, el("img", { src: `${base}/enrolment/${p.sha256}.jpg`, alt: t("session.enrolment") }), el("figcaption", {}, t("session.enrolment")))
      : el("p", { class: "muted" }, `${t("session.no_photo")} ${p.sha256.slice(0, 12)}…`));
  }
  if (!v.identity.photos.length && !ref) items.push(el("p", { class: "muted" }, t("session.no_photo")));
  for (const e of (v.identity.enrolments || [])) {
    const m = e.match;
    const text = e.source === "proctor" ? t("session.ref_replaced", { by: e.by, reason: e.reason })
      : !m ? t("session.no_reference")
      : t(m.match ? "session.ref_match" : "session.ref_mismatch", { d: m.distance ?? "?", thr: m.threshold });
    items.push(el("p", { class: m && !m.match ? "violation" : "muted", dataset: { enrolment: e.enrolment_id } }, text));
  }
  for (const d of (v.identity.decisions || [])) items.push(el("p", { class: "muted" }, t("session.ref_decided", { by: d.by })));
  const checks = [];
  for (const s of v.identity.steps) checks.push({ t: s.t, label: `${fmtTime(s.t)} · ${s.result || (s.ok ? "match" : "")}` });
  for (const f of (S.series?.frames || [])) if (f.identity_distance != null) checks.push({ t: f.t, label: `${fmtTime(f.t)} · d=${f.identity_distance.toFixed(3)}` });
  for (const c of checks.slice(0, 8)) items.push(frameFig(c.t, c.label));
  if (!checks.length) items.push(el("p", { class: "muted" }, t("session.no_checks")));
  box.replaceChildren(...items);
}

function drawRoom() {
  const v = S.view, box = $("room");
  const recs = v.room_scan.records, evs = [...S.events.values()].filter((e) => e.kind.startsWith("room_scan"));
  if (!recs.length && !evs.length) { box.replaceChildren(el("p", { class: "muted" }, t("session.no_room"))); return; }
  // each scan's verdict from its event: coverage, reasons, faces by angle and the strip the camera saw
  const scans = evs.map((e) => {
    const ev = e.evidence || {};
    const strip = (ev.frames || []).find((f) => f.role === "room_strip");
    const faces = (ev.faces || []).map((f) => `${Math.round(f.angle_deg)}°${f.count > 1 ? ` ×${f.count}` : ""}${f.confirmed === false ? " ?" : ""}`);
    return el("article", { class: `room-scan ${e.kind === "room_scan_completed" ? "clean" : "violation"}`, dataset: { kind: e.kind } },
      el("h4", {}, `${kindLabel(e.kind)} · ${fmtTime(e.start)}`),
      ev.coverage_deg != null ? el("p", {}, t("room.coverage", { deg: Math.round(ev.coverage_deg) })) : "",
      (ev.reasons || []).length ? el("ul", { class: "reasons" }, ...ev.reasons.map((r) => el("li", {}, r))) : "",
      el("p", {}, `${t("room.faces")}: ${faces.length ? faces.join(", ") : t("room.no_faces")}`),
      strip ? el("img", { class: "room-strip", src: `${base}/evidence/${encodeURIComponent(strip.name)}`, alt: t("room.strip"),
                          title: `sha256 ${String(strip.sha256).slice(0, 12)}…`, onclick: () => seek(e.start) }) : "");
  });
  const start = recs.find((r) => r.phase === "start")?.t ?? evs[0]?.start ?? 0;
  const end = recs.find((r) => r.phase === "end")?.t ?? evs[0]?.end ?? start + 10;
  const figs = [0, 0.25, 0.5, 0.75, 1].map((q) => start + q * (end - start)).map((tt) => frameFig(tt, fmtTime(tt)));
  box.replaceChildren(...scans, el("ul", { class: "plain" },
    ...recs.map((r) => el("li", {}, `${r.phase} · ${fmtTime(r.t)}`)),
    ...(v.room_scan.requests || []).map((r) => el("li", {}, `${t("room.requested")} (${r.reason}) · ${fmtTime(r.t ?? 0)}`))),
    el("div", { class: "thumbs" }, figs));
}

function drawVerification() {
  const ver = S.view.verification;
  const item = (id, key, res, detail) => {
    const e = $(id);
    e.classList.toggle("failed", !res.ok);
    e.dataset.ok = res.ok ? "true" : "false";
    e.replaceChildren(el("span", {}, `${t(key)}: `), el("span", { class: res.ok ? "ok" : "bad" }, t(res.ok ? "verify.ok" : "verify.bad")),
      detail ? el("small", { class: "muted" }, ` ${detail}`) : "");
  };
  item("verify-chain", "verify.chain", ver.chain, ver.chain.ok ? `(${ver.chain.checked})` : ver.chain.reason);
  item("verify-recording", "verify.recording", ver.recording, ver.recording.ok ? `(${ver.recording.checked})`
    : ver.recording.problems.map((p) => `#${p.index} ${p.problem}`).join(", "));
  item("verify-evidence", "verify.evidence", ver.evidence, `(${ver.evidence.checked})`);
  $("verify-warning").hidden = ver.chain.ok && ver.recording.ok && ver.evidence.ok;
}

function drawSummary() {
  const v = S.view;
  $("student").textContent = `${v.student.full_name} (${v.student.external_id || v.student.id})`;
  $("exam").textContent = `${v.exam.title} · ${v.course.code} · ${v.college.name}`;
  $("attempt-state").textContent = t(`state.${v.attempt.state}`);
  $("attempt-state").dataset.state = v.attempt.state;
  const sc = v.score?.score ?? v.integrity_score;
  // a running session's score is provisional (the server recomputes it while the session runs); final at its end
  const provisional = sc != null && (v.score?.provisional || v.score_provisional);
  $("score").replaceChildren(...(sc == null ? ["—"] : [
    el("span", { class: `score ${sc < 60 ? "violation" : sc < 85 ? "suspicious" : "clean"}`, dataset: { provisional: provisional ? "1" : "0" } }, String(sc)),
    ...(provisional ? [" ", el("small", { class: "muted", dataset: { i18n: "score.provisional" } }, t("score.provisional"))] : [])]));
  $("duration").textContent = fmtTime(v.duration_s);
  $("export").href = `${base}/export.html`;
  $("live-badge").hidden = !v.live;
  $("live-panel").hidden = !v.live;
  const g = v.attempt.grade || {};
  $("grade").textContent = t("decision.grade", { status: `${g.status}${g.score != null ? ` ${g.score} / ${g.max_score}` : ""}` });
  $("grade").dataset.status = g.status || "";
  $("decision-log").replaceChildren(...(v.reviews.length ? v.reviews.map((r) => el("li", { dataset: { decision: r.decision } },
    `${new Date(r.created_at).toLocaleString()} · user ${r.reviewer_id} · ${r.decision}: ${t(`state.${r.from_state}`)} → ${t(`state.${r.to_state}`)}${r.reason ? ` — ${r.reason}` : ""}`))
    : [el("li", { class: "muted" }, t("decision.none"))]));
  $("comments").replaceChildren(...v.comments.map((c) => el("li", { onclick: () => seek(c.t) }, el("strong", {}, fmtTime(c.t)), ` ${c.text}`)));
  drawPending();
}

function drawPending() {
  $("pending-comments").replaceChildren(...S.pending.map((c, i) => el("li", {}, el("strong", {}, fmtTime(c.t)), ` ${c.text} `,
    el("button", { type: "button", class: "secondary", onclick: () => { S.pending.splice(i, 1); drawPending(); } }, "×"))));
}

function drawAll() {
  drawSummary(); drawVerification(); drawTimeline(); drawPlots(); drawEvents(); drawIdentity(); drawRoom();
  cursor($("video").currentTime || 0);
}

// ---- data -------------------------------------------------------------------------------------------------
async function load() {
  const [view, series] = await Promise.all([api(base), api(`${base}/signals`)]);
  S.view = view; S.series = series;
  S.events = new Map(view.events.map((e) => [e.id, e]));
  S.duration = Math.max(1, view.duration_s);
  drawAll();
  document.body.dataset.loaded = "1";
  if (view.live && !S.es) startLive(view.entries - 1);
}

function startLive(after) {
  const es = new EventSource(`${base}/stream?after=${after}`);
  S.es = es;
  let redraw = null;
  es.addEventListener("entry", (m) => {
    const entry = JSON.parse(m.data), rec = entry.record;
    if (rec && rec.type === "event") {
      S.events.set(rec.id, { ...rec, seq: entry.seq });
      S.duration = Math.max(S.duration, rec.end ?? rec.start ?? 0, (Date.now() - Date.parse(S.view.started_at || S.view.created_at)) / 1000 || 0);
    }
    clearTimeout(redraw);
    redraw = setTimeout(() => { drawTimeline(); drawEvents(); drawPlots(); document.body.dataset.lastSeq = String(entry.seq); }, 50);
  });
  // the provisional score, as the server recomputes it (live_provisional_score_s)
  S.scoreTimer = setInterval(async () => {
    try {
      const v = await api(base);
      Object.assign(S.view, { score: v.score, integrity_score: v.integrity_score, score_provisional: v.score_provisional });
      drawSummary();
    } catch (e) { /* the next tick tries again */ }
  }, 10000);
  es.addEventListener("status", (m) => {
    if (!JSON.parse(m.data).active) { es.close(); S.es = null; clearInterval(S.scoreTimer); load(); }
  });
}

// ---- actions ----------------------------------------------------------------------------------------------
function wireActions() {
  $("add-comment").addEventListener("click", () => {
    const text = $("comment").value.trim();
    if (!text) { $("comment").focus(); return; }
    S.pending.push({ t: +($("video").currentTime || 0).toFixed(2), text });
    $("comment").value = "";
    drawPending();
  });
  $("decide").addEventListener("click", async () => {
    const choice = document.querySelector("input[name=decision]:checked");
    if (!choice) return;
    $("decision-result").textContent = "";
    try {
      const r = await api(`/api/proctor/attempts/${S.view.attempt_id}/review`, { method: "POST",
        body: { decision: choice.value, reason: $("reason").value.trim() || null, comments: S.pending } });
      S.pending = [];
      $("decision-result").textContent = t("decision.done", { state: t(`state.${r.attempt.state}`) });
      $("decision-result").className = "ok";
      await load();
    } catch (e) {
      $("decision-result").textContent = t("decision.error", { error: e.message });
      $("decision-result").className = "error";
    }
  });
  $("send").addEventListener("click", async () => {
    const text = $("msg").value.trim();
    if (!text) return;
    try {
      const r = await api(`${base}/message`, { method: "POST", body: { text } });
      $("msg-status").textContent = t("live.sent", { delivered: t(r.delivered ? "live.delivered" : "live.not_delivered") });
      $("msg").value = "";
    } catch (e) { $("msg-status").textContent = e.message; }
  });
  $("end").addEventListener("click", async () => {
    const reason = $("end-reason").value.trim();
    if (!reason) { $("end-reason").focus(); return; }
    if (!window.confirm(t("live.confirm_end"))) return;
    try {
      const r = await api(`${base}/end`, { method: "POST", body: { reason } });
      $("end-status").textContent = t("live.ended", { state: t(`state.${r.attempt_state}`) });
      await load();
    } catch (e) { $("end-status").textContent = e.message; }
  });
}

async function main() {
  initLang();
  wireSignout();
  const me = await signedIn();
  $("who").textContent = me.full_name || "";
  wireVideo();
  wireActions();
  document.addEventListener("langchange", () => { if (S.view) drawAll(); });
  await load();
  applyTexts();
}

main().catch((e) => { document.body.dataset.error = e.message; $("main").prepend(el("p", { class: "warnbox", role: "alert" }, e.message)); });
