"""The audio stage: 16 kHz mono PCM in, one :class:`~proctor.signals.AudioSignals` per 30 ms window out.

Per window (480 samples at 16 kHz):

- ``dbfs``: RMS level relative to full scale, ``20*log10(rms / 32768)``. A full-scale square wave is
  0 dBFS and a full-scale sine is -3.01 dBFS (the RMS convention, not AES-17's +3 dB sine convention).
  Digital silence is reported as ``MIN_DBFS`` (-120), never ``-inf``.
- ``vad``: webrtcvad's raw decision. It also fires on dishes, running water, white noise and typing.
- ``speech``: ``vad`` confirmed by the voicing check below (so ``speech`` implies ``vad``).
- ``score``: 0..1, the smoothed voicing evidence; ``speech`` is ``vad and score >= 0.5``.

The voicing check (what rejects noise that webrtcvad calls speech):

1. *Periodicity*: the normalised autocorrelation (Boersma's window-corrected estimate) of a 64 ms Hann
   window centred on the 30 ms window, band-limited to 80-800 Hz (soft skirts to 40 and 1200 Hz), maximised
   over pitch lags of 70-400 Hz. Voiced speech is periodic (> 0.7); clatter, water, broadband fan noise,
   white noise and typing are not. A tone above ~400 Hz (beeps, ringing) has a strong autocorrelation peak at
   its own, shorter period (0.67-2.5 ms), which no voice has, and is rejected.
2. *Above the noise floor*: the band energy must stand ``floor_margin_db`` above its minimum over
   the last ``floor_window_s`` seconds, which rejects steady periodic noise (mains hum, fans, motors).
3. *Level*: the window must be louder than ``min_level_dbfs``.

A window that passes all three is *voiced*. Speech is syllabic: ``score`` counts voiced windows within
+-``smooth_radius`` windows (about +-300 ms), reaching 0.5 at ``min_voiced`` of them. Decisions therefore lag
the input by ``smooth_radius`` windows plus 272 samples (~317 ms in all); :meth:`AudioAnalyzer.flush`
emits the last ones at the end of a stream.

Steady noise is rejected by (2), impulsive broadband noise by (1). Known limits: a sustained pure tone
between 70 and 400 Hz that starts suddenly counts as voiced until the floor catches up (``floor_window_s``);
singing, and speech from a TV or radio, count as speech (which a proctor wants to hear about anyway).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import webrtcvad
from scipy.fft import next_fast_len

from proctor.media import MediaError
from proctor.settings import EngineSettings
from proctor.signals import AudioSignals

SAMPLE_RATE = 16000
FULL_SCALE = 32768.0
MIN_DBFS = -120.0
_PUSH_BLOCK = 1 << 16  # samples analysed per batch (~4 s): bounds memory when a whole recording is fed at once


@dataclass(frozen=True)
class AudioParams:
    """The audio stage's constants, calibrated once on the whole of ``data/audio`` (see benchmarks/audio_eval.py)."""

    window_s: float = 0.03  # one AudioSignals per window; webrtcvad takes 10/20/30 ms
    vad_mode: int = 2  # webrtcvad aggressiveness 0..3
    analysis_samples: int = 1024  # pitch analysis window (64 ms at 16 kHz), centred on each 30 ms window
    band_hz: tuple[float, float] = (80.0, 800.0)  # band for periodicity and floor energy (flat part) ...
    band_edges_hz: tuple[float, float] = (40.0, 1200.0)  # ... with raised-cosine skirts out to these
    pitch_hz: tuple[float, float] = (70.0, 400.0)
    tone_hz: float = 1500.0  # periods from 1/tone_hz to 1/pitch_max are checked for a tone (see _Voicing)
    tone_ratio: float = 0.8  # a local autocorrelation peak there this strong relative to the pitch peak: a tone
    periodicity: float = 0.7  # voiced when the normalised autocorrelation peak is above this
    min_level_dbfs: float = -55.0
    floor_window_s: float = 3.0
    floor_margin_db: float = 6.0
    smooth_radius: int = 10  # windows each side (10 x 30 ms = 300 ms)
    min_voiced: int = 4  # voiced windows within the 2*radius+1 span for score 0.5


def dbfs(pcm: np.ndarray) -> float:
    """RMS level of int16-scaled samples in dB relative to full scale (full-scale sine: -3.01 dBFS)."""
    x = np.asarray(pcm, dtype=np.float64)
    if x.size == 0:
        return MIN_DBFS
    ms = float(np.mean(x * x))
    if ms <= 0.0:
        return MIN_DBFS
    return max(MIN_DBFS, float(10.0 * np.log10(ms / FULL_SCALE**2)))


# --------------------------------------------------------------------------------------------------------
# Reading


def read_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The audio of a WAV (or any FFmpeg-readable audio file) or of a video's audio track: int16 mono.

    Raises :class:`MediaError` for a missing or unreadable file, a file with no audio track, or no samples.
    """
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"{p}: no such file")
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:  # type: ignore[attr-defined]
        raise MediaError(f"{p}: not a readable audio or video file ({exc})") from exc
    with container:
        if not container.streams.audio:
            raise MediaError(f"{p}: has no audio track")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        parts: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
        except av.error.FFmpegError as exc:  # type: ignore[attr-defined]
            raise MediaError(f"{p}: corrupt audio data ({exc})") from exc
    pcm = np.concatenate(parts).astype(np.int16, copy=False) if parts else np.zeros(0, np.int16)
    if pcm.size == 0:
        raise MediaError(f"{p}: the audio track has no decodable samples")
    return pcm


class _Resampler:
    """Streaming conversion of any rate / layout / sample format to int16 mono 16 kHz (FFmpeg's swresample).

    swresample holds a few samples back (its filter delay); ``push`` also returns how many output samples were
    owed before this frame, so the caller can time what comes out.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._swr: av.AudioResampler | None = None
        self._owed = 0.0  # input converted to 16 kHz samples, minus output samples given back

    def push(self, frame: av.AudioFrame | None) -> tuple[np.ndarray, float]:
        owed_before = self._owed
        out: list[np.ndarray] = []
        key = None if frame is None else (frame.sample_rate, frame.format.name, frame.layout.name)
        if self._swr is not None and (frame is None or key != self._key):
            out += [f.to_ndarray().reshape(-1) for f in self._swr.resample(None)]  # drain the old input kind
            self._swr = None
        if frame is not None:
            if self._swr is None:
                self._swr = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
                self._key = key
            frame.pts = None  # timing is ours; swr must not insert silence for pts gaps
            self._owed += frame.samples * SAMPLE_RATE / frame.sample_rate
            out += [f.to_ndarray().reshape(-1) for f in self._swr.resample(frame)]
        pcm = np.concatenate(out).astype(np.int16, copy=False) if out else np.zeros(0, np.int16)
        self._owed = 0.0 if frame is None else self._owed - pcm.size
        return pcm, owed_before


# --------------------------------------------------------------------------------------------------------
# Per-window features (pure, vectorised over a batch of windows)


def _band_weights(f: np.ndarray, f0: float, f1: float, f2: float, f3: float) -> np.ndarray:
    """1 on [f1, f2], raised-cosine skirts down to 0 at f0 and f3. Soft edges keep a tone just outside the band
    from turning into an artificial, slowly decaying autocorrelation."""
    w = np.zeros_like(f)
    w[(f >= f1) & (f <= f2)] = 1.0
    lo = (f > f0) & (f < f1)
    w[lo] = 0.5 - 0.5 * np.cos(np.pi * (f[lo] - f0) / (f1 - f0))
    hi = (f > f2) & (f < f3)
    w[hi] = 0.5 + 0.5 * np.cos(np.pi * (f[hi] - f2) / (f3 - f2))
    return w


class _Voicing:
    def __init__(self, p: AudioParams) -> None:
        n = p.analysis_samples
        self.n = n
        self.lag_lo = int(round(SAMPLE_RATE / p.pitch_hz[1]))
        self.lag_hi = int(round(SAMPLE_RATE / p.pitch_hz[0]))
        self.lag_tone = int(round(SAMPLE_RATE / p.tone_hz))
        self.tone_ratio = p.tone_ratio
        # zero padding so the circular autocorrelation is exact up to lag_hi
        self.nfft = next_fast_len(n + self.lag_hi + 1, real=True)
        self.win = np.hanning(n)
        wac = np.fft.irfft(np.abs(np.fft.rfft(self.win, self.nfft)) ** 2, self.nfft)[: self.lag_hi + 1]
        self.wac = np.maximum(wac / wac[0], 1e-3)
        f = np.fft.rfftfreq(self.nfft, 1.0 / SAMPLE_RATE)
        self.band = _band_weights(f, p.band_edges_hz[0], p.band_hz[0], p.band_hz[1], p.band_edges_hz[1]) ** 2
        self.win_power = float(np.sum(self.win**2))

    def __call__(self, segs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """segs: (k, n) float64 -> (periodicity, band energy in dB re full scale) per row.

        No DC removal is needed: the band starts at 40 Hz, above the Hann window's DC leakage (~25 Hz).
        """
        spec = np.fft.rfft(segs * self.win, self.nfft, axis=1)
        power = spec.real * spec.real
        power += spec.imag * spec.imag
        power *= self.band
        ac = np.fft.irfft(power, self.nfft, axis=1)[:, self.lag_tone - 1 : self.lag_hi + 1]
        ac /= self.wac[self.lag_tone - 1 :]
        r0 = power.sum(axis=1) * (2.0 / self.nfft)  # = ac[0] up to the DC/Nyquist bins, which the band excludes
        best = ac[:, self.lag_lo - self.lag_tone + 1 :].max(axis=1)
        # local peaks at periods shorter than any voice's (400 Hz-1.5 kHz): a tone or ringing, whose multiples
        # also fill the pitch range. A voice has none as strong as its pitch peak.
        mid = ac[:, 1 : self.lag_lo - self.lag_tone + 1]
        peak = (mid >= ac[:, : self.lag_lo - self.lag_tone]) & (mid >= ac[:, 2 : self.lag_lo - self.lag_tone + 2])
        tone = np.where(peak, mid, -np.inf).max(axis=1)
        ok = (r0 > 1e-9) & (tone < self.tone_ratio * best)
        per = np.where(ok, best / np.where(r0 > 1e-9, r0, 1.0), 0.0)
        # mean square in the band (Parseval), in dB re full scale
        band_db = 10.0 * np.log10(np.maximum(r0 / self.win_power, 1e-12) / FULL_SCALE**2)
        return per, band_db


class _SlidingMin:
    """Minimum over the last ``size`` values (monotonic deque, O(1) amortised)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.i = 0
        self.q: deque[tuple[int, float]] = deque()

    def push(self, v: float) -> float:
        while self.q and self.q[-1][1] >= v:
            self.q.pop()
        self.q.append((self.i, v))
        while self.q[0][0] <= self.i - self.size:
            self.q.popleft()
        self.i += 1
        return self.q[0][1]


# --------------------------------------------------------------------------------------------------------
# The analyser


class AudioAnalyzer:
    """Streaming audio analysis. Feed chunks of any length; get AudioSignals for every finished 30 ms window.

    ``feed(pcm)`` takes int16 mono at ``sample_rate`` (resampled to 16 kHz inside when it is not 16000);
    ``feed_float(samples, rate)`` takes float samples in -1..1 at any rate (mono, or (n, channels));
    ``feed_frame(frame)`` takes a PyAV/aiortc ``AudioFrame`` in any format. Windows come out in order,
    ~317 ms after their samples went in; call :meth:`flush` at the end of the stream for the rest.
    """

    def __init__(self, settings: EngineSettings | None = None, sample_rate: int = SAMPLE_RATE,
                 params: AudioParams | None = None) -> None:
        self.settings = settings or EngineSettings()
        self.params = p = params or AudioParams()
        self.sample_rate = int(sample_rate)
        self.hop = int(round(p.window_s * SAMPLE_RATE))
        if self.hop * 1000 // SAMPLE_RATE not in (10, 20, 30):
            raise ValueError("window_s must be 0.01, 0.02 or 0.03 (webrtcvad)")
        self._vad = webrtcvad.Vad(p.vad_mode)
        self._voicing = _Voicing(p)
        self._margin = (p.analysis_samples - self.hop) // 2  # samples of context each side of a window
        self._start(0.0)

    def _start(self, t: float) -> None:
        """A fresh stream whose next sample is at time ``t``."""
        p = self.params
        self._floor = _SlidingMin(max(1, int(round(p.floor_window_s / p.window_s))))
        self._resampler = _Resampler()
        # sample buffer: starts `_margin` samples before the next window to analyse
        self._buf = np.zeros(self._margin, np.float64)  # zeros before the stream starts
        # time of _buf[0] = _t_anchor + _n_from_anchor / SAMPLE_RATE (integer count: chunking cannot drift it)
        self._t_anchor = float(t)
        self._n_from_anchor = -self._margin
        self._pending: deque[tuple[float, float, bool, bool]] = deque()  # (t, dbfs, vad, voiced) to smooth
        self._history: deque[bool] = deque(maxlen=p.smooth_radius)  # voiced flags of already-emitted windows

    # ---- input ----------------------------------------------------------------------------------------
    def feed(self, pcm: np.ndarray, t0: float | None = None) -> list[AudioSignals]:
        """int16 mono samples at this analyser's ``sample_rate``; ``t0`` = time of the chunk's first sample."""
        x = np.asarray(pcm)
        if x.ndim != 1:
            raise ValueError(f"feed() takes mono 1-D samples, got shape {x.shape}")
        if x.size and x.dtype != np.int16:
            if x.dtype.kind not in "iu" or x.min() < -32768 or x.max() > 32767:
                raise TypeError(f"feed() takes int16 samples (got {x.dtype}); use feed_float() for floats")
        if self.sample_rate != SAMPLE_RATE:
            return self.feed_float(x.astype(np.float64) / FULL_SCALE, self.sample_rate, t0)
        return self._push(x.astype(np.int16, copy=False), t0)

    def feed_float(self, samples: np.ndarray, rate: int, t0: float | None = None) -> list[AudioSignals]:
        """Float samples in -1..1 at any ``rate``: shape (n,) or (n, channels) (channels are averaged)."""
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim == 2:
            x = x.mean(axis=1)
        if x.ndim != 1:
            raise ValueError(f"feed_float() takes (n,) or (n, channels) samples, got shape {x.shape}")
        if int(rate) == SAMPLE_RATE:
            return self._push(np.clip(np.round(x * FULL_SCALE), -32768, 32767).astype(np.int16), t0)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x.reshape(1, -1)), format="flt", layout="mono")
        frame.sample_rate = int(rate)
        return self.feed_frame(frame, t0)

    def feed_frame(self, frame: av.AudioFrame, t0: float | None = None) -> list[AudioSignals]:
        """A PyAV / aiortc audio frame (any rate, layout, sample format), e.g. WebRTC's 20 ms at 48 kHz."""
        pcm, owed = self._resampler.push(frame)
        if t0 is not None:  # the resampler held samples back: what comes out now started that much earlier
            t0 = float(t0) - owed / SAMPLE_RATE
        return self._push(pcm, t0)

    def flush(self) -> list[AudioSignals]:
        """End of stream: drain the resampler and decide every remaining full 30 ms window (a trailing partial
        window is dropped). The analyser then starts a fresh stream, timed on from the last window."""
        out = self._push(self._resampler.push(None)[0], None)
        n_full = (len(self._buf) - self._margin) // self.hop
        if n_full > 0 or self._pending:
            # pad with silence so the last windows get their analysis context, then decide with zeros ahead
            self._buf = np.concatenate([self._buf, np.zeros(self._margin + self.hop)])
            self._analyse_ready(limit=n_full)
        r = self.params.smooth_radius
        while self._pending:
            out.append(self._emit(extra_future=[False] * r))
        self._start(out[-1].t + out[-1].duration if out else self._time_of(self._margin))
        return out

    # ---- internals --------------------------------------------------------------------------------------
    def _time_of(self, i: int) -> float:
        """Session time of sample ``_buf[i]``."""
        return self._t_anchor + (self._n_from_anchor + i) / SAMPLE_RATE

    def _push(self, x: np.ndarray, t0: float | None) -> list[AudioSignals]:
        if t0 is not None:
            # re-anchor the timeline: the buffered samples end right where this chunk starts
            self._t_anchor = float(t0)
            self._n_from_anchor = -len(self._buf)
        out: list[AudioSignals] = []
        step = _PUSH_BLOCK
        for i in range(0, max(len(x), 1), step):  # bounded memory for long recordings
            if x.size:
                self._buf = np.concatenate([self._buf, x[i : i + step].astype(np.float64)])
            self._analyse_ready()
            while len(self._pending) > self.params.smooth_radius:
                out.append(self._emit())
        return out

    def _analyse_ready(self, limit: int | None = None) -> None:
        span = self.hop + 2 * self._margin
        k = max(0, (len(self._buf) - span) // self.hop + 1)
        if limit is not None:
            k = min(k, limit)
        if k == 0:
            return
        idx = np.arange(k)[:, None] * self.hop + np.arange(span)[None, :]
        segs = self._buf[idx]
        per, band_db = self._voicing(segs)
        p = self.params
        for j in range(k):
            win = segs[j, self._margin : self._margin + self.hop]
            level = dbfs(win)
            pcm16 = np.clip(win, -32768, 32767).astype(np.int16)
            vad = bool(self._vad.is_speech(pcm16.tobytes(), SAMPLE_RATE))
            floor = self._floor.push(float(band_db[j]))
            voiced = bool(per[j] > p.periodicity and level > p.min_level_dbfs
                          and band_db[j] - floor > p.floor_margin_db)
            t = self._time_of(j * self.hop + self._margin)
            self._pending.append((t, level, vad, voiced))
        consumed = k * self.hop
        self._buf = self._buf[consumed:]
        self._n_from_anchor += consumed

    def _emit(self, extra_future: list[bool] | None = None) -> AudioSignals:
        """Decide the oldest pending window from up to ``smooth_radius`` windows each side."""
        p = self.params
        r = p.smooth_radius
        t, level, vad, voiced = self._pending[0]
        future = [w[3] for w in list(self._pending)[1 : r + 1]]
        if extra_future:
            future += extra_future[: r - len(future)]
        count = sum(self._history) + voiced + sum(future)
        score = min(1.0, count / (2.0 * p.min_voiced))
        self._pending.popleft()
        self._history.append(voiced)
        return AudioSignals(t=round(t, 6), duration=self.hop / SAMPLE_RATE, dbfs=round(float(level), 3), vad=vad,
                            speech=bool(vad and score >= 0.5), score=round(score, 4))


def analyze_audio(pcm: np.ndarray, settings: EngineSettings | None = None,
                  sample_rate: int = SAMPLE_RATE) -> list[AudioSignals]:
    """A whole recording (int16 mono) at once: one AudioSignals per full 30 ms window, from t = 0."""
    analyzer = AudioAnalyzer(settings, sample_rate=sample_rate)
    out = analyzer.feed(np.asarray(pcm), t0=0.0)
    return out + analyzer.flush()


def analyze_audio_file(path: str | Path, settings: EngineSettings | None = None) -> list[AudioSignals]:
    """read_audio + analyze_audio."""
    return analyze_audio(read_audio(path), settings)
