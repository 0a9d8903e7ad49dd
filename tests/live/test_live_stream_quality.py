"""The stream's quality as the server measures it (server/live/quality.py), with real aiortc clients in a
loopback netns (see scenario_stream.py): a very poor stream (160x120 at 60 kbit/s) is a ``stream_poor`` event
measured by the server, a good one gives none; the page's own reports are recorded as the page's; neither is
scored. The measurement's arithmetic without media is in the unit tests at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from proctor.events import fold_events
from server.live.quality import StreamWatch, Thresholds, vp8_frame_size
from server.settings import ServerSettings
from tests.live.e2e_site import run_rtc_scenario

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_dir):
    return run_rtc_scenario(HERE / "scenario_stream.py", tmp_path_factory.mktemp("live_stream"),
                            str(data_dir / "video/head_motion_woman_640x480.mjpeg"),
                            str(data_dir / "audio/speech_clean_arctic_aew_a0001.wav"), what="stream", timeout=400)


def _chain(stores, sid: str) -> list[dict]:
    assert stores.events.verify(sid).ok
    return [e["record"] for e in stores.events.list(sid)]


def test_a_poor_stream_is_measured_and_recorded_by_the_server(run):
    result, stores = run
    th = ServerSettings()
    assert result["alice_clip_kbps"] < th.live_stream_min_kbps  # what the client sends is below the line
    live = result["alice_stats"]["stream"]  # the last heartbeat's window, as the server measured it
    assert live["kbps"] < th.live_stream_min_kbps and live["width"] == 160 and live["height"] == 120
    assert live["fps"] > th.live_stream_min_fps  # 15 frames a second still arrive: only rate and size are poor
    events = fold_events(_chain(stores, result["sessions"]["alice"]))
    (poor,) = [e for e in events if e["kind"] == "stream_poor" and e["source"] == "server"]
    d = poor["evidence"]["details"]
    assert d["measured_by"] == "server" and set(d["reasons"]) == {"bitrate", "frame_size"}
    assert d["kbps"] < th.live_stream_min_kbps and (d["width"], d["height"]) == (160, 120)
    assert poor["status"] == "closed" and poor["end"] - poor["start"] >= th.live_stream_poor_s
    assert poor["severity"] == "low"


def test_a_good_stream_gives_no_record(run):
    result, stores = run
    live = result["bob_stats"]["stream"]
    assert live["kbps"] >= ServerSettings().live_stream_min_kbps and live["width"] == 640
    events = fold_events(_chain(stores, result["sessions"]["bob"]))
    assert not [e for e in events if e["kind"] in ("stream_poor", "uplink_changed")]


def test_the_pages_report_is_recorded_as_the_pages(run):
    result, stores = run
    events = fold_events(_chain(stores, result["sessions"]["alice"]))
    claimed = [e for e in events if e["source"] == "browser" and e["kind"] == "stream_poor"]
    assert len(claimed) == 1 and claimed[0]["end"] > claimed[0]["start"]
    (changed,) = [e for e in events if e["kind"] == "uplink_changed"]
    assert changed["source"] == "browser" and changed["evidence"]["details"]["rung"] == "half_size_10fps"


def test_stream_quality_never_lowers_the_score(run):
    result, stores = run
    (end,) = [r for r in _chain(stores, result["sessions"]["alice"]) if r.get("type") == "session_end"]
    assert not {"stream_poor", "uplink_changed"} & set(end["score"]["breakdown"])


# ---- the measurement without media --------------------------------------------------------------------------
TH = Thresholds(min_kbps=100, min_fps=5, min_width=320, poor_s=8)
KEY_640 = bytes([0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01])  # a VP8 keyframe header, 640x480


def test_the_frame_size_comes_from_a_keyframe_header():
    assert vp8_frame_size(KEY_640) == (640, 480)
    assert vp8_frame_size(bytes([0x51]) + KEY_640[1:]) is None  # an inter frame
    assert vp8_frame_size(None) is None and vp8_frame_size(b"\x50\x00") is None


def _feed(watch: StreamWatch, windows: list[tuple[float, float, tuple[int, int] | None]], gen: int = 0):
    """Heartbeats 5 s apart; each window's kbit/s and frames/s; what sample() returned at each."""
    out, frames, nbytes = [], 0, 0
    out.append(watch.sample(0.0, 0.0, frames, nbytes, gen, None, TH, True))
    for n, (kbps, fps, size) in enumerate(windows, 1):
        frames += int(fps * 5)
        nbytes += int(kbps * 1000 / 8 * 5)
        out.append(watch.sample(5.0 * n, 5.0 * n, frames, nbytes, gen, size, TH, True))
    return out


def test_a_stretch_counts_once_it_lasted_and_ends_when_the_stream_recovers():
    w = StreamWatch()
    got = _feed(w, [(400, 15, (640, 480)), (60, 15, (160, 120)), (70, 15, (160, 120)), (400, 15, (640, 480))])
    assert got[:4] == [None] * 4 and w.last.kbps == 400
    stretch = got[4]
    assert (stretch.start, stretch.end) == (5.0, 15.0)
    assert stretch.details["reasons"] == ["bitrate", "frame_size"] and stretch.details["kbps"] == 65.0
    assert stretch.details["kbps_min"] == 60.0 and (stretch.details["width"], stretch.details["height"]) == (160, 120)


def test_one_poor_window_is_not_a_stretch_and_a_lost_stream_is_not_judged():
    w = StreamWatch()
    assert _feed(w, [(60, 15, None), (400, 15, None)]) == [None, None, None]
    w = StreamWatch()
    _feed(w, [(400, 3, None), (400, 3, None)])  # a slow frame rate, two windows
    stretch = w.sample(15.0, 15.0, 0, 0, 0, None, TH, flowing=False)  # then the stream is lost
    assert stretch is not None and stretch.details["reasons"] == ["frame_rate"]
    assert w.sample(20.0, 20.0, 0, 0, 0, None, TH, True) is None and w.poor == []  # the next connection starts over
