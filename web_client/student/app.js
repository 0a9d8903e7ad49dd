// The student's exam page: sign in -> consent -> camera/microphone check -> identity -> room scan -> exam -> done.
import { applyTexts, has, initLang, t } from "./i18n.js";
import { LiveConnection } from "./live.js";
import { watchSignals } from "./signals.js";
import { LADDER, UplinkAdapter } from "./uplink.js";

const $ = (id) => document.getElementById(id);
const state = { token: null, exam: null, attempt: null, config: null, stream: null, live: null, audio: null,
                questions: [], deadline: null, timer: null, submitting: false, stopSignals: null };
window.proctorPage = state; // for the end-to-end test and for support staff (read-only use)

// ---- helpers -------------------------------------------------------------------------------------------
async function api(path, { method = "GET", body, form } = {}) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: form ?? (body !== undefined ? JSON.stringify(body) : undefined) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const err = new Error(data.error?.message || `HTTP ${r.status}`);
    err.status = r.status; err.code = data.error?.code; err.details = data.error?.details;
    throw err;
  }
  return data;
}

function show(step) {
  for (const s of document.querySelectorAll("section.step")) s.hidden = s.id !== step;
  for (const li of document.querySelectorAll("#steps li")) {
    if (li.dataset.step === step) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
  }
  state.step = step;
  document.body.dataset.step = step;
  const h = document.querySelector(`#${step} h2`);
  if (h) h.focus();
  state.live?.send({ type: "step", step: step === "room" ? "room_scan" : step === "devices" ? "device_check" : step });
}

function say(el, key, vars = {}, cls = "") {
  el.dataset.i18n = key;
  el.dataset.i18nVars = JSON.stringify(vars);
  el.textContent = t(key, vars);
  el.className = cls;
}

// ---- 1. sign in ----------------------------------------------------------------------------------------
async function signIn(e) {
  e.preventDefault();
  $("signin-error").textContent = "";
  try {
    const out = await api("/api/auth/login", { method: "POST", body: { email: $("email").value.trim(), password: $("password").value } });
    state.token = out.token;
    const [exams, config] = await Promise.all([api("/api/student/exams"), api("/api/live/config")]);
    state.config = config;
    state.exam = exams.find((x) => x.can_start && x.proctored) || exams.find((x) => x.can_start);
    if (!state.exam) { say($("signin-error"), "signin.no_exam"); return; }
    say($("exam-title"), "signin.exam", { title: state.exam.title, minutes: state.exam.time_limit_min + (state.exam.extra_time_min || 0) }, "muted");
    say($("consent-days"), "consent.how_long", { days: config.retention_days });
    show("consent");
  } catch (err) {
    say($("signin-error"), "signin.error", {}, "error");
  }
}

// ---- 2. consent ----------------------------------------------------------------------------------------
async function consent() {
  if (!$("agree").checked) { say($("consent-error"), "consent.required", {}, "error"); return; }
  $("consent-error").textContent = "";
  state.attempt = await api(`/api/student/exams/${state.exam.id}/attempts`, { method: "POST" });
  show("devices");
}

// ---- 3. camera and microphone --------------------------------------------------------------------------
async function startDevices() {
  const v = state.config.video;
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      // the camera the analysis is tuned for: the server's setting (GET /api/live/config), not a copy here
      video: { width: { ideal: v.width }, height: { ideal: v.height }, frameRate: { ideal: v.frame_rate, max: v.frame_rate } },
      audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: false },
    });
  } catch (err) {
    say($("devices-status"), "devices.error", { error: err.message || err.name }, "error");
    return;
  }
  for (const id of ["preview", "identity-video", "room-video", "self-view"]) $(id).srcObject = state.stream;
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  ctx.createMediaStreamSource(state.stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  const tick = () => {
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) sum += v * v;
    $("level").value = Math.min(1, Math.sqrt(sum / buf.length) * 4);
    state.audioFrame = requestAnimationFrame(tick);
  };
  tick();
  state.audio = ctx;
  $("preview").addEventListener("playing", () => {
    say($("devices-status"), "devices.ok", {}, "ok");
    $("devices-btn").disabled = false;
  }, { once: true });
  $("devices-start").disabled = true;
}

// ---- 4. identity ---------------------------------------------------------------------------------------
function connBanner(key, vars) {
  const el = $("conn");
  if (!key) { el.hidden = true; return; }
  say(el, key, vars, "conn");
  el.hidden = false;
}

function newLiveConnection() {
  const live = new LiveConnection({ sessionId: state.attempt.proctoring_session_id, stream: state.stream, token: state.token,
    video: state.config.video });
  state.live = live;
  live.addEventListener("warning", (e) => addWarning(e.detail));
  live.addEventListener("identity_result", (e) => identityResult(e.detail));
  live.addEventListener("room_scan_request", (e) => roomRequest(e.detail));
  live.addEventListener("room_scan_progress", (e) => scanProgress(e.detail));
  live.addEventListener("room_scan_recorded", (e) => scanRecorded(e.detail));
  // the page asks, the server decides: a refused request (too many checks asked for, an end the attempt does
  // not confirm) is shown, translated
  live.addEventListener("error", (e) => {
    if (e.detail.code === "rate_limited" || e.detail.code === "page_request_refused") addWarning({ code: `refused.${e.detail.code}` });
  });
  live.addEventListener("lost", () => connBanner("conn.lost"));
  live.addEventListener("restored", () => { connBanner("conn.back"); setTimeout(() => connBanner(null), 4000); });
  live.addEventListener("failed", (e) => connBanner("conn.failed", { error: e.detail.error }));
  live.addEventListener("exam_state", (e) => {
    state.examState = e.detail.state;
    if (e.detail.state === "finished") endedRemotely(e.detail);
  });
  live.addEventListener("open", () => watchUplink(live));
  return live;
}

// The camera stream follows the uplink (uplink.js); the student hears when it is lowered and is told when the
// connection is too poor for a fair exam (a polite status and, during the exam, a notice beside the questions).
// The page also reports both to the server (the page's claim for the proctor's timeline; the server measures the
// stream it receives itself): uplink_changed at each change of rung, stream_poor while it finds the uplink too poor.
function reportUplink(live, kind, phase, detail, up) {
  const kbps = detail.kbps == null || Number.isNaN(detail.kbps) ? null : Math.round(detail.kbps);
  live.send({ type: "browser_signal", kind, phase, details: { rung: LADDER[up.state.level].name, level: up.state.level, kbps } });
}

function watchUplink(live) {
  state.uplink?.stop();
  const sender = live.pc?.getSenders().find((s) => s.track && s.track.kind === "video");
  if (!sender) return;
  const up = new UplinkAdapter(live.pc, sender).start();
  state.uplink = up;
  const el = $("uplink");
  up.addEventListener("change", (e) => {
    reportUplink(live, "uplink_changed", "instant", e.detail, up);
    if (up.state.tooPoor) return;
    if (e.detail.level === 0) { el.hidden = true; return; }
    say(el, "uplink.lowered", {}, "conn"); el.hidden = false;
  });
  up.addEventListener("poor", (e) => {
    reportUplink(live, "stream_poor", e.detail.tooPoor ? "start" : "end", e.detail, up);
    if (e.detail.tooPoor) {
      say(el, "uplink.too_poor", {}, "conn bad"); el.hidden = false;
      if (state.step === "exam") addWarning({ code: "uplink.too_poor", kind: "uplink" });
    } else {
      say(el, "uplink.recovered", {}, "conn"); setTimeout(() => { if (!up.state.tooPoor && up.state.level === 0) el.hidden = true; }, 4000);
    }
  });
}

// After the devices check: a new attempt goes through identity and room scan; one already started (the page was
// reloaded mid-exam) reconnects its proctoring session and goes straight back to its questions.
async function afterDevices() {
  if (state.attempt.state !== "started") return startIdentity();
  const live = newLiveConnection();
  try {
    await live.connect();
  } catch (err) {
    say($("devices-status"), "conn.failed", { error: err.message }, "error");
    return;
  }
  await startExam(true);
}

async function startIdentity() {
  show("identity");
  say($("identity-conn"), "identity.connecting");
  const live = newLiveConnection();
  live.addEventListener("open", () => say($("identity-conn"), "identity.connected", {}, "ok"), { once: true });
  try {
    await live.connect();
  } catch (err) {
    say($("identity-conn"), "conn.failed", { error: err.message }, "error");
    return;
  }
  live.send({ type: "step", step: "identity" });
  const status = await api(`/api/live/sessions/${state.attempt.proctoring_session_id}/enrolment`);
  setEnrolled(status.enrolled);
}

function setEnrolled(enrolled) {
  state.enrolled = enrolled;
  say($("enrol-state"), enrolled ? "identity.enrolled" : "identity.not_enrolled", {}, enrolled ? "ok" : "");
  $("check-face").disabled = !enrolled;
}

async function enrolBlob(blob, name) {
  say($("identity-result"), "identity.enrolling");
  const form = new FormData();
  form.append("photos", blob, name);
  try {
    await api(`/api/live/sessions/${state.attempt.proctoring_session_id}/enrolment`, { method: "POST", form });
    setEnrolled(true);
    clear($("identity-result"));
  } catch (err) {
    const reason = err.details?.reason;
    say($("identity-result"), "identity.enrol_failed", { reason: reason ? t(`reason.${reason}`) : err.message }, "bad");
  }
}

function clear(el) {
  delete el.dataset.i18n;
  el.textContent = "";
}

function takePhoto() {
  say($("identity-result"), "identity.enrolling");
  const video = $("identity-video");
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth || state.config.video.width;
  canvas.height = video.videoHeight || state.config.video.height;
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  canvas.toBlob((blob) => enrolBlob(blob, "camera.jpg"), "image/jpeg", 0.92);
}

function checkFace() {
  say($("identity-result"), "identity.checking");
  $("check-face").disabled = true;
  state.live.send({ type: "identity_check" });
}

function identityResult(r) {
  (state.identityResults ||= []).push(r);
  $("check-face").disabled = false;
  say($("identity-result"), `identity.result.${r.reason}`, {}, r.ok ? "ok" : "bad");
  if (r.ok) $("identity-btn").disabled = false;
}

// ---- 5. room scan --------------------------------------------------------------------------------------
// The scan's guide: the server's tracker says how far the camera turned (room_scan_progress, ~4 a second); the
// page shows the coverage as a bar and, in an aria-live region updated only when the advice changes, which way to
// turn, how far is left and "slow down". The same guide serves the room scan step and a re-scan during the exam.
const scanIds = () => (state.step === "exam" ? "rescan" : "room");

function scanProgress(m) {
  const p = scanIds();
  $(`${p}-guide`).hidden = false;
  $(`${p}-progress`).value = Math.min(360, m.coverage_deg || 0);
  let key, vars = {};
  if (m.complete) key = "room.guide_complete";
  else if (m.too_fast || m.slow_down) key = "room.guide_slow_down";
  else {
    key = m.direction === "left" ? "room.guide_left" : m.direction === "right" ? "room.guide_right" : "room.guide_turn";
    vars = { deg: Math.max(0, Math.ceil((m.remaining_deg || 0) / 30) * 30) }; // coarse steps: a calm live region
  }
  const el = $(`${p}-turn`);
  if (el.dataset.i18n !== key || el.dataset.i18nVars !== JSON.stringify(vars)) say(el, key, vars, key === "room.guide_slow_down" ? "warn" : "");
  if (m.complete) $(`${p}-finish`).disabled = false;
  state.scanProgress = m;
}

function scanReasons(reasons) {
  // "code: detail" from the server -> the page's own words for the codes it knows
  const codes = [...new Set((reasons || []).map((r) => String(r).split(":")[0].trim()))];
  return codes.map((c) => (has(`room.reason.${c}`) ? t(`room.reason.${c}`) : c)).join(" ");
}

function scanRecorded(m) {
  const p = scanIds();
  state.roomResult = m;
  const done = $(`${p}-done`);
  if (m.passed === false) {
    say(done, "room.failed", { reasons: scanReasons(m.reasons), deg: Math.round(m.coverage_deg || 0) }, "error");
    $(`${p}-start`).disabled = false; // try again
    $(`${p}-finish`).disabled = true;
  } else {
    say(done, "room.done", {}, "ok");
    if (p === "rescan") setTimeout(() => { $("rescan").hidden = true; }, 4000);
  }
  if (p === "room") $("room-btn").disabled = false; // a failed scan can also be confirmed by a proctor
}

function rescanRequest(msg) {
  state.roomSeconds = Math.round(msg.duration_s);
  for (const id of ["rescan-turn", "rescan-done"]) clear($(id));
  $("rescan-guide").hidden = true;
  $("rescan-start").disabled = false;
  $("rescan-finish").disabled = true;
  $("rescan").hidden = false;
  addWarning({ code: "rescan.heading", kind: "room_scan_request" }); // announced; the focus stays where the student is
}

function rescanStart() {
  $("rescan-start").disabled = true;
  clear($("rescan-done"));
  state.live.send({ type: "room_scan", phase: "start" });
  setTimeout(() => { $("rescan-finish").disabled = false; }, (state.roomSeconds || 20) * 1000);
}

function rescanFinish() {
  $("rescan-finish").disabled = true;
  state.live.send({ type: "room_scan", phase: "end" });
}

function roomRequest(msg) {
  if (state.step === "exam") { rescanRequest(msg); return; }
  state.roomSeconds = Math.round(msg.duration_s);
  say($("room-request"), "room.request");
  say($("room-instructions"), "room.instructions", { seconds: state.roomSeconds });
  $("room-start").disabled = false;
}

function roomStart() {
  $("room-start").disabled = true;
  clear($("room-done"));
  state.live.send({ type: "room_scan", phase: "start" });
  let left = state.roomSeconds;
  say($("room-remaining"), "room.remaining", { seconds: left });
  const timer = setInterval(() => {
    left -= 1;
    if (left > 0) { say($("room-remaining"), "room.remaining", { seconds: left }); return; }
    clearInterval(timer);
    clear($("room-remaining"));
    $("room-finish").disabled = false;
    $("room-finish").focus();
  }, 1000);
}

function roomFinish() {
  $("room-finish").disabled = true;
  state.live.send({ type: "room_scan", phase: "end" });
}

// ---- 6. exam -------------------------------------------------------------------------------------------
async function startExam(resume = false) {
  if (!resume) state.attempt = await api(`/api/student/attempts/${state.attempt.id}/start`, { method: "POST" });
  const q = await api(`/api/student/attempts/${state.attempt.id}/questions`);
  state.questions = q.questions;
  state.deadline = q.deadline_at ? new Date(q.deadline_at) : null;
  show("exam");
  renderQuestions();
  state.stopSignals = watchSignals((m) => state.live.send(m));
  state.live.send({ type: "exam_state", state: "started" });
  tickTimer();
  state.timer = setInterval(tickTimer, 1000);
  document.documentElement.requestFullscreen?.().catch(() => {});
}

function renderQuestions() {
  const form = $("questions");
  if (!state.questions.length) return;
  const values = collectAnswers();
  form.textContent = "";
  state.questions.forEach((q, i) => {
    const fs = document.createElement("fieldset");
    fs.className = "q";
    fs.dataset.qid = q.id;
    const legend = document.createElement("legend");
    legend.textContent = t("exam.question", { n: i + 1 });
    fs.append(legend);
    const prompt = document.createElement("p");
    prompt.className = "prompt";
    prompt.id = `q${q.id}-prompt`;
    prompt.textContent = q.prompt;
    fs.append(prompt);
    const current = q.id in values ? values[q.id] : q.response;
    if (q.kind === "short_text") {
      const label = document.createElement("label");
      label.htmlFor = `q${q.id}-text`;
      label.textContent = t("exam.text_answer");
      const input = document.createElement("input");
      input.type = "text"; input.id = `q${q.id}-text`; input.value = current ?? "";
      input.setAttribute("aria-describedby", prompt.id);
      input.addEventListener("change", () => save(q, input.value));
      fs.append(label, input);
    } else {
      const multi = q.kind === "multiple_choice";
      (q.options || []).forEach((opt, k) => {
        const label = document.createElement("label");
        label.className = "check";
        const input = document.createElement("input");
        input.type = multi ? "checkbox" : "radio";
        input.name = `q${q.id}`; input.value = String(k);
        input.checked = multi ? Array.isArray(current) && current.includes(k) : current === k;
        input.addEventListener("change", () => {
          const chosen = [...fs.querySelectorAll("input:checked")].map((x) => Number(x.value));
          save(q, multi ? chosen : chosen[0]);
        });
        label.append(input, document.createTextNode(" " + opt));
        fs.append(label);
      });
    }
    const saved = document.createElement("p");
    saved.className = "save-state"; saved.id = `q${q.id}-saved`; saved.setAttribute("aria-live", "polite");
    fs.append(saved);
    form.append(fs);
  });
}

function collectAnswers() {
  const out = {};
  for (const fs of document.querySelectorAll("#questions fieldset.q")) {
    const q = state.questions.find((x) => String(x.id) === fs.dataset.qid);
    if (!q) continue;
    if (q.kind === "short_text") out[q.id] = fs.querySelector("input").value;
    else {
      const chosen = [...fs.querySelectorAll("input:checked")].map((x) => Number(x.value));
      out[q.id] = q.kind === "multiple_choice" ? chosen : chosen[0];
    }
  }
  return out;
}

async function save(q, response) {
  const el = $(`q${q.id}-saved`);
  say(el, "exam.saving", {}, "save-state");
  try {
    await api(`/api/student/attempts/${state.attempt.id}/answers/${q.id}`, { method: "PUT", body: { response } });
    q.response = response;
    say(el, "exam.saved", {}, "save-state ok");
    el.dataset.saved = "1";
  } catch (err) {
    if (err.code === "proctoring_interrupted") {
      // the server refuses answers while the exam is not proctored: say why, in the student's language
      const why = err.details?.session_status === "stream_lost" ? "exam.interrupted_stream" : "exam.interrupted_ended";
      say(el, why, {}, "save-state bad");
      addWarning({ code: why });
    } else {
      say(el, "exam.save_error", { error: err.message }, "save-state bad");
    }
  }
}

function tickTimer() {
  if (!state.deadline) return;
  const left = Math.max(0, Math.round((state.deadline - Date.now()) / 1000));
  $("timer").textContent = `${String(Math.floor(left / 60)).padStart(2, "0")}:${String(left % 60).padStart(2, "0")}`;
  if (left === 0 && !state.submitting) { addWarning({ code: "exam.time_up" }); submit(); }
}

function addWarning(msg) {
  const li = document.createElement("li");
  const key = msg.code || `warning.${msg.kind}`;
  li.dataset.kind = msg.kind || "";
  if (msg.kind === "proctor_message" && msg.text) {
    // a person's words, shown as written, under a translated title
    const title = document.createElement("strong");
    title.dataset.i18n = key;
    title.textContent = t(key);
    li.append(title, document.createTextNode(": " + msg.text));
  } else if (has(key) || !msg.text) {
    li.dataset.i18n = key;
    li.textContent = t(key);
  } else {
    li.textContent = msg.text; // a warning this page has no translation for: the server's English text
  }
  $("warnings").prepend(li);
}

// The proctoring side ended the session while the student was still answering (a proctor, the grace period).
function endedRemotely(msg) {
  if (state.submitting || state.step !== "exam") return;
  state.submitting = true;
  clearInterval(state.timer);
  state.stopSignals?.();
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  say($("done-text"), "done.ended", { reason: msg.reason || "" });
  show("done");
  state.live.close();
  state.stream.getTracks().forEach((tr) => tr.stop());
}

function askSubmit() {
  // an in-page dialog (a window.confirm() box would take the focus away: a false "left the window" signal)
  const dlg = $("confirm-submit");
  if (dlg.showModal) dlg.showModal(); else submit();
}

async function submit() {
  if (state.submitting) return;
  state.submitting = true;
  $("submit-btn").disabled = true;
  try {
    state.attempt = await api(`/api/student/attempts/${state.attempt.id}/submit`, { method: "POST" });
  } catch (err) {
    state.submitting = false;
    $("submit-btn").disabled = false;
    addWarning({ code: "exam.save_error" });
    return;
  }
  clearInterval(state.timer);
  state.stopSignals?.();
  state.live.send({ type: "exam_state", state: "submitted" });
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  show("done");
  // the server closes the session once it has stored the last events; then the camera can stop
  const stop = () => { state.live.close(); state.stream.getTracks().forEach((tr) => tr.stop()); };
  state.live.addEventListener("exam_state", (e) => { if (e.detail.state === "finished") stop(); });
  setTimeout(stop, 30000);
}

// ---- wiring --------------------------------------------------------------------------------------------
document.addEventListener("DOMContentLoaded", () => {
  initLang(renderQuestions);
  applyTexts();
  $("signin-form").addEventListener("submit", signIn);
  $("consent-btn").addEventListener("click", () => consent().catch((e) => say($("consent-error"), "conn.failed", { error: e.message }, "error")));
  $("devices-start").addEventListener("click", startDevices);
  $("devices-btn").addEventListener("click", afterDevices);
  $("take-photo").addEventListener("click", takePhoto);
  $("upload-photo").addEventListener("change", (e) => { const f = e.target.files[0]; if (f) enrolBlob(f, f.name); });
  $("check-face").addEventListener("click", checkFace);
  $("identity-btn").addEventListener("click", () => show("room"));
  $("room-start").addEventListener("click", roomStart);
  $("room-finish").addEventListener("click", roomFinish);
  $("rescan-start").addEventListener("click", rescanStart);
  $("rescan-finish").addEventListener("click", rescanFinish);
  $("room-btn").addEventListener("click", () => startExam().catch((e) => addWarning({ code: "conn.failed" })));
  $("submit-btn").addEventListener("click", askSubmit);
  $("confirm-yes").addEventListener("click", () => { $("confirm-submit").close(); submit(); });
  $("confirm-no").addEventListener("click", () => $("confirm-submit").close());
  $("fullscreen-btn").addEventListener("click", () => document.documentElement.requestFullscreen?.().catch(() => {}));
  show("signin");
});
