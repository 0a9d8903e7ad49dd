"""Speech-frame accuracy of the audio stage on ../shared/data/audio, and its cost per 30 ms window.

Run: ``python benchmarks/audio_eval.py [DATA_DIR]``. ``evaluate_audio(data_dir)`` returns the figures as a dict.

Labels, per 30 ms window (a window is speech when its centre lies inside a speech segment):

- ``speech: false`` files: every window is non-speech.
- Files with ``speech_segments`` in the manifest: those segments (the conversation's come from the source's
  RTTM and include short pauses inside turns; the SNR 5 dB mix's span each whole sentence file, including the
  sentences' ~0.2 s leading/trailing silences).
- The clean CMU ARCTIC files ("whole file is one read sentence (short leading/trailing silence)") have no
  segments. Their one segment is derived from energy by :func:`sentence_segment`, the same way for each file:
  from the first to the last 30 ms window louder than the file's own silence level (10th percentile of the
  window levels) + 20 dB. Pauses inside the sentence count as speech, as they do in the RTTM labels. This
  gives 0.18-3.66 s, 0.18-3.81 s and 0.18-3.42 s for a0001..a0003.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import webrtcvad

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from proctor.audio import AudioAnalyzer, analyze_audio, read_audio  # noqa: E402

WINDOW = 480  # 30 ms at 16 kHz
SR = 16000


def sentence_segment(pcm: np.ndarray, rise_db: float = 20.0) -> tuple[float, float]:
    """One read sentence: first to last 30 ms window louder than the file's silence level + ``rise_db``."""
    n = len(pcm) // WINDOW
    w = pcm[: n * WINDOW].astype(np.float64).reshape(n, WINDOW)
    level = 10 * np.log10(np.maximum((w * w).mean(axis=1), 1e-12) / 32768.0**2)
    loud = np.nonzero(level > np.percentile(level, 10) + rise_db)[0]
    return float(loud[0] * WINDOW / SR), float((loud[-1] + 1) * WINDOW / SR)


def frame_labels(entry: dict[str, Any], pcm: np.ndarray) -> tuple[np.ndarray, str, list[tuple[float, float]]]:
    n = len(pcm) // WINDOW
    centres = (np.arange(n) + 0.5) * WINDOW / SR
    if not entry.get("speech"):
        return np.zeros(n, bool), "speech:false (all windows negative)", []
    segs = entry.get("speech_segments")
    if isinstance(segs, list):
        spans = [(float(s["start_s"]), float(s["end_s"])) for s in segs]
        source = "manifest speech_segments"
    else:
        spans = [sentence_segment(pcm)]
        source = "energy-derived sentence segment (file silence level + 20 dB, first..last)"
    y = np.zeros(n, bool)
    for a, b in spans:
        y |= (centres >= a) & (centres < b)
    return y, source, spans


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def _plain_vad(pcm: np.ndarray, mode: int = 2) -> np.ndarray:
    vad = webrtcvad.Vad(mode)
    n = len(pcm) // WINDOW
    return np.array([vad.is_speech(pcm[i * WINDOW : (i + 1) * WINDOW].tobytes(), SR) for i in range(n)], bool)


def evaluate_audio(data_dir: str | Path) -> dict[str, Any]:
    """Per-file and pooled speech-window figures over every file of ``audio/`` in the manifest.

    Returns ``{"files": {path: {...}}, "pooled": {precision, recall, f1, tp, fp, fn},
    "baseline_webrtcvad": {...}, "false_speech_share": {path: share}}`` where per file ``recall`` is the share
    of speech windows called speech and ``false_positive_share`` the share of non-speech windows called speech.
    """
    data_dir = Path(data_dir)
    manifest = json.loads((data_dir / "manifest.json").read_text())
    entries = [f for f in manifest["files"] if f["path"].startswith("audio/")]
    if not entries:
        raise ValueError(f"{data_dir}: no audio/ files in the manifest")
    files: dict[str, Any] = {}
    tot = np.zeros(3, int)
    base = np.zeros(3, int)
    for e in sorted(entries, key=lambda f: f["path"]):
        pcm = read_audio(data_dir / e["path"])
        y, source, spans = frame_labels(e, pcm)
        out = analyze_audio(pcm)
        pred = np.array([w.speech for w in out], bool)
        if len(pred) != len(y):
            raise AssertionError(f"{e['path']}: {len(pred)} windows for {len(y)} labels")
        tp, fp, fn = int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum())
        tot += (tp, fp, fn)
        v = _plain_vad(pcm)
        base += (int((v & y).sum()), int((v & ~y).sum()), int((~v & y).sum()))
        files[e["path"]] = {
            "windows": int(len(y)),
            "speech_windows": int(y.sum()),
            "label_source": source,
            "segments": [(round(a, 3), round(b, 3)) for a, b in spans],
            "recall": float(pred[y].mean()) if y.any() else None,
            "false_positive_share": float(pred[~y].mean()) if (~y).any() else None,
            "called_speech_share": float(pred.mean()),
            "webrtcvad_recall": float(v[y].mean()) if y.any() else None,
            "webrtcvad_false_positive_share": float(v[~y].mean()) if (~y).any() else None,
            "tp": tp, "fp": fp, "fn": fn,
        }
    pooled = {**_prf(*tot), "tp": int(tot[0]), "fp": int(tot[1]), "fn": int(tot[2])}
    return {
        "files": files,
        "pooled": pooled,
        "baseline_webrtcvad": {**_prf(*base), "mode": 2},
        "false_speech_share": {p: f["called_speech_share"] for p, f in files.items()
                               if p.endswith(("noise_dishes.wav", "silence_roomtone.wav"))},
    }


def time_per_window(pcm: np.ndarray, chunk_s: float = 0.02, repeats: int = 3) -> dict[str, float]:
    """µs per 30 ms window: live-style 20 ms chunks, and the whole file in one call (best of ``repeats``)."""
    step = int(chunk_s * SR)
    live, whole = [], []
    for _ in range(repeats):
        a = AudioAnalyzer()
        t = time.perf_counter()
        n = 0
        for i in range(0, len(pcm), step):
            n += len(a.feed(pcm[i : i + step]))
        n += len(a.flush())
        live.append((time.perf_counter() - t) / n * 1e6)
        t = time.perf_counter()
        n = len(analyze_audio(pcm))
        whole.append((time.perf_counter() - t) / n * 1e6)
    return {"live_20ms_chunks_us": min(live), "whole_file_us": min(whole)}


def main(argv: list[str]) -> int:
    data_dir = Path(argv[1]) if len(argv) > 1 else REPO.parent / "shared" / "data"
    r = evaluate_audio(data_dir)
    print(f"{'file':42s} {'win':>5s} {'speech':>6s} {'recall':>7s} {'FP share':>8s} | webrtcvad: {'recall':>6s} {'FP':>6s}")
    fmt = lambda v: "   -  " if v is None else f"{v:6.3f}"  # noqa: E731
    for p, f in r["files"].items():
        print(f"{p:42s} {f['windows']:5d} {f['speech_windows']:6d} {fmt(f['recall']):>7s} "
              f"{fmt(f['false_positive_share']):>8s} |            {fmt(f['webrtcvad_recall'])} "
              f"{fmt(f['webrtcvad_false_positive_share'])}")
    for p, f in r["files"].items():
        if f["label_source"].startswith("energy"):
            print(f"  labels {p}: {f['segments']} ({f['label_source']})")
    q, b = r["pooled"], r["baseline_webrtcvad"]
    print(f"pooled: precision {q['precision']:.3f} recall {q['recall']:.3f} F1 {q['f1']:.3f} "
          f"(tp {q['tp']} fp {q['fp']} fn {q['fn']})")
    print(f"plain webrtcvad mode 2: precision {b['precision']:.3f} recall {b['recall']:.3f} F1 {b['f1']:.3f}")
    for p, s in r["false_speech_share"].items():
        print(f"share of windows called speech in {p}: {s:.3f}")
    pcm = read_audio(data_dir / "audio" / "speech_conversation_2speakers.wav")
    t = time_per_window(pcm)
    print(f"cost per 30 ms window: {t['live_20ms_chunks_us']:.0f} µs fed in 20 ms chunks, "
          f"{t['whole_file_us']:.0f} µs for a whole file (best of 3, one core, shared machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
