"""The end-to-end run in headless Debian Firefox ESR, inside a loopback-only network namespace: the whole server
(as in scenario_browser.py, the Chromium run) and Firefox driven over its built-in Marionette protocol by
Mozilla's Python client (marionette_driver, from PyPI).

Firefox cannot use a file as its camera, so the test converts a real webcam clip and a real sound file into one
WebM (VP8 + Opus), serves it at /test-camera/clip.webm, and installs a temporary add-on (firefox_camera/) whose
content script runs in the page before the page's own scripts and makes getUserMedia return the captureStream()
of a hidden <video> playing that clip. Everything after getUserMedia is the browser's own: WebRTC to the server,
the data channel, the audio level meter, canvas snapshots, the dialog, the reload.

A student signs in, consents, checks the devices, enrols with a photo taken from the live video, is checked,
scans the room, answers the demo exam (with tab/full-screen/copy/devtools signals and a dropped connection in the
middle), reloads the page, and submits. A screenshot of every step goes to SHOTS_DIR/firefox_NN-step.png; what the
page saw goes to OUT/result.json.

    python tests/live/scenario_firefox.py OUT_DIR SHOTS_DIR VIDEO AUDIO
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.live.e2e_site import DEMO_STUDENT, proctor_confirms_room, proctor_writes, serve_and_run  # noqa: E402
from tests.live.netns import enter_loopback_netns  # noqa: E402

FIREFOX = os.environ.get("PROCTOR_FIREFOX", "/usr/bin/firefox-esr")
CAMERA_ADDON = Path(__file__).resolve().parent / "firefox_camera"
CLIP_ROUTE = "/test-camera"  # camera.js plays CLIP_ROUTE/clip.webm

# What the Chromium run sets with its command-line flags, as Firefox preferences: media may play without a click;
# getUserMedia has Firefox's fake camera and microphone (the add-on passes the page's constraints to it, then gives
# the page the clip); WebRTC may use the loopback interface; Firefox's own stand-in for a sound card (this machine
# has none: without it Web Audio never starts, so the page's level meter could not move); the page's console goes
# to gecko.log.
FIREFOX_PREFS = {
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    "media.navigator.streams.fake": True,
    "media.peerconnection.ice.loopback": True,
    "media.cubeb.force_mock_context": True,
    "intl.accept_languages": "en-US",
    "devtools.console.stdout.content": True,
    "devtools.console.stdout.chrome": False,  # only the page's messages
}


def clip_webm(video: Path, audio: Path, out: Path, fps: int = 15) -> Path:
    """The clip the fake camera plays: the video's frames at ``fps`` (VP8) with the sound file looped over the
    clip's length (Opus, 48 kHz mono), in a WebM Firefox plays natively."""
    import av
    import numpy as np

    from proctor.media import iter_video_frames

    frames = []
    next_t = 0.0
    for f in iter_video_frames(video):
        if f.t + 1e-6 >= next_t:
            frames.append(f.rgb)
            next_t += 1.0 / fps
    if not frames:
        raise ValueError(f"{video}: no frames")
    h, w = frames[0].shape[:2]
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
    pcm = []
    with av.open(str(audio)) as src:
        for frame in src.decode(audio=0):
            pcm.extend(r.to_ndarray().reshape(-1) for r in resampler.resample(frame))
    pcm.extend(r.to_ndarray().reshape(-1) for r in resampler.resample(None))
    samples = np.resize(np.concatenate(pcm), round(len(frames) / fps * 48000)).astype(np.int16)

    with av.open(str(out), "w", format="webm") as dst:
        vs = dst.add_stream("libvpx", rate=fps)
        vs.width, vs.height, vs.pix_fmt, vs.bit_rate = w, h, "yuv420p", 1_000_000
        aus = dst.add_stream("libopus", rate=48000, layout="mono")
        for n, rgb in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            vf.pts, vf.time_base = n, Fraction(1, fps)
            for packet in vs.encode(vf):
                dst.mux(packet)
        for packet in vs.encode(None):
            dst.mux(packet)
        for k in range(0, len(samples), 960):
            af = av.AudioFrame.from_ndarray(samples[None, k:k + 960], format="s16", layout="mono")
            af.sample_rate, af.pts, af.time_base = 48000, k, Fraction(1, 48000)
            for packet in aus.encode(af):
                dst.mux(packet)
        for packet in aus.encode(None):
            dst.mux(packet)
    return out


class Page:
    """The few things the flow does, over Marionette: scripts run in the page's own global (``sandbox=None``, so
    ``window.proctorPage`` is the page's object), clicks and typing are WebDriver element interactions (real
    input events, not synthetic DOM events), waits poll a JavaScript condition."""

    def __init__(self, m, shots: Path):
        self.m, self.shots, self.n = m, shots, 0
        self.timeline: list[dict] = []

    def js(self, expr: str, *args):
        return self.m.execute_script(f"return ({expr});", script_args=args, sandbox=None)

    def run(self, body: str, *args):
        return self.m.execute_script(body, script_args=args, sandbox=None)

    def el(self, css: str):
        from marionette_driver.by import By

        return self.m.find_element(By.CSS_SELECTOR, css)

    def click(self, css: str) -> None:
        self.el(css).click()

    def type(self, css: str, text: str) -> None:
        e = self.el(css)
        e.clear()
        e.send_keys(text)

    def text(self, css: str) -> str:
        return self.js("document.querySelector(arguments[0]).textContent", css)

    def wait(self, expr: str, timeout: float = 20.0, what: str = ""):
        from marionette_driver.wait import Wait

        return Wait(self.m, timeout=timeout, interval=0.1).until(
            lambda _: self.js(expr), message=what or f"waiting for {expr}")

    def keys(self, *chords: tuple[str, ...]) -> None:
        """Press each chord (modifiers first), releasing its keys in reverse order."""
        for chord in chords:
            seq = self.m.actions.sequence("key", "keyboard")
            for k in chord:
                seq.key_down(k)
            for k in reversed(chord):
                seq.key_up(k)
            seq.perform()

    def shot(self, name: str) -> None:
        self.n += 1
        path = self.shots / f"firefox_{self.n:02d}-{name}.png"
        path.write_bytes(self.m.screenshot(format="binary", full=True))
        self.timeline.append({"step": name, "t": time.monotonic(), "screenshot": path.name})


def retry_until(p: Page, click: str, done_js: str, tries: int, pause: float, wait_s: float = 20.0) -> int:
    """Click ``click`` until ``done_js`` is true; each click waits for its answer first (``data-i18n`` set)."""
    for n in range(1, tries + 1):
        p.click(click)
        p.wait("!document.querySelector('#identity-result').dataset.i18n?.match(/enrolling|checking/)", wait_s)
        if p.js(done_js):
            return n
        time.sleep(pause)
    err = AssertionError(f"{click}: not done after {tries} tries: {p.text('#identity-result')}")
    err.identity_results = p.js("window.proctorPage.identityResults || []")
    raise err


def sign_in(p: Page) -> None:
    p.type("#email", DEMO_STUDENT[0])
    p.type("#password", DEMO_STUDENT[1])


def console_lines(gecko_log: Path) -> list[str]:
    """The page's console messages and script errors, from gecko.log (devtools.console.stdout.content)."""
    if not gecko_log.is_file():
        return []
    return [ln[:300] for ln in gecko_log.read_text(errors="replace").splitlines()
            if ln.startswith("console.") or "http://127.0.0.1" in ln][-200:]


def grant_camera_and_microphone(m, origin: str) -> None:
    """The student allowed this site to use the camera and microphone and Firefox remembers it (what its
    permission prompt's "remember" does). With the clip in place of a real capture nothing else tells Firefox the
    page may use them, and without that Firefox offers WebRTC only the default route's address, of which the
    loopback-only namespace has none: ICE would fail at once."""
    with m.using_context(m.CONTEXT_CHROME):
        m.execute_script("""
            const principal = Services.scriptSecurityManager.createContentPrincipalFromOrigin(arguments[0]);
            for (const type of ["camera", "microphone"]) {
              Services.perms.addFromPrincipal(principal, type, Services.perms.ALLOW_ACTION);
            }""", script_args=[origin])


def run_page(base: str, profile_dir: Path, shots: Path) -> dict:
    """The whole flow, synchronously (marionette_driver is a blocking client: this runs in a thread beside the
    server's event loop)."""
    from marionette_driver.addons import Addons
    from marionette_driver.marionette import Marionette

    gecko_log = profile_dir / "gecko.log"
    result: dict = {}
    p = None
    m = Marionette(bin=FIREFOX, headless=True, port=0, prefs=FIREFOX_PREFS, gecko_log=str(gecko_log),
                   workspace=str(profile_dir), startup_timeout=120)
    try:
        caps = m.start_session()
        result["browser"] = {"name": caps.get("browserName"), "version": caps.get("browserVersion")}
        result["addon"] = Addons(m).install(str(CAMERA_ADDON), temp=True)
        grant_camera_and_microphone(m, base)
        m.set_window_rect(width=1200, height=900)
        p = Page(m, shots)
        flow(p, base, result)
        result["timeline"] = p.timeline
    except Exception as exc:
        try:  # what the page showed when it went wrong
            (shots / "firefox_failed.png").write_bytes(m.screenshot(format="binary", full=True))
        except Exception:  # noqa: BLE001 - the browser may be gone: the error itself is what matters
            pass
        exc.seen = {**result, "timeline": p.timeline if p else [], "console": console_lines(gecko_log)}
        raise
    finally:
        result["console"] = console_lines(gecko_log)
        m.cleanup()
    return result


def flow(p: Page, base: str, result: dict) -> None:
    """The student's way through the page; what it saw goes into ``result`` as it goes."""
    from marionette_driver.keys import Keys

    p.m.navigate(f"{base}/student/")
    # the page speaks three languages: switch to each (choosing the option as a person would) and back
    result["titles"] = {}
    for lang in ("kk", "ru", "en"):
        p.click(f"#lang option[value='{lang}']")
        p.wait(f"document.querySelector('#lang').value === '{lang}'")
        result["titles"][lang] = p.text("#signin-h")
    sign_in(p)
    p.shot("signin")
    p.click("#signin-btn")
    p.wait("!document.querySelector('#consent').hidden")
    # the camera must not start before consent
    result["camera_before_consent"] = p.js("!!window.proctorPage.stream")
    p.click("#consent-btn")  # without ticking: refused with a message
    result["consent_refused"] = p.text("#consent-error")
    p.click("#agree")
    p.shot("consent")
    p.click("#consent-btn")
    p.wait("!document.querySelector('#devices').hidden")
    p.click("#devices-start")
    p.wait("!document.querySelector('#devices-btn').disabled", 20, "the camera preview did not start playing")
    levels = []
    for _ in range(15):  # the level meter follows the sound (sampled over 1.5 s: speech has its pauses)
        time.sleep(0.1)
        levels.append(p.js("document.querySelector('#level').value"))
    result["audio_levels"] = levels
    result["audio_context"] = p.js("window.proctorPage.audio.state")
    result["camera"] = p.js("window.__cameraClip || null")
    result["preview"] = p.js("""(() => { const v = document.querySelector('#preview');
        return {w: v.videoWidth, h: v.videoHeight, tracks: window.proctorPage.stream.getTracks().map(t => t.kind)}; })()""")
    p.shot("devices")
    p.click("#devices-btn")

    # identity: enrol from the camera (retried until the photo holds exactly one usable face), then check
    p.wait("document.querySelector('#identity-conn').classList.contains('ok')", 30, "WebRTC did not connect")
    t0 = time.monotonic()
    p.wait("document.querySelector('#enrol-state').dataset.i18n")
    result["enrol_tries"] = retry_until(p, "#take-photo", "window.proctorPage.enrolled", 40, 0.4)
    result["identity_results"] = p.js("window.proctorPage.identityResults || []")
    result["check_tries"] = retry_until(p, "#check-face", "!document.querySelector('#identity-btn').disabled", 8, 0.2,
                                        wait_s=40)
    result["identity_s"] = time.monotonic() - t0
    result["identity_text"] = p.text("#identity-result")
    p.shot("identity")
    p.click("#identity-btn")

    # room scan: the server asks, the student turns, the scan is recorded
    p.wait("!document.querySelector('#room-start').disabled")
    result["room_request"] = p.text("#room-instructions")
    p.click("#room-start")
    time.sleep(1.0)
    p.shot("room-scan")
    p.wait("!document.querySelector('#room-finish').disabled", 30)
    p.click("#room-finish")
    p.wait("!document.querySelector('#room-btn').disabled")
    result["room_result"] = p.js("window.proctorPage.roomResult")
    result["room_guide"] = p.js("""({progress: window.proctorPage.scanProgress || null,
        shown: !document.querySelector('#room-guide').hidden, text: document.querySelector('#room-turn').textContent,
        bar: document.querySelector('#room-progress').value})""")
    result["room_done_text"] = p.text("#room-done")
    if not result["room_result"]["passed"]:
        # the camera clip does not turn round the room, so the scan fails (the page says why); a proctor
        # confirms the room by hand (the backend's manual check), then the student can start
        result["room_confirmed_by_proctor"] = asyncio.run(proctor_confirms_room(base, p.js("window.proctorPage.attempt.id")))
    p.click("#room-btn")

    # the exam
    p.wait("document.querySelector('#questions fieldset.q')")
    qs = p.js("window.proctorPage.questions.map(q => ({id: q.id, kind: q.kind}))")
    result["questions"] = qs
    for q in qs[:2]:
        p.click(f"fieldset[data-qid='{q['id']}'] label.check:nth-of-type(2) input")
    # browser signals: leaving the window, copy, devtools shortcut, leaving full screen
    p.run("window.dispatchEvent(new Event('blur'))")
    time.sleep(1.2)
    p.run("window.dispatchEvent(new Event('focus'))")
    p.run("""const r = document.createRange(); r.selectNodeContents(document.querySelector('.prompt'));
        const s = getSelection(); s.removeAllRanges(); s.addRange(r);""")
    p.keys((Keys.CONTROL, "c"), (Keys.F12,))
    # startExam asks for full screen itself; if the browser refused (no user activation left), the page's own
    # button does it with a real click
    result["fullscreen_at_start"] = p.js("!!document.fullscreenElement")
    if not result["fullscreen_at_start"]:
        p.click("#fullscreen-btn")
    try:
        p.wait("!!document.fullscreenElement", 5)
        result["fullscreen"] = True
    except Exception as exc:  # noqa: BLE001 - recorded: the test then does not expect fullscreen_exit
        result["fullscreen"] = f"not full screen: {exc}"
    time.sleep(0.5)
    p.run("document.exitFullscreen().catch(() => {})")
    p.wait("!document.fullscreenElement", 5)
    time.sleep(3.0)

    # the connection drops mid-exam; the student goes on answering and copying; it comes back
    drop_at = time.monotonic()
    p.run("window.proctorPage.live.drop(4000)")
    p.wait("!document.querySelector('#conn').hidden")
    p.shot("connection-lost")
    text_q = [q for q in qs if q["kind"] == "short_text"]
    if text_q:
        p.type(f"#q{text_q[0]['id']}-text", "def")
        p.keys((Keys.TAB,))
    p.run("document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: new DataTransfer()}))")
    p.wait("document.querySelector('#conn').dataset.i18n === 'conn.back'", 40, "the connection did not come back")
    result["restored_after_s"] = time.monotonic() - drop_at
    # a proctor writes to the student (review API); the note appears beside the questions
    sid = p.js("window.proctorPage.attempt.proctoring_session_id")
    result["proctor_message"] = asyncio.run(proctor_writes(base, sid, "Please keep your hands visible."))
    p.wait("[...document.querySelectorAll('#warnings li')].some(li => li.textContent.includes('hands visible'))", 10)
    time.sleep(6.0)  # let the analysis see the clip after the reconnection
    result["warnings"] = p.js("[...document.querySelectorAll('#warnings li')].map(li => li.dataset.kind || li.dataset.i18n)")
    p.shot("exam")
    p.wait("[...document.querySelectorAll('.save-state')].filter(e => e.dataset.saved).length >= 3", 10,
           "the answers were not all saved")

    # the student reloads the page mid-exam: signs in again and is back at the questions, answers kept
    p.m.refresh()
    sign_in(p)
    p.click("#signin-btn")
    p.wait("!document.querySelector('#consent').hidden")
    p.click("#agree")
    p.click("#consent-btn")
    p.wait("!document.querySelector('#devices').hidden")
    p.click("#devices-start")
    p.wait("!document.querySelector('#devices-btn').disabled")
    p.click("#devices-btn")
    p.wait("document.querySelector('#questions fieldset.q')", 30)
    result["answers_after_reload"] = p.js("window.proctorPage.questions.map(q => q.response)")
    time.sleep(3.0)
    p.shot("exam-after-reload")
    p.click("#submit-btn")
    p.wait("document.querySelector('#confirm-submit').open", 5)
    p.click("#confirm-no")  # changed their mind: nothing is submitted
    result["submitted_early"] = p.js("!!window.proctorPage.submitting")
    p.click("#submit-btn")
    p.wait("document.querySelector('#confirm-submit').open", 5)
    p.click("#confirm-yes")
    p.wait("!document.querySelector('#done').hidden")
    p.wait("window.proctorPage.examState === 'finished'", 60, "the server did not finish the session")
    p.shot("done")
    result["attempt"] = p.js("window.proctorPage.attempt")


async def main(out_dir: Path, shots: Path, video: Path, audio: Path) -> None:
    from fastapi.staticfiles import StaticFiles

    media = out_dir / "camera"
    media.mkdir(parents=True, exist_ok=True)
    clip_webm(video, audio, media / "clip.webm")
    profile_dir = out_dir / "firefox"
    profile_dir.mkdir(exist_ok=True)

    def add_clip_route(app) -> None:
        app.mount(CLIP_ROUTE, StaticFiles(directory=media), name="test-camera")

    await serve_and_run(out_dir, lambda base: asyncio.to_thread(run_page, base, profile_dir, shots),
                        prepare_app=add_clip_route)


if __name__ == "__main__":
    enter_loopback_netns()
    out, shots_dir = Path(sys.argv[1]), Path(sys.argv[2])
    shots_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(out, shots_dir, Path(sys.argv[3]), Path(sys.argv[4])))
