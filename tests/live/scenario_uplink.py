"""A poor uplink, for real: the loopback network namespace's only link is shaped with ``tc`` (a token bucket)
while the student is connected, and the page must follow: lower the camera stream (uplink.js) while the server
goes on analysing the face, then tell the student the connection is too poor for a fair exam, then recover.

    python tests/live/scenario_uplink.py OUT_DIR SHOTS_DIR VIDEO.mjpeg AUDIO.wav

Phases: unshaped (the full rung); 220 kbit/s for everything on the link (the page steps down); 60 kbit/s (too
poor, told); unshaped again (recovered). What the page and the server saw goes to OUT/result.json.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.live.e2e_site import serve_and_run, student_browser, student_reaches_device_check  # noqa: E402
from tests.live.netns import enter_loopback_netns  # noqa: E402

UPLINK_JS = """() => { const u = window.proctorPage.uplink, b = document.querySelector('#uplink');
  return u ? {level: u.state.level, too_poor: u.state.tooPoor, applied: u.applied, last: u.samples[u.samples.length - 1] || null,
              banner: b.hidden ? null : b.dataset.i18n} : null; }"""


def shape(rate_kbit: int | None) -> None:
    """Shape (or unshape, with None) everything on ``lo`` in this namespace."""
    subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], capture_output=True)
    if rate_kbit is not None:
        subprocess.run(["tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", f"{rate_kbit}kbit", "burst", "10kb",
                        "latency", "400ms"], check=True, capture_output=True)


async def wait_for(page, js_predicate: str, timeout_s: float) -> dict | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        up = await page.evaluate(UPLINK_JS)
        if up is not None and await page.evaluate(js_predicate, up):
            return up | {"after_s": round(time.monotonic() - t0, 1)}
        await asyncio.sleep(0.5)
    return None


async def stats(base: str, sid: str, token: str) -> dict:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.get(f"/api/live/sessions/{sid}/stats", headers={"Authorization": f"Bearer {token}"})
        return r.json()


async def run_page(base: str, video: Path, audio: Path, shots: Path) -> dict:
    from playwright.async_api import async_playwright

    result: dict = {"console": []}
    async with async_playwright() as p:
        browser, page = await student_browser(p, base, video, audio, result["console"])
        await page.goto(f"{base}/student/")
        await student_reaches_device_check(page)
        await page.click("#devices-btn")
        await page.wait_for_selector("#identity-conn.ok", timeout=30000)
        sid = await page.evaluate("window.proctorPage.attempt.proctoring_session_id")
        token = await page.evaluate("window.proctorPage.token")

        result["unshaped"] = await wait_for(page, "u => u.last && u.last.t >= 8", 30)
        t0 = time.monotonic()
        s0 = await stats(base, sid, token)
        while s0.get("counters", {}).get("analysed", 0) < 1 and time.monotonic() - t0 < 90:  # the analysis is running
            await asyncio.sleep(0.5)
            s0 = await stats(base, sid, token)
        shape(220)
        result["shaped_220"] = await wait_for(page, "u => u.level >= 2 && u.last && u.last.width <= 320", 60)
        await asyncio.sleep(8.0)  # the server analyses the smaller picture for a while
        s1 = await stats(base, sid, token)
        result["analysed_while_shaped"] = s1["counters"].get("analysed", 0) - s0["counters"].get("analysed", 0)
        result["kinds_raised_while_shaped"] = sorted(set(s1.get("kinds_raised", {})) - set(s0.get("kinds_raised", {})))
        await page.screenshot(path=str(shots / "uplink-lowered.png"), full_page=True)
        shape(60)
        result["shaped_60"] = await wait_for(page, "u => u.too_poor && u.banner === 'uplink.too_poor'", 60)
        result["banner_text"] = await page.text_content("#uplink")
        result["banner_role"] = await page.get_attribute("#uplink", "role")
        await page.screenshot(path=str(shots / "uplink-too-poor.png"), full_page=True)
        shape(None)
        result["recovered"] = await wait_for(page, "u => !u.too_poor", 60)  # reported, not required: see the test
        await browser.close()
    return result


async def main(out_dir: Path, shots: Path, video: Path, audio: Path) -> None:
    await serve_and_run(out_dir, lambda base: run_page(base, video, audio, shots))


if __name__ == "__main__":
    enter_loopback_netns()
    # a real link's packet size: tbf cannot pass packets larger than its bucket, and lo's MTU is 64 KiB
    subprocess.run(["ip", "link", "set", "lo", "mtu", "1500"], check=True)
    out, shots_dir = Path(sys.argv[1]), Path(sys.argv[2])
    shots_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(out, shots_dir, Path(sys.argv[3]), Path(sys.argv[4])))
