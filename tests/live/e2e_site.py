"""What the browser end-to-end scenarios share (Chromium: scenario_browser.py, Firefox: scenario_firefox.py).

Scenario side: the demo logins, the whole server (create_app: migrations, demo data, live exams) on uvicorn with
the settings both browsers run against, and the proctor's part of the flow (a manual room check, a message).
Test side: :func:`run_scenario` starts a scenario script in its own process (it enters the loopback network
namespace) and returns what it saw, or fails the test with the scenario's error, the page's console and the
server's log.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.browsers import CHROMIUM

DEMO_STUDENT = ("student@demo.college", "demo-student-pass")
DEMO_PROCTOR = ("proctor@demo.college", "demo-proctor-pass")

# the camera ceiling the server puts in its answer (b=AS), below what Chromium sends for these clips without one
# (260-510 kbit/s per 4 s segment, measured), so the end-to-end test sees the browser keep to it
VIDEO_MAX_KBPS = 250


# ---- scenario side ---------------------------------------------------------------------------------------
async def serve_and_run(out_dir: Path, run_page: Callable[[str], Awaitable[dict]],
                        prepare_app: Callable[[object], None] | None = None) -> None:
    """Serve the whole app from ``out_dir`` on a free loopback port, await ``run_page(base_url)`` and write what
    it returned, with ``ok`` and any error, to ``out_dir/result.json``. ``prepare_app(app)`` may add test routes."""
    from server.app import create_app
    from server.settings import ServerSettings
    from tests.live.serving import Served

    settings = ServerSettings(data_dir=out_dir, webhooks_enabled=False, log_json=True, log_level="WARNING",
                              seed_demo=True, demo_passwords={"student": DEMO_STUDENT[1], "proctor": DEMO_PROCTOR[1]},
                              live_ice_loopback=True, live_room_scan_s=3.0, live_segment_s=4.0,
                              live_media_timeout_s=1.5, live_identity_check_s=12.0, live_workers=2,
                              live_video_max_kbps=VIDEO_MAX_KBPS)
    app = create_app(settings)
    if prepare_app is not None:
        prepare_app(app)
    server = await Served(app).start()
    t0 = time.monotonic()
    result: dict = {"db": settings.resolved_database_url(), "data_dir": str(out_dir)}
    try:
        result.update(await run_page(server.base))
        result["ok"] = True
    except Exception as exc:  # noqa: BLE001 - reported to the test with what was seen so far
        import traceback

        result.update(getattr(exc, "seen", None) or {})  # what the page had shown so far, where the driver kept it
        result["identity_results"] = getattr(exc, "identity_results", None) or result.get("identity_results")
        result["ok"] = False
        result["error"] = traceback.format_exc()
    finally:
        result["run_s"] = time.monotonic() - t0
        await server.stop()
        (out_dir / "result.json").write_text(json.dumps(result, indent=1, default=str))


async def _as_proctor(base: str, path: str, body: dict) -> tuple[int, dict]:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        login = (await http.post("/api/auth/login", json={"email": DEMO_PROCTOR[0], "password": DEMO_PROCTOR[1]})).json()
        r = await http.post(path, json=body, headers={"Authorization": f"Bearer {login['token']}"})
        return r.status_code, r.json()


async def proctor_confirms_room(base: str, attempt_id: int) -> int:
    """A proctor confirms the room by hand (the backend's manual check); returns the HTTP status."""
    status, _ = await _as_proctor(base, f"/api/proctor/attempts/{attempt_id}/checks", {"room_scanned": True})
    return status


async def proctor_writes(base: str, session_id: str, text: str) -> dict:
    """A proctor writes to the student through the review API; returns the status and the answer."""
    status, body = await _as_proctor(base, f"/api/review/sessions/{session_id}/message", {"text": text})
    return {"status": status, **body}


# ---- the student's page in Chromium (the scenarios and benchmarks/bench_startup.py) ----------------------
def chromium_args(video: Path, audio: Path) -> list[str]:
    """Playwright gives every launch a fresh profile of its own (so no --user-data-dir here)."""
    return [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}", f"--use-file-for-fake-audio-capture={audio}",
        "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
        "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic",
        "--autoplay-policy=no-user-gesture-required",
    ]


async def student_browser(p, base: str, video: Path, audio: Path, console: list[str] | None = None):
    """Headless Chromium (async Playwright ``p``) whose camera and microphone play ``video`` and ``audio``, allowed
    on ``base``; a new page, whose console lines go to ``console`` when given. Returns (browser, page)."""
    browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(video, audio))
    # the page under its real CSP (the scenarios poll with tests.browsers.await_until, not wait_for_function)
    context = await browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US")
    await context.grant_permissions(["camera", "microphone"], origin=base)
    page = await context.new_page()
    if console is not None:
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"[:300]))
    return browser, page


async def student_reaches_device_check(page) -> None:
    """On the student's sign-in form: the demo student signs in, consents and turns the camera and microphone on,
    until the device check lets them go on (the caller clicks #devices-btn)."""
    await page.fill("#email", DEMO_STUDENT[0])
    await page.fill("#password", DEMO_STUDENT[1])
    await page.click("#signin-btn")
    await page.wait_for_selector("#consent:not([hidden])")
    await page.check("#agree")
    await page.click("#consent-btn")
    await page.wait_for_selector("#devices:not([hidden])")
    await page.click("#devices-start")
    await page.wait_for_selector("#devices-btn:not([disabled])", timeout=20000)


# ---- test side -------------------------------------------------------------------------------------------
def run_scenario(script: Path, out: Path, shots: Path, *args: str, keep_result: Path,
                 timeout: float = 420) -> dict:
    """Run ``script OUT SHOTS *args``, copy its result.json to ``keep_result`` (beside the screenshots) and return
    it; fail the test if the scenario did not finish or reported an error."""
    import pytest

    proc = subprocess.run([sys.executable, str(script), str(out), str(shots), *args],
                          capture_output=True, text=True, timeout=timeout)
    result_file = out / "result.json"
    if not result_file.is_file():
        pytest.fail(f"the browser scenario did not finish (exit {proc.returncode}):\n{proc.stderr[-5000:]}")
    result = json.loads(result_file.read_text())
    keep_result.write_text(json.dumps(result, indent=1, default=str))
    if not result.get("ok"):
        pytest.fail(f"the browser scenario failed:\n{result.get('error')}\nconsole: {(result.get('console') or [])[-20:]}"
                    f"\nserver log: {proc.stderr[-3000:]}")
    return result


def run_rtc_scenario(script: Path, out: Path, *args: str, what: str, timeout: float = 300):
    """Run an aiortc scenario ``script OUT *args`` (it writes OUT/result.json); fail the test, with its log, if it
    did not finish. Returns (its result, the finished scenario's stores)."""
    import pytest

    proc = subprocess.run([sys.executable, str(script), str(out), *args], capture_output=True, text=True,
                          timeout=timeout)
    result_file = out / "result.json"
    if proc.returncode != 0 or not result_file.is_file():
        pytest.fail(f"the {what} scenario failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(result_file.read_text()), open_stores(out)[0]


def open_stores(out: Path):
    """The finished scenario's database and stores: (stores, session factory)."""
    from server.db.engine import make_engine, make_sessionmaker
    from server.settings import ServerSettings
    from server.storage import build_stores

    settings = ServerSettings(data_dir=out)
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    return build_stores(settings, factory), factory
