"""Start-up: how long from opening the exam page to the first frame the server analysed.

    .venv/bin/python benchmarks/bench_startup.py [--runs 3] [--data DIR]

Each run serves the whole app (a fresh SQLite database with the demo data, live exams on) and drives headless
Debian Chromium through the student page the way the end-to-end test does (tests/live/scenario_browser.py),
inside a loopback-only network namespace (root), camera and microphone from the one-person webcam clip:
open the page, sign in, consent, turn on the camera, continue to the identity step (the proctoring
connection starts here), and then poll the session's live stats every 20 ms until the first frame is counted
as analysed. The clicks are automated, so the figure is the system's part of the wait, not a person's reading
time; it is split at the moment the page asks for the proctoring connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
VIDEO, AUDIO = "video/webcam_glasses_man_640x480.mjpeg", "audio/silence_roomtone.wav"


async def _run_page(base: str, video: Path, audio: Path) -> dict:
    import httpx
    from playwright.async_api import async_playwright

    from tests.live.e2e_site import student_browser, student_reaches_device_check

    async with async_playwright() as p:
        browser, page = await student_browser(p, base, video, audio)
        t_open = time.monotonic()
        await page.goto(f"{base}/student/")
        await student_reaches_device_check(page)
        t_connect = time.monotonic()
        await page.click("#devices-btn")
        sid = await page.evaluate("window.proctorPage.attempt.proctoring_session_id")
        token = await page.evaluate("window.proctorPage.token")
        t_first = None
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                r = await http.get(f"/api/live/sessions/{sid}/stats", headers={"Authorization": f"Bearer {token}"})
                if r.status_code == 200 and (r.json().get("counters") or {}).get("analysed", 0) >= 1:
                    t_first = time.monotonic()
                    break
                await asyncio.sleep(0.02)
        t_connected = await page.evaluate("window.proctorPage.live ? 1 : 0")
        await browser.close()
    if t_first is None:
        raise RuntimeError("no frame was analysed within 60 s")
    return {"open_to_first_s": t_first - t_open, "open_to_connect_s": t_connect - t_open,
            "connect_to_first_s": t_first - t_connect, "live": bool(t_connected)}


def _child(out: Path, data: Path) -> None:
    """One run, in this (child) process: enter the loopback namespace, serve, drive the page."""
    sys.path.insert(0, str(ROOT))
    from tests.live.e2e_site import serve_and_run
    from tests.live.netns import enter_loopback_netns

    enter_loopback_netns()
    asyncio.run(serve_and_run(out, lambda base: _run_page(base, data / VIDEO, data / AUDIO)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child, args.data)
        return 0
    runs = []
    for n in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench_startup_") as tmp:
            proc = subprocess.run([sys.executable, __file__, "--child", tmp, "--data", str(args.data)],
                                  capture_output=True, text=True, timeout=300)
            res = json.loads((Path(tmp) / "result.json").read_text()) if (Path(tmp) / "result.json").is_file() else {}
            if not res.get("ok"):
                print(f"run {n + 1} failed: {res.get('error') or proc.stderr[-2000:]}", file=sys.stderr)
                return 1
            runs.append({k: res[k] for k in ("open_to_first_s", "open_to_connect_s", "connect_to_first_s")})
            print(f"run {n + 1}: page open -> first analysed frame {res['open_to_first_s']:.2f} s "
                  f"(open -> proctoring connection asked {res['open_to_connect_s']:.2f} s, "
                  f"then -> first analysed frame {res['connect_to_first_s']:.2f} s)", flush=True)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    import os

    print(f"machine load average (1/5/15 min) at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")
    print(f"start-up, median of {len(runs)}: page open -> first analysed frame {med['open_to_first_s']:.2f} s "
          f"(of which proctoring connection -> first analysed frame {med['connect_to_first_s']:.2f} s)")
    print(json.dumps({"runs": runs, "median": med}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
