"""The audio stage: 16 kHz mono PCM in, one :class:`~proctor.signals.AudioSignals` per 30 ms window out.

Per window (480 samples at 16 kHz):

- ``dbfs``: RMS level relative to full scale, ``20*log10(rms / 32768)``. A full-scale square wave is
  0 dBFS and a full-scale sine is -3.01 dBFS (the RMS convention, not AES-17's +3 dB sine convention).
  Digital silence is reported as ``MIN_DBFS`` (-120), never ``-inf``.
- ``vad``: webrtcvad's raw decision. It also fires on dishes, running water, white noise and typing.
- ``score``: 0..1, the speech probability of the Silero VAD model for the 32 ms chunk holding the window's centre
  (0 where the model did not run, see the gate below).
- ``speech``: the decision: on when ``score`` reaches ``settings.audio.threshold``, held while it stays at or
  above ``release_threshold`` and for ``hangover_s`` after (Silero's own hysteresis).

The detector is Silero VAD v6 (MIT; ``models/manifest.toml``: the 16 kHz *sequence* ONNX export of the
``silero-vad`` wheel, run with onnxruntime on one thread, no torch). It is a small LSTM trained on speech in
many languages, rooms, microphones and noises, so it holds on telephone-band, far-field, reverberant and noisy
speech where the hand-made voicing check it replaces (pitch periodicity over a noise floor, calibrated on
data/audio) did not, and it calls steady and impulsive noise (fans, dishes, typing, hum, beeps) not speech.

Cost: the model takes 512-sample (32 ms) chunks with 64 samples of context; ``block_chunks`` of them go to
onnxruntime in one call (the sequence export gives the streaming model's output bit for bit, whatever the block
size). The *gate*: a block is only given to the model when webrtcvad (~3 us per window) fired on a window inside
it or within ``gate_lookback_s`` before it, or the previous block's last probability was at least
``release_threshold``; otherwise its chunks get probability 0 and the model's state starts afresh. Silence and
room tone, the usual state of an exam room, then cost almost nothing. Blocks are aligned on the stream's sample
count, so feeding the same audio in any chunk sizes gives the same output. Decisions lag the input by at most
one block plus one window (~290 ms at the defaults); :meth:`AudioAnalyzer.flush` emits the last ones.
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache
from pathlib import Path

import av
import numpy as np
import webrtcvad

from proctor.media import MediaError
from proctor.settings import AudioSettings, EngineSettings
from proctor.signals import AudioSignals

SAMPLE_RATE = 16000
FULL_SCALE = 32768.0
MIN_DBFS = -120.0
_PUSH_BLOCK = 1 << 16  # samples analysed per batch (~4 s): bounds memory when a whole recording is fed at once
WINDOW = 480  # 30 ms: one AudioSignals each (webrtcvad takes 10/20/30 ms)
CHUNK = 512  # Silero VAD's chunk at 16 kHz (32 ms) ...
CONTEXT = 64  # ... with the 64 samples before it


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
# The model


@lru_cache(maxsize=1)
def _silero_session():
    """One onnxruntime session per process (``run`` is thread-safe); one thread, CPU only."""
    import onnxruntime as ort

    from proctor.model_files import model_path

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # the export carries unused initialisers: onnxruntime warns about them on load
    return ort.InferenceSession(str(model_path("silero_vad")), sess_options=opts, providers=["CPUExecutionProvider"])


class SileroVad:
    """Silero VAD's speech probability per 32 ms chunk, streaming: the LSTM state is carried between calls."""

    def __init__(self) -> None:
        self._session = _silero_session()
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        """rows: (k, 576) float32 in -1..1, each a chunk preceded by its 64 samples of context -> (k,) probabilities."""
        probs, self._h, self._c = self._session.run(None, {"input": rows, "h": self._h, "c": self._c})
        return np.asarray(probs, np.float64).reshape(-1)


# --------------------------------------------------------------------------------------------------------
# The analyser


class AudioAnalyzer:
    """Streaming audio analysis. Feed chunks of any length; get AudioSignals for every finished 30 ms window.

    ``feed(pcm)`` takes int16 mono at ``sample_rate`` (resampled to 16 kHz inside when it is not 16000);
    ``feed_float(samples, rate)`` takes float samples in -1..1 at any rate (mono, or (n, channels));
    ``feed_frame(frame)`` takes a PyAV/aiortc ``AudioFrame`` in any format. Windows come out in order,
    at most ~290 ms after their samples went in; call :meth:`flush` at the end of the stream for the rest.
    """

    def __init__(self, settings: EngineSettings | None = None, sample_rate: int = SAMPLE_RATE) -> None:
        self.settings = settings or EngineSettings()
        p: AudioSettings = self.settings.audio
        self.params = p
        if not 0.0 <= p.release_threshold <= p.threshold <= 1.0:
            raise ValueError("audio: need 0 <= release_threshold <= threshold <= 1")
        if p.block_chunks < 1:
            raise ValueError("audio: block_chunks must be at least 1")
        self.sample_rate = int(sample_rate)
        self.hop = WINDOW
        self._vad = webrtcvad.Vad(p.vad_mode)
        self._model = SileroVad()
        self._block = p.block_chunks * CHUNK
        self._lookback = int(round(p.gate_lookback_s * SAMPLE_RATE))
        self._hang_windows = int(round(p.hangover_s * SAMPLE_RATE / WINDOW))
        self._start(0.0)

    def _start(self, t: float) -> None:
        """A fresh stream whose next sample is at time ``t``."""
        self._resampler = _Resampler()
        self._model.reset()
        # samples from stream sample index _buf0 on (kept from CONTEXT before the next block: its context)
        self._buf = np.zeros(CONTEXT, np.int16)
        self._buf0 = -CONTEXT
        self._n = 0  # samples received in this stream
        self._t_anchor = float(t)  # time of stream sample _n_anchor (integer count: chunking cannot drift it)
        self._n_anchor = 0
        self._next_window = 0  # index of the next window whose level/vad is to be computed
        self._next_block = 0
        self._windows: deque[tuple[int, float, float, bool]] = deque()  # (index, t, dbfs, vad) not yet decided
        self._vad_ends: deque[int] = deque()  # end sample of recent windows webrtcvad called speech
        self._probs: dict[int, float] = {}  # chunk index -> probability, for chunks of undecided windows
        self._last_prob = 0.0
        self._speech = False
        self._hang = 0

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
        n_windows = self._n // WINDOW
        end = self._n
        if self._windows or self._next_window < n_windows:
            # pad with silence up to the end of the block holding the last full window's centre
            last_centre = (n_windows - 1) * WINDOW + WINDOW // 2 if n_windows else 0
            pad_to = (last_centre // self._block + 1) * self._block
            pad_to = max(pad_to, n_windows * WINDOW)
            if pad_to > self._n:
                self._append(np.zeros(pad_to - self._n, np.int16))
            out += self._analyse(max_window=n_windows)
        t_next = self._time_of(n_windows * WINDOW if n_windows else end)
        self._start(out[-1].t + out[-1].duration if out else t_next)
        return out

    # ---- internals --------------------------------------------------------------------------------------
    def _time_of(self, n: int) -> float:
        """Session time of stream sample ``n``."""
        return self._t_anchor + (n - self._n_anchor) / SAMPLE_RATE

    def _append(self, x: np.ndarray) -> None:
        self._buf = np.concatenate([self._buf, x])
        self._n += len(x)

    def _push(self, x: np.ndarray, t0: float | None) -> list[AudioSignals]:
        if t0 is not None:  # re-anchor the timeline: this chunk starts at t0
            self._t_anchor = float(t0)
            self._n_anchor = self._n
        out: list[AudioSignals] = []
        for i in range(0, len(x), _PUSH_BLOCK):  # bounded memory for long recordings
            self._append(x[i : i + _PUSH_BLOCK])
            if self._n >= (self._next_block + 1) * self._block:  # no window can be decided before its block
                out += self._analyse()
        return out

    def _analyse(self, max_window: int | None = None) -> list[AudioSignals]:
        self._measure_windows(max_window)
        self._run_blocks()
        out = self._decide()
        # keep samples from CONTEXT before the next block (and from the next window to measure)
        keep_from = min(self._next_block * self._block - CONTEXT, self._next_window * WINDOW)
        if keep_from > self._buf0:
            self._buf = self._buf[keep_from - self._buf0 :]
            self._buf0 = keep_from
        return out

    def _measure_windows(self, max_window: int | None) -> None:
        """Level and webrtcvad of every window whose samples are all in."""
        n_ready = self._n // WINDOW
        if max_window is not None:
            n_ready = min(n_ready, max_window)
        k = n_ready - self._next_window
        if k <= 0:
            return
        a = self._next_window * WINDOW - self._buf0
        pcm16 = self._buf[a : a + k * WINDOW].reshape(k, WINDOW)
        w = pcm16.astype(np.float64)
        ms = np.einsum("ij,ij->i", w, w) / WINDOW
        levels = np.maximum(MIN_DBFS, 10.0 * np.log10(np.maximum(ms, 1e-300) / FULL_SCALE**2))
        levels[ms <= 0.0] = MIN_DBFS
        for j in range(k):
            idx = self._next_window + j
            vad = bool(self._vad.is_speech(pcm16[j].tobytes(), SAMPLE_RATE))
            if vad:
                self._vad_ends.append((idx + 1) * WINDOW)
            self._windows.append((idx, self._time_of(idx * WINDOW), float(levels[j]), vad))
        self._next_window = n_ready

    def _run_blocks(self) -> None:
        """Speech probabilities of every block whose samples are all in (and whose windows are measured)."""
        per = self._block // CHUNK
        while (self._next_block + 1) * self._block <= self._n:
            b = self._next_block
            start, end = b * self._block, (b + 1) * self._block
            while self._vad_ends and self._vad_ends[0] <= start - self._lookback:
                self._vad_ends.popleft()
            gate = any(e <= end for e in self._vad_ends) or self._last_prob >= self.params.release_threshold
            if gate:
                seg = self._buf[start - CONTEXT - self._buf0 : end - self._buf0].astype(np.float32) / FULL_SCALE
                frames = seg[CONTEXT:].reshape(per, CHUNK)
                ctx = np.concatenate([seg[None, :CONTEXT], frames[:-1, -CONTEXT:]], axis=0)
                probs = self._model(np.ascontiguousarray(np.concatenate([ctx, frames], axis=1)))
            else:
                self._model.reset()
                probs = np.zeros(per)
            for i, pr in enumerate(probs):
                self._probs[b * per + i] = float(pr)
            self._last_prob = float(probs[-1])
            self._next_block += 1

    def _decide(self) -> list[AudioSignals]:
        """Emit, in order, every measured window whose chunk has its probability."""
        p = self.params
        out: list[AudioSignals] = []
        while self._windows:
            idx, t, level, vad = self._windows[0]
            chunk = (idx * WINDOW + WINDOW // 2) // CHUNK
            if chunk not in self._probs:
                break
            self._windows.popleft()
            prob = self._probs[chunk]
            if prob >= p.threshold or (self._speech and prob >= p.release_threshold):
                self._speech, self._hang = True, self._hang_windows
            elif self._speech and self._hang > 0:
                self._hang -= 1
            else:
                self._speech = False
            out.append(AudioSignals(t=round(t, 6), duration=WINDOW / SAMPLE_RATE, dbfs=round(level, 3), vad=vad,
                                    speech=self._speech, score=round(prob, 4)))
        if out:  # forget probabilities of chunks no longer needed
            first = ((self._windows[0][0] if self._windows else self._next_window) * WINDOW) // CHUNK
            for c in [c for c in self._probs if c < first]:
                del self._probs[c]
        return out


def analyze_audio(pcm: np.ndarray, settings: EngineSettings | None = None,
                  sample_rate: int = SAMPLE_RATE) -> list[AudioSignals]:
    """A whole recording (int16 mono) at once: one AudioSignals per full 30 ms window, from t = 0."""
    analyzer = AudioAnalyzer(settings, sample_rate=sample_rate)
    out = analyzer.feed(np.asarray(pcm), t0=0.0)
    return out + analyzer.flush()


def analyze_audio_file(path: str | Path, settings: EngineSettings | None = None) -> list[AudioSignals]:
    """read_audio + analyze_audio."""
    return analyze_audio(read_audio(path), settings)
