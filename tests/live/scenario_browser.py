"""The end-to-end run, inside a loopback-only network namespace: the whole server (create_app: migrations, demo
data, live exams) on uvicorn, and headless Debian Chromium whose camera and microphone are real files.
A student signs in, consents, checks the devices, enrols, is checked, scans the room, answers the demo exam
(with tab/full-screen/copy/devtools signals and a dropped connection in the middle) and submits.
A screenshot of every step goes to the artifacts folder; what the page saw goes to OUT/result.json.

    python tests/live/scenario_browser.py OUT_DIR SHOTS_DIR VIDEO.mjpeg AUDIO.wav [REFERENCE_FRAME_T]

With REFERENCE_FRAME_T the student's reference photo is the clip's frame at that time, uploaded through the page
(as a college's photo would be); otherwise the student takes it with the camera.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.live.e2e_site import (  # noqa: E402
    DEMO_STUDENT, proctor_confirms_room, proctor_writes, serve_and_run, student_browser, student_reaches_device_check,
)
from tests.browsers import await_until  # noqa: E402
from tests.live.netns import enter_loopback_netns  # noqa: E402


class Steps:
    def __init__(self, page, shots: Path):
        self.page, self.shots, self.n = page, shots, 0
        self.timeline: list[dict] = []

    async def shot(self, name: str) -> None:
        self.n += 1
        path = self.shots / f"{self.n:02d}-{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        self.timeline.append({"step": name, "t": time.monotonic(), "screenshot": path.name})


async def retry_until(page, click: str, done_js: str, tries: int, pause: float, wait_s: float = 20.0) -> int:
    """Click ``click`` until ``done_js`` is true; each click waits for its answer first (``data-i18n`` set)."""
    for n in range(1, tries + 1):
        await page.click(click)
        await await_until(
            page, "() => !document.querySelector('#identity-result').dataset.i18n?.match(/enrolling|checking/)", wait_s)
        if await page.evaluate(done_js):
            return n
        await asyncio.sleep(pause)
    said = await page.text_content("#identity-result")
    err = AssertionError(f"{click}: not done after {tries} tries: {said}")
    err.identity_results = await page.evaluate("window.proctorPage.identityResults || []")
    raise err


async def run_page(base: str, video: Path, audio: Path, shots: Path, reference: Path | None) -> dict:
    from playwright.async_api import async_playwright

    result: dict = {"console": []}
    async with async_playwright() as p:
        browser, page = await student_browser(p, base, video, audio, result["console"])
        steps = Steps(page, shots)

        await page.goto(f"{base}/student/")
        # the page speaks three languages: switch to each and back
        result["titles"] = {}
        for lang in ("kk", "ru", "en"):
            await page.select_option("#lang", lang)
            result["titles"][lang] = await page.text_content("#signin-h")
        await page.fill("#email", DEMO_STUDENT[0])
        await page.fill("#password", DEMO_STUDENT[1])
        await steps.shot("signin")
        await page.click("#signin-btn")
        await page.wait_for_selector("#consent:not([hidden])")
        # the camera must not start before consent
        result["camera_before_consent"] = await page.evaluate("!!window.proctorPage.stream")
        await page.click("#consent-btn")  # without ticking: refused with a message
        result["consent_refused"] = await page.text_content("#consent-error")
        await page.check("#agree")
        await steps.shot("consent")
        await page.click("#consent-btn")
        await page.wait_for_selector("#devices:not([hidden])")
        await page.click("#devices-start")
        await page.wait_for_selector("#devices-btn:not([disabled])", timeout=20000)
        await asyncio.sleep(1.0)  # let the level meter move
        result["audio_level"] = await page.evaluate("document.querySelector('#level').value")
        await steps.shot("devices")
        await page.click("#devices-btn")

        # identity: enrol from the camera (retried until the photo holds exactly one usable face), then check
        await page.wait_for_selector("#identity-conn.ok", timeout=30000)
        t0 = time.monotonic()
        await page.wait_for_selector("#enrol-state[data-i18n]", timeout=20000)
        if reference is not None:  # a reference photo the college holds, uploaded through the page
            await page.set_input_files("#upload-photo", str(reference))
            await await_until(page, "window.proctorPage.enrolled === true", 60)
            result["enrol_tries"] = 0
        else:  # taken now from the camera, until the picture holds exactly one usable face
            result["enrol_tries"] = await retry_until(page, "#take-photo", "window.proctorPage.enrolled", 40, 0.4)
        result["identity_results"] = await page.evaluate("window.proctorPage.identityResults || []")
        result["check_tries"] = await retry_until(
            page, "#check-face", "!document.querySelector('#identity-btn').disabled", 8, 0.2, wait_s=40)
        result["identity_s"] = time.monotonic() - t0
        result["identity_text"] = await page.text_content("#identity-result")
        await steps.shot("identity")
        await page.click("#identity-btn")

        # room scan: the server asks, the student turns, the scan is recorded
        await page.wait_for_selector("#room-start:not([disabled])", timeout=20000)
        result["room_request"] = await page.text_content("#room-instructions")
        await page.click("#room-start")
        await asyncio.sleep(1.0)
        await steps.shot("room-scan")
        await page.wait_for_selector("#room-finish:not([disabled])", timeout=30000)
        await page.click("#room-finish")
        await page.wait_for_selector("#room-btn:not([disabled])", timeout=20000)
        result["room_result"] = await page.evaluate("window.proctorPage.roomResult")
        result["room_guide"] = await page.evaluate("""() => ({progress: window.proctorPage.scanProgress || null,
            shown: !document.querySelector('#room-guide').hidden, text: document.querySelector('#room-turn').textContent,
            bar: document.querySelector('#room-progress').value})""")
        result["room_done_text"] = await page.text_content("#room-done")
        if not result["room_result"]["passed"]:
            # this camera clip does not turn round the room, so the scan fails (the page says why); a proctor
            # confirms the room by hand (the backend's manual check), then the student can start
            aid = await page.evaluate("window.proctorPage.attempt.id")
            result["room_confirmed_by_proctor"] = await proctor_confirms_room(base, aid)
        await page.click("#room-btn")

        # the exam
        await page.wait_for_selector("#questions fieldset.q", timeout=20000)
        qs = await page.evaluate("window.proctorPage.questions.map(q => ({id: q.id, kind: q.kind}))")
        result["questions"] = qs
        for q in qs[:2]:
            await page.check(f"fieldset[data-qid='{q['id']}'] input >> nth=1")
        await page.wait_for_selector("#exam-h")
        # browser signals: leaving the window, copy, devtools shortcut, leaving full screen
        await page.evaluate("window.dispatchEvent(new Event('blur'))")
        await asyncio.sleep(1.2)
        await page.evaluate("window.dispatchEvent(new Event('focus'))")
        await page.evaluate("""() => { const r = document.createRange();
            r.selectNodeContents(document.querySelector('.prompt')); const s = getSelection();
            s.removeAllRanges(); s.addRange(r); }""")
        await page.keyboard.press("Control+c")
        await page.keyboard.press("F12")
        result["fullscreen"] = await page.evaluate(
            "document.documentElement.requestFullscreen().then(() => !!document.fullscreenElement).catch(e => String(e))")
        await asyncio.sleep(0.5)
        await page.evaluate("document.exitFullscreen().catch(() => {})")
        await asyncio.sleep(3.0)

        # the connection drops mid-exam; the student goes on answering and copying; it comes back
        result["drop_at"] = time.monotonic()
        await page.evaluate("window.proctorPage.live.drop(4000)")
        await page.wait_for_selector("#conn:not([hidden])")
        await steps.shot("connection-lost")
        text_q = [q for q in qs if q["kind"] == "short_text"]
        if text_q:
            await page.fill(f"#q{text_q[0]['id']}-text", "def")
            await page.press(f"#q{text_q[0]['id']}-text", "Tab")
        await page.evaluate("document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: new DataTransfer()}))")
        await await_until(page, "document.querySelector('#conn').dataset.i18n === 'conn.back'", 40)
        result["restored_after_s"] = time.monotonic() - result["drop_at"]
        # a proctor writes to the student (review API); the note appears beside the questions
        sid = await page.evaluate("window.proctorPage.attempt.proctoring_session_id")
        result["proctor_message"] = await proctor_writes(base, sid, "Please keep your hands visible.")
        await await_until(
            page, "[...document.querySelectorAll('#warnings li')].some(li => li.textContent.includes('hands visible'))", 10)
        await asyncio.sleep(6.0)  # let the analysis see the clip after the reconnection
        result["warnings"] = await page.evaluate(
            "[...document.querySelectorAll('#warnings li')].map(li => li.dataset.kind || li.dataset.i18n)")
        await steps.shot("exam")
        await await_until(
            page, "[...document.querySelectorAll('.save-state')].filter(e => e.dataset.saved).length >= 3", 10)

        # the student reloads the page mid-exam: signs in again and is back at the questions, answers kept
        await page.reload()
        await student_reaches_device_check(page)
        await page.click("#devices-btn")
        await page.wait_for_selector("#questions fieldset.q", timeout=30000)
        result["answers_after_reload"] = await page.evaluate("window.proctorPage.questions.map(q => q.response)")
        await asyncio.sleep(3.0)
        await steps.shot("exam-after-reload")
        await page.click("#submit-btn")
        await page.click("#confirm-no")  # changed their mind: nothing is submitted
        result["submitted_early"] = await page.evaluate("!!window.proctorPage.submitting")
        await page.click("#submit-btn")
        await page.click("#confirm-yes")
        await page.wait_for_selector("#done:not([hidden])", timeout=20000)
        await await_until(page, "window.proctorPage.examState === 'finished'", 60)
        await steps.shot("done")
        result["attempt"] = await page.evaluate("window.proctorPage.attempt")
        result["timeline"] = steps.timeline
        await browser.close()
    return result


def reference_photo(video: Path, t: float, out: Path) -> Path:
    """The clip's frame at ``t`` s as a JPEG: the student's reference photo on file at the college."""
    import cv2

    from proctor.media import iter_video_frames

    frame = next(f for f in iter_video_frames(video) if f.t >= t)
    cv2.imwrite(str(out), cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
    return out


async def main(out_dir: Path, shots: Path, video: Path, audio: Path, reference_t: float | None) -> None:
    reference = None if reference_t is None else reference_photo(video, reference_t, out_dir / "reference.jpg")
    await serve_and_run(out_dir, lambda base: run_page(base, video, audio, shots, reference))


if __name__ == "__main__":
    enter_loopback_netns()
    out, shots_dir = Path(sys.argv[1]), Path(sys.argv[2])
    shots_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(out, shots_dir, Path(sys.argv[3]), Path(sys.argv[4]),
                     float(sys.argv[5]) if len(sys.argv) > 5 else None))
