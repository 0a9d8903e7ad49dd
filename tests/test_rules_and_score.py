"""Rules and score on hand-made signal sequences: they test the debouncing and arithmetic, not the models."""

from proctor.events import fold_events
from proctor.rules import RuleEngine
from proctor.score import integrity_score
from proctor.settings import EngineSettings
from proctor.signals import AudioSignals, FaceBox, FaceObservation, FrameSignals, HeadPose, IdentityCheck


def face(yaw: float = 0.0, pitch: float = 0.0) -> FaceObservation:
    return FaceObservation(FaceBox(100, 100, 150, 150, 0.9), pose=HeadPose(yaw, pitch, 0.0))


def run(frames, engine=None, fps=5.0):
    engine = engine or RuleEngine(EngineSettings())
    records = []
    t = 0.0
    for i, spec in enumerate(frames):
        t = i / fps
        faces, identity = spec if isinstance(spec, tuple) else (spec, None)
        records += [e.to_record() for e in engine.push_frame(FrameSignals(t, i, 640, 480, faces, identity=identity))]
    records += [e.to_record() for e in engine.finish(t + 1 / fps)]
    return records, fold_events(records)


def test_short_glitches_are_not_events_and_sustained_conditions_are():
    # 0.6 s of a second face (below the 1 s minimum), then 2 s of it
    frames = [[face()]] * 10 + [[face(), face()]] * 3 + [[face()]] * 10 + [[face(), face()]] * 10 + [[face()]] * 10
    records, events = run(frames)
    multi = [e for e in events if e["kind"] == "multiple_faces"]
    assert len(multi) == 1
    assert multi[0]["start"] == 4.6 and abs(multi[0]["end"] - 6.6) < 1e-6
    # opened (end unknown) when raised, then closed: both emissions are in the records
    statuses = [r["status"] for r in records if r["id"] == multi[0]["id"]]
    assert statuses == ["open", "closed"]


def test_face_missing_needs_three_seconds():
    _, events = run([[face()]] * 5 + [[]] * 10 + [[face()]] * 5 + [[]] * 20 + [[face()]] * 5)
    missing = [e for e in events if e["kind"] == "face_missing"]
    assert [(m["start"], round(m["end"], 1)) for m in missing] == [(4.0, 8.0)]


def test_looking_away_is_measured_from_the_students_own_neutral_pose():
    # camera to the side: the student looks at the screen with yaw 35 deg; that must not be looking away
    side = [[face(35.0, -5.0)]] * 60
    _, events = run(side)
    assert not [e for e in events if e["kind"] == "looking_away"]
    # after calibration, turning 40 deg further for 4 s is looking away
    _, events = run(side[:30] + [[face(75.0, -5.0)]] * 20 + side[:10])
    away = [e for e in events if e["kind"] == "looking_away"]
    assert len(away) == 1 and away[0]["start"] == 6.0 and away[0]["evidence"]["details"]["reason"] == "head_yaw"


def test_identity_mismatch_needs_consecutive_failed_checks_and_consecutive_matches_end_it():
    s = EngineSettings()
    assert (s.identity.min_mismatches, s.identity.min_matches) == (2, 2)
    bad, good = IdentityCheck(0.8, 0.6, False, 150), IdentityCheck(0.3, 0.6, True, 150)

    def checks(pattern: str) -> list:  # one check every 2 s (10 frames at 5 fps): "b" mismatch, "g" match
        return [([face()], None if i % 10 else (good if pattern[i // 10] == "g" else bad)) for i in range(10 * len(pattern))]

    _, events = run(checks("bbbgbbggg"), RuleEngine(s))  # a single chance match does not end it; two do
    mism = [e for e in events if e["kind"] == "identity_mismatch"]
    assert len(mism) == 1 and mism[0]["start"] == 0.0 and mism[0]["end"] == 12.0
    assert mism[0]["severity"] == "high" and mism[0]["evidence"]["details"]["checks"] == 5

    _, events = run(checks("gbggbg"), RuleEngine(s))  # single mismatches: no event
    assert not [e for e in events if e["kind"] == "identity_mismatch"]


def test_speech_and_noise_from_audio_windows():
    engine = RuleEngine(EngineSettings())
    windows = []
    for i in range(300):  # 9 s of 30 ms windows: speech 1-4 s, loud noise 6-7 s
        t = i * 0.03
        speech = 1.0 <= t < 4.0
        loud = 6.0 <= t < 7.0
        windows.append(AudioSignals(t, 0.03, -20.0 if (speech or loud) else -60.0, speech, speech, 0.9 if speech else 0.1))
    records = [e.to_record() for e in engine.push_audio(windows)] + [e.to_record() for e in engine.finish(9.0)]
    events = fold_events(records)
    kinds = [(e["kind"], round(e["start"], 2), round(e["end"], 2)) for e in events]
    assert kinds == [("speech", 1.02, 4.02), ("noise", 6.0, 7.02)]  # first window at or after 1.0 s is 1.02 s
    assert all(e["evidence"]["series"] for e in events)


def test_score_is_weight_times_share_plus_per_event_cost():
    s = EngineSettings()
    events = [
        {"kind": "multiple_faces", "start": 10.0, "end": 40.0},  # 30 s of 300 s = 10% x 200 = 20
        {"kind": "multiple_faces", "start": 30.0, "end": 50.0},  # overlaps: union 40 s -> 13.33% x 200 = 26.67
        {"kind": "tab_switch", "start": 100.0, "end": None},  # open until the end: 200 s -> 66.7% x 100
    ]
    r = integrity_score(events[:2], 300.0, s)
    assert r.breakdown["multiple_faces"]["seconds"] == 40.0
    assert r.score == round(100 - 200 * 40 / 300 - 2 * s.score.per_event_penalty, 1)
    assert r.recommendation == "suspicious"
    assert integrity_score([], 300.0, s).recommendation == "clean"
    assert integrity_score(events, 300.0, s).recommendation == "violation"


def test_per_exam_overrides_merge_and_unknown_keys_are_refused():
    s = EngineSettings().with_overrides({"looking_away": {"yaw_deg": 45}})
    assert s.looking_away.yaw_deg == 45 and s.looking_away.pitch_deg == EngineSettings().looking_away.pitch_deg
    try:
        EngineSettings().with_overrides({"no_such_rule": {}})
    except KeyError as exc:
        assert "no_such_rule" in str(exc)
    else:
        raise AssertionError("an unknown setting was accepted")
