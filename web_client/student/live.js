// The proctoring connection: camera + microphone to the server over WebRTC, and the data channel both ways.
// A dropped connection is re-established with the same session id (the server resumes the session); messages
// sent while it is down wait in a queue and go out once the data channel is open again.

const OFFER_TIMEOUT_MS = 20000;
const GATHER_TIMEOUT_MS = 5000;

function waitForIceGathering(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { pc.removeEventListener("icegatheringstatechange", check); clearTimeout(timer); resolve(); };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

// The camera's sender, as the server's config asks (GET /api/live/config: video.frame_rate and
// video.scalability_mode). A browser that refuses the temporal layers sends one layer, which the server takes too.
function addCamera(pc, track, stream, video) {
  const encoding = { maxFramerate: video.frame_rate || 15 };
  if (video.scalability_mode) {
    try {
      return pc.addTransceiver(track, { direction: "sendonly", streams: [stream],
        sendEncodings: [{ ...encoding, scalabilityMode: video.scalability_mode }] });
    } catch { /* not supported: below, one layer */ }
  }
  return pc.addTransceiver(track, { direction: "sendonly", streams: [stream], sendEncodings: [encoding] });
}

export class LiveConnection extends EventTarget {
  constructor({ sessionId, stream, token, video = {} }) {
    super();
    this.sessionId = sessionId;
    this.stream = stream;
    this.token = token;
    this.video = video;
    this.pc = null;
    this.channel = null;
    this.queue = [];
    this.closed = false;
    this.reconnecting = false;
    this.attempt = 0;
    this.connections = 0;
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  async connect() {
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    for (const track of this.stream.getTracks()) {
      if (track.kind !== "video") {
        pc.addTransceiver(track, { direction: "sendonly", streams: [this.stream] });
        continue;
      }
      const tr = addCamera(pc, track, this.stream, this.video);
      if (RTCRtpSender.getCapabilities) {
        const codecs = RTCRtpSender.getCapabilities("video").codecs;
        const vp8 = codecs.filter((c) => /vp8|rtx/i.test(c.mimeType));
        if (vp8.length && tr.setCodecPreferences) tr.setCodecPreferences(vp8);
      }
    }
    const channel = pc.createDataChannel("proctor");
    this.channel = channel;
    channel.onopen = () => {
      const pending = this.queue.splice(0);
      for (const m of pending) channel.send(m);
      this.emit("open", { connections: ++this.connections });
    };
    channel.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      this.emit("message", msg);
      this.emit(msg.type, msg);
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      if (pc.connectionState === "failed" || pc.connectionState === "closed") this.lost(pc.connectionState);
      if (pc.connectionState === "disconnected") {
        setTimeout(() => { if (pc === this.pc && pc.connectionState === "disconnected") this.lost("disconnected"); }, 3000);
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc);
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), OFFER_TIMEOUT_MS);
    let r;
    try {
      r = await fetch(`/api/live/sessions/${encodeURIComponent(this.sessionId)}/offer`, {
        method: "POST", signal: ctrl.signal,
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${this.token}` },
        body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type }),
      });
    } finally { clearTimeout(timer); }
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      const err = new Error(body.error?.message || `HTTP ${r.status}`);
      err.status = r.status;
      pc.close();
      throw err;
    }
    const answer = await r.json();
    await pc.setRemoteDescription(answer);
    this.attempt = 0;
  }

  lost(reason) {
    if (this.closed || this.reconnecting) return;
    this.reconnecting = true;
    this.emit("lost", { reason });
    const old = this.pc;
    this.pc = null; this.channel = null;
    try { old && old.close(); } catch { /* already closed */ }
    this.reconnectLoop();
  }

  async reconnectLoop(delayMs = 500) {
    await new Promise((r) => setTimeout(r, delayMs));
    while (!this.closed) {
      try {
        await this.connect();
        this.reconnecting = false;
        this.emit("restored", {});
        return;
      } catch (err) {
        if (err.status && err.status >= 400 && err.status < 500 && err.status !== 409) {
          this.emit("failed", { error: err.message });  // not ours / unknown: retrying will not help
          this.reconnecting = false;
          return;
        }
        if (err.status === 409 && /ended|finished|error/.test(err.message)) {
          this.emit("failed", { error: err.message });
          this.reconnecting = false;
          return;
        }
        this.attempt += 1;
        await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** this.attempt)));
      }
    }
  }

  send(message) {
    const raw = JSON.stringify(message);
    if (this.channel && this.channel.readyState === "open") this.channel.send(raw);
    else this.queue.push(raw);
  }

  // Test hook: close the peer connection as a network drop would, and reconnect after `ms`.
  drop(ms = 3000) {
    if (!this.pc) return;
    this.reconnecting = true;
    this.emit("lost", { reason: "dropped" });
    const old = this.pc;
    this.pc = null; this.channel = null;
    old.close();
    this.reconnectLoop(ms);
  }

  close() {
    this.closed = true;
    if (this.pc) this.pc.close();
  }
}
