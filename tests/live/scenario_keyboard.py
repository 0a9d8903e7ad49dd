"""The whole student flow by keyboard alone, with axe-core on every step (inside the loopback network namespace,
the whole server, headless Debian Chromium with a real clip as its camera): sign in -> consent -> devices ->
identity -> room scan -> exam -> submit, moving only with Tab / Shift+Tab and acting only with Enter, Space,
arrow keys and typing. During the exam a proctor's message and a room-scan request arrive: they must be
announced (aria-live) while the focus stays in the answer being typed. Each step: axe-core (no serious or
critical violation) and the page at 200 % zoom; a screenshot. What the page saw goes to OUT/result.json.

    python tests/live/scenario_keyboard.py OUT_DIR SHOTS_DIR VIDEO.mjpeg AUDIO.wav
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from a11y import axe_violations_async, reflow_problems_async  # noqa: E402
from tests.live.e2e_site import (  # noqa: E402
    DEMO_PROCTOR, DEMO_STUDENT, proctor_confirms_room, proctor_writes, serve_and_run, student_browser,
)
from tests.browsers import await_until  # noqa: E402
from tests.live.netns import enter_loopback_netns  # noqa: E402
from tests.live.scenario_browser import Steps  # noqa: E402

MAX_TABS = 80


class Keyboard:
    """Moves the focus with Tab only and acts with keys only; records every key pressed."""

    def __init__(self, page):
        self.page, self.keys = page, []

    async def press(self, key: str) -> None:
        self.keys.append(key)
        await self.page.keyboard.press(key)

    async def focused(self, selector: str) -> bool:
        return await self.page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector)

    async def tab_to(self, selector: str) -> None:
        """Tab forward (wrapping round the page) until ``selector`` has the focus."""
        for _ in range(MAX_TABS):
            if await self.focused(selector):
                return
            await self.press("Tab")
        where = await self.page.evaluate("document.activeElement && document.activeElement.outerHTML.slice(0, 120)")
        raise AssertionError(f"{selector} cannot be reached with Tab (focus ends on {where})")

    async def activate(self, selector: str, key: str = "Enter") -> None:
        await self.tab_to(selector)
        await self.press(key)

    async def type_into(self, selector: str, text: str) -> None:
        await self.tab_to(selector)
        self.keys.append(f"type:{len(text)}")
        await self.page.keyboard.type(text)


async def check(page, steps: Steps, name: str, result: dict) -> None:
    """axe on the step as it is, and at 200 % zoom; a screenshot."""
    result["axe"][name] = await axe_violations_async(page)
    result["zoom"][name] = await reflow_problems_async(page)
    await steps.shot(name)


async def wait_identity_answer(page) -> None:
    await await_until(
        page, "() => !document.querySelector('#identity-result').dataset.i18n?.match(/enrolling|checking/)", 40)


async def request_rescan(base: str, session_id: str) -> int:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        login = (await http.post("/api/auth/login", json={"email": DEMO_PROCTOR[0], "password": DEMO_PROCTOR[1]})).json()
        r = await http.post(f"/api/review/sessions/{session_id}/room-scan",
                            headers={"Authorization": f"Bearer {login['token']}"})
        return r.status_code


async def run_page(base: str, video: Path, audio: Path, shots: Path) -> dict:
    from playwright.async_api import async_playwright

    result: dict = {"console": [], "axe": {}, "zoom": {}}
    async with async_playwright() as p:
        browser, page = await student_browser(p, base, video, audio, result["console"])
        steps, kb = Steps(page, shots), Keyboard(page)

        await page.goto(f"{base}/student/")
        await page.wait_for_selector("#signin:not([hidden])")
        await check(page, steps, "signin", result)
        await kb.type_into("#email", DEMO_STUDENT[0])
        await kb.type_into("#password", DEMO_STUDENT[1])
        await kb.press("Enter")  # submits the sign-in form
        await page.wait_for_selector("#consent:not([hidden])")
        result["focus_after_signin"] = await page.evaluate("document.activeElement.id")
        await check(page, steps, "consent", result)
        await kb.activate("#agree", "Space")
        await kb.activate("#consent-btn")
        await page.wait_for_selector("#devices:not([hidden])")
        await kb.activate("#devices-start")
        await page.wait_for_selector("#devices-btn:not([disabled])", timeout=20000)
        await check(page, steps, "devices", result)
        await kb.activate("#devices-btn")

        await page.wait_for_selector("#identity-conn.ok", timeout=30000)
        await page.wait_for_selector("#enrol-state[data-i18n]", timeout=20000)
        tries = 0
        while not await page.evaluate("window.proctorPage.enrolled") and tries < 40:
            tries += 1
            await kb.activate("#take-photo")
            await wait_identity_answer(page)
            await asyncio.sleep(0.3)
        result["enrol_tries"] = tries
        tries = 0
        while await page.evaluate("document.querySelector('#identity-btn').disabled") and tries < 8:
            tries += 1
            await kb.activate("#check-face")
            await wait_identity_answer(page)
        result["check_tries"] = tries
        await check(page, steps, "identity", result)
        await kb.activate("#identity-btn")

        await page.wait_for_selector("#room-start:not([disabled])", timeout=20000)
        await check(page, steps, "room-scan", result)
        await kb.activate("#room-start")
        await page.wait_for_selector("#room-finish:not([disabled])", timeout=30000)
        await kb.activate("#room-finish")
        await page.wait_for_selector("#room-btn:not([disabled])", timeout=20000)
        result["room_result"] = await page.evaluate("window.proctorPage.roomResult")
        if not result["room_result"]["passed"]:  # the clip does not turn round: a proctor confirms by hand
            aid = await page.evaluate("window.proctorPage.attempt.id")
            result["room_confirmed_by_proctor"] = await proctor_confirms_room(base, aid)
        await kb.activate("#room-btn")

        # the exam: radio groups with the arrow keys, checkboxes with Space, text typed
        await page.wait_for_selector("#questions fieldset.q", timeout=20000)
        qs = await page.evaluate("window.proctorPage.questions.map(q => ({id: q.id, kind: q.kind}))")
        result["questions"] = qs
        for q in qs:
            first = f"fieldset[data-qid='{q['id']}'] input"
            if q["kind"] == "single_choice":
                await kb.tab_to(f"{first}[value='0']")
                await kb.press("ArrowDown")  # moves to and chooses the second option
            elif q["kind"] == "multiple_choice":
                await kb.activate(f"{first}[value='1']", "Space")
            else:
                await kb.type_into(f"#q{q['id']}-text", "def")
                await kb.press("Tab")  # leaving the field saves it
                break  # the focus stays in the text answer below for the live-region check
        await await_until(
            page, "[...document.querySelectorAll('.save-state')].filter(e => e.dataset.saved).length >= 3", 15)
        result["uplink"] = await page.evaluate("""() => { const u = window.proctorPage.uplink;
            const b = document.querySelector('#uplink');
            return u ? {applied: u.applied, level: u.state.level, too_poor: u.state.tooPoor, ceiling: u.ceilingKbps,
                        samples: u.samples, banner: b.hidden ? null : b.dataset.i18n} : null; }""")
        await check(page, steps, "exam", result)

        # live notices: announced in an aria-live region, the focus stays in the answer being typed
        text_q = next(q for q in qs if q["kind"] == "short_text")
        await kb.tab_to(f"#q{text_q['id']}-text")
        await kb.press("End")
        focus_before = await page.evaluate("document.activeElement.id")
        sid = await page.evaluate("window.proctorPage.attempt.proctoring_session_id")
        result["proctor_message"] = await proctor_writes(base, sid, "Please keep your hands visible.")
        await await_until(
            page, "[...document.querySelectorAll('#warnings li')].some(li => li.textContent.includes('hands visible'))", 10)
        result["rescan_request"] = await request_rescan(base, sid)
        await page.wait_for_selector("#rescan:not([hidden])", timeout=10000)
        await await_until(
            page, "[...document.querySelectorAll('#warnings li')].some(li => li.dataset.kind === 'room_scan_request')")
        result["focus"] = {"before": focus_before, "after": await page.evaluate("document.activeElement.id")}
        result["warnings_live"] = await page.evaluate("""() => { const w = document.querySelector('#warnings');
            const region = w.closest('[aria-live]');
            return {role: region && region.getAttribute('role'), live: region && region.getAttribute('aria-live'),
                    items: [...w.querySelectorAll('li')].map(li => li.textContent)}; }""")
        await kb.type_into(f"#q{text_q['id']}-text", " x")  # typing goes on where it was
        await kb.press("Tab")
        # the re-scan by keyboard
        await kb.activate("#rescan-start")
        await page.wait_for_selector("#rescan-finish:not([disabled])", timeout=30000)
        await kb.activate("#rescan-finish")
        await await_until(page, "!!document.querySelector('#rescan-done').dataset.i18n", 30)
        await check(page, steps, "exam-notices", result)

        # submit through the in-page dialog, by keyboard
        await kb.activate("#submit-btn")
        await page.wait_for_selector("#confirm-submit[open]")
        result["dialog_focus"] = await page.evaluate("document.activeElement.id")
        await kb.activate("#confirm-yes")
        await page.wait_for_selector("#done:not([hidden])", timeout=20000)
        await await_until(page, "window.proctorPage.examState === 'finished'", 60)
        await check(page, steps, "done", result)
        result["attempt"] = await page.evaluate("window.proctorPage.attempt")
        result["answers"] = await page.evaluate("window.proctorPage.questions.map(q => q.response)")
        result["keys"] = kb.keys
        result["mouse_used"] = False  # this script has no click, fill, check or select call
        result["timeline"] = steps.timeline
        await browser.close()
    return result


async def main(out_dir: Path, shots: Path, video: Path, audio: Path) -> None:
    await serve_and_run(out_dir, lambda base: run_page(base, video, audio, shots))


if __name__ == "__main__":
    enter_loopback_netns()
    out, shots_dir = Path(sys.argv[1]), Path(sys.argv[2])
    shots_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(out, shots_dir, Path(sys.argv[3]), Path(sys.argv[4])))
