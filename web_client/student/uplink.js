// The camera stream fitted to the student's uplink. Every 2 s the page reads the connection's estimate of what
// it can send (getStats: the candidate pair's availableOutgoingBitrate, the video sender's own rate and why the
// encoder is limited) and moves along a ladder of settings with RTCRtpSender.setParameters: first a lower bit
// rate at full size, then half the resolution (scaleResolutionDownBy 2: 320x240), then fewer frames. The order
// follows benchmarks/bench_bitrate.py: at 150 kbit/s the engine keeps more identity matches at 320x240 and
// 15 fps than at 640x480, and frame rate costs head-pose accuracy, so it goes last. Below the last rung the
// student is told that the connection is too poor for a fair exam.

export const LADDER = [
  { name: "full", minKbps: 400, scale: 1, fps: 15, maxKbps: 500 },
  { name: "reduced_rate", minKbps: 250, scale: 1, fps: 15, maxKbps: 300 },
  { name: "half_size", minKbps: 150, scale: 2, fps: 15, maxKbps: 200 },
  { name: "half_size_10fps", minKbps: 100, scale: 2, fps: 10, maxKbps: 150 },
];
export const TOO_POOR_KBPS = 100; // under this for TOO_POOR_S the exam cannot be proctored fairly
export const TOO_POOR_S = 10;
const UP_AFTER_S = 10; // a step up only after the uplink held the higher rung this long
export const WARMUP_S = 6; // Chromium's estimate starts low and ramps up: the first seconds are not judged
const HEADROOM = 1.2; // ... with this much to spare

// Pure: the next state from the current one and a sample {t (s since the connection opened), kbps: the estimated
// uplink (kbit/s) or null}, given the server's ceiling for the camera (kbit/s, the answer's b=AS; null if none).
// An estimate at the server's ceiling says what the server allows, not what the uplink can do: it counts as full.
// state: {level, since (s, when the level was set), goodSince (s or null), poorSince (s or null), tooPoor}
export function nextState(state, sample, ceilingKbps = null) {
  const s = { ...state };
  if (sample.kbps === null || sample.kbps === undefined || Number.isNaN(sample.kbps) || sample.t < WARMUP_S) return s;
  let k = sample.kbps;
  if (ceilingKbps && k >= 0.9 * ceilingKbps) k = Math.max(k, LADDER[0].minKbps * HEADROOM);
  // the highest rung this estimate supports
  let fit = LADDER.findIndex((r) => k >= r.minKbps);
  if (fit === -1) fit = LADDER.length - 1;
  if (fit > s.level) { // worse: step down at once, to the rung that fits
    s.level = fit; s.since = sample.t; s.goodSince = null;
  } else if (fit < s.level) { // better: one step up, once it held with headroom for a while
    const up = LADDER[s.level - 1];
    if (k >= up.minKbps * HEADROOM) {
      if (s.goodSince === null) s.goodSince = sample.t;
      if (sample.t - s.goodSince >= UP_AFTER_S) { s.level -= 1; s.since = sample.t; s.goodSince = null; }
    } else s.goodSince = null;
  } else s.goodSince = null;
  if (k < TOO_POOR_KBPS) {
    if (s.poorSince === null) s.poorSince = sample.t;
    s.tooPoor = sample.t - s.poorSince >= TOO_POOR_S;
  } else { s.poorSince = null; s.tooPoor = false; }
  return s;
}

export function initialState() { return { level: 0, since: 0, goodSince: null, poorSince: null, tooPoor: false }; }

// The encoding a rung asks for (never above the server's ceiling).
export function encodingFor(level, ceilingKbps = null) {
  const r = LADDER[level];
  const kbps = ceilingKbps ? Math.min(r.maxKbps, ceilingKbps) : r.maxKbps;
  return { scaleResolutionDownBy: r.scale, maxFramerate: r.fps, maxBitrate: kbps * 1000 };
}

// The server's ceiling for the camera from its answer: b=AS (kbit/s) or b=TIAS (bit/s) of the video section.
export function ceilingFromSdp(sdp) {
  const video = (sdp || "").split(/\r?\nm=/).find((sec) => sec.startsWith("video") || sec.startsWith("m=video"));
  if (!video) return null;
  const as = video.match(/\r?\nb=AS:(\d+)/);
  if (as) return Number(as[1]);
  const tias = video.match(/\r?\nb=TIAS:(\d+)/);
  return tias ? Number(tias[1]) / 1000 : null;
}

// Reads getStats: the estimate of the uplink (kbit/s) and what the video sender is doing.
export async function sampleStats(pc, sender, last) {
  const report = await pc.getStats();
  let available = null, bytes = null, ts = null, limitation = null, width = null, fps = null;
  report.forEach((r) => {
    if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded" && r.availableOutgoingBitrate !== undefined) {
      available = r.availableOutgoingBitrate / 1000;
    }
    if (r.type === "outbound-rtp" && r.kind === "video") {
      bytes = r.bytesSent; ts = r.timestamp; limitation = r.qualityLimitationReason || null;
      width = r.frameWidth ?? null; fps = r.framesPerSecond ?? null;
    }
  });
  const sending = last && bytes !== null && ts > last.ts ? ((bytes - last.bytes) * 8) / (ts - last.ts) : null; // kbit/s (ts in ms)
  return { available, sending, limitation, width, fps, bytes, ts };
}

// Watches one connection's video sender and applies the ladder. Events: "change" {level, rung, kbps},
// "poor" {tooPoor}. Stops when the connection closes.
export class UplinkAdapter extends EventTarget {
  constructor(pc, sender, { intervalMs = 2000 } = {}) {
    super();
    this.pc = pc; this.sender = sender; this.intervalMs = intervalMs;
    this.state = initialState(); this.last = null; this.t0 = performance.now(); this.samples = [];
    this.timer = null; this.applied = null;
    this.ceilingKbps = ceilingFromSdp(pc.remoteDescription?.sdp);
  }

  start() {
    this.apply(this.state.level);
    this.timer = setInterval(() => this.tick().catch(() => {}), this.intervalMs);
    return this;
  }

  stop() { clearInterval(this.timer); this.timer = null; }

  async tick() {
    if (["closed", "failed"].includes(this.pc.connectionState)) { this.stop(); return; }
    const st = await sampleStats(this.pc, this.sender, this.last);
    this.last = st;
    // the estimate: what the connection says it can carry; while the encoder is held back by bandwidth, what it
    // actually manages to send is the better guide
    let kbps = st.available;
    if (st.limitation === "bandwidth" && st.sending !== null) kbps = kbps === null ? st.sending : Math.min(kbps, st.sending * 1.1);
    const t = (performance.now() - this.t0) / 1000;
    this.samples.push({ t, kbps, sending: st.sending, width: st.width, fps: st.fps, limitation: st.limitation });
    if (this.samples.length > 60) this.samples.shift();
    this.update({ t, kbps });
  }

  update(sample) {
    const before = this.state;
    this.state = nextState(before, sample, this.ceilingKbps);
    if (this.state.level !== before.level) {
      this.apply(this.state.level);
      this.dispatchEvent(new CustomEvent("change", { detail: { level: this.state.level, rung: LADDER[this.state.level].name, kbps: sample.kbps } }));
    }
    if (this.state.tooPoor !== before.tooPoor) this.dispatchEvent(new CustomEvent("poor", { detail: { tooPoor: this.state.tooPoor, kbps: sample.kbps } }));
  }

  apply(level) {
    const params = this.sender.getParameters();
    if (!params.encodings || !params.encodings.length) params.encodings = [{}];
    Object.assign(params.encodings[0], encodingFor(level, this.ceilingKbps));
    this.applied = { level, ...encodingFor(level, this.ceilingKbps) };
    return this.sender.setParameters(params).catch(() => {});
  }
}
