"""The student page's uplink ladder (web_client/student/uplink.js), run in headless Chromium: it steps down at
once when the estimate falls, climbs one rung at a time only after the uplink held with headroom for 10 s,
ignores Chromium's first seconds, takes an estimate at the server's own ceiling for a good uplink, and says
"too poor" only after 10 s under 100 kbit/s."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

UPLINK = Path(__file__).resolve().parent.parent / "web_client" / "student" / "uplink.js"
CHROMIUM = os.environ.get("PROCTOR_CHROMIUM", "/usr/bin/chromium")

RUN = """async ([src, series, ceiling]) => {
  const m = await import('data:text/javascript;base64,' + btoa(unescape(encodeURIComponent(src))));
  let s = m.initialState();
  const out = [];
  for (const [t, kbps] of series) { s = m.nextState(s, {t, kbps}, ceiling); out.push([t, s.level, s.tooPoor]); }
  return {out, ladder: m.LADDER, enc: m.encodingFor(2, ceiling),
          ceiling: m.ceilingFromSdp('v=0\\r\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\nb=AS:64\\r\\nm=video 9 UDP/TLS/RTP/SAVPF 96\\r\\nc=IN IP4 0.0.0.0\\r\\nb=AS:500\\r\\n')};
}"""


@pytest.fixture(scope="module")
def page():
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is not at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True)
        yield b.new_page()
        b.close()


def run(page, series, ceiling=None):
    return page.evaluate(RUN, [UPLINK.read_text(), series, ceiling])


def test_steps_down_at_once_and_up_slowly(page):
    r = run(page, [[1, 40], [7, 600], [9, 160], [11, 120], [13, 600], [20, 600], [24, 600], [30, 600], [36, 600], [40, 600]])
    levels = {t: lvl for t, lvl, _ in r["out"]}
    assert levels[1] == 0  # warming up: not judged
    assert levels[9] == 2 and levels[11] == 3  # down at once, to the rung that fits
    assert levels[20] == 3 and levels[24] == 2  # up one rung after 10 s with headroom
    assert levels[36] == 2 and levels[40] == 1  # the next rung needs its own 10 s
    assert [x["name"] for x in r["ladder"]] == ["full", "reduced_rate", "half_size", "half_size_10fps"]
    assert r["enc"] == {"scaleResolutionDownBy": 2, "maxFramerate": 15, "maxBitrate": 200000}


def test_too_poor_after_ten_seconds_under_100(page):
    r = run(page, [[7, 90], [12, 90], [17, 90], [18, 150], [20, 80]])
    poor = {t: p for t, _, p in r["out"]}
    assert (poor[12], poor[17], poor[18], poor[20]) == (False, True, False, False)


def test_the_servers_ceiling_is_not_a_poor_uplink(page):
    r = run(page, [[7, 250], [9, 250], [30, 250]], ceiling=250)
    assert all(level == 0 for _, level, _ in r["out"])
    assert r["enc"]["maxBitrate"] == 200000 and r["ceiling"] == 500
    r = run(page, [[7, 250], [9, 250]], ceiling=None)  # without a ceiling 250 kbit/s is a reduced uplink
    assert r["out"][-1][1] == 1
