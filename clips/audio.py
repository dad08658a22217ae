"""Audio: voice-over from a pluggable text-to-speech backend, a self-made music bed ducked under it,
and the mix normalised to the destination's loudness (ITU-R BS.1770 via pyloudnorm) and true peak."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import yaml

from productreel import atomic
from productreel.errors import InputError, RenderError

RATE = 48_000
MUSIC_DIR = Path(__file__).resolve().parent / "music"
Segment = tuple[float, float, str]


# -- text to speech ---------------------------------------------------------------------------


@dataclass
class Speech:
    """Synthesized voice: mono float32 samples at RATE and the time span of each sentence."""

    samples: np.ndarray
    segments: list[Segment] = field(default_factory=list)
    backend: str = ""

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / RATE


class VoiceBackend(Protocol):
    """A text-to-speech engine: one sentence in, mono float32 samples at RATE out."""

    name: str

    def synthesize(self, text: str, voice: str, speed: float = 1.0) -> np.ndarray: ...


def _resample(x: np.ndarray, src: int, dst: int = RATE) -> np.ndarray:
    """Band-limited polyphase resampling (espeak's 22.05 kHz to 48 kHz is 320/147).

    A whole-signal FFT took 30 ms for a 3 s sentence, whose length rarely factors well; the
    polyphase filter takes 2 ms, and the voice is on the path to the clip's first frame.
    """
    from math import gcd

    from scipy.signal import resample_poly

    if src == dst or x.size == 0:
        return x.astype(np.float32)
    g = gcd(int(src), int(dst))
    return resample_poly(np.asarray(x, np.float32), dst // g, src // g).astype(np.float32)


def _read_wav(path: Path) -> tuple[int, np.ndarray]:
    from scipy.io import wavfile

    rate, data = wavfile.read(path)
    if data.dtype == np.int16:
        data = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:
        data = data.astype(np.float32) / 2147483648.0
    if data.ndim > 1:
        data = data.mean(axis=1)
    return rate, data.astype(np.float32)


class EspeakVoice:
    """espeak-ng in a subprocess (installed by deploy/system-deps.sh); voices like 'en-us', 'de', 'ja'."""

    name = "espeak-ng"
    parallel = True  # one process per sentence: they can run side by side

    def __init__(self, exe: str | None = None) -> None:
        self.exe = exe or shutil.which("espeak-ng") or shutil.which("espeak")
        if not self.exe:
            raise RenderError("espeak-ng is not installed (run deploy/system-deps.sh)", where="voice")

    def synthesize(self, text: str, voice: str, speed: float = 1.0) -> np.ndarray:
        """One sentence as samples; `speed` 1.0 is espeak's default 175 words a minute."""
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "v.wav"
            cmd = [self.exe, "-v", voice or "en", "-s", str(int(175 * speed)), "-w", str(out), "--", text]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0 or not out.exists():
                # An unknown voice is the usual cause; fall back to the language part, then English.
                base = (voice or "en").split("-")[0]
                if base != voice:
                    return self.synthesize(text, base, speed)
                raise RenderError(f"espeak-ng failed for voice {voice!r}: {res.stderr.strip()[:200]}", where="voice")
            rate, data = _read_wav(out)
        return _resample(data, rate)


class MmsVoice:
    """A transformers VITS/MMS model loaded from a local directory (never downloaded)."""

    name = "mms"

    def __init__(self, model_dir: Path) -> None:
        if not Path(model_dir).is_dir():
            raise InputError(f"voice model directory {model_dir} does not exist", where="voice")
        self.model_dir = Path(model_dir)
        self._model = None
        self._tok = None

    def synthesize(self, text: str, voice: str, speed: float = 1.0) -> np.ndarray:
        """One sentence through the local VITS model (voice is ignored: one model is one voice)."""
        import torch
        from transformers import AutoTokenizer, VitsModel

        if self._model is None:
            self._model = VitsModel.from_pretrained(self.model_dir, local_files_only=True).eval()
            self._tok = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
            self._model.speaking_rate = 1.0
        self._model.speaking_rate = speed
        inputs = self._tok(text, return_tensors="pt")
        with torch.no_grad():
            wav = self._model(**inputs).waveform[0].numpy()
        return _resample(wav, int(self._model.config.sampling_rate))


class SilentVoice:
    """No voice: a fake that times sentences by reading speed, for tests and machines without TTS."""

    name = "silent"

    def synthesize(self, text: str, voice: str, speed: float = 1.0) -> np.ndarray:
        """Silence as long as reading the sentence takes (15 characters a second)."""
        return np.zeros(int(RATE * max(0.3, len(text) / 15.0 / speed)), np.float32)


def default_voice() -> VoiceBackend:
    """The voice when no backend is given: espeak-ng, or silence on a machine without it. Choosing a voice by
    name or by market (Piper, Kokoro, MMS, ``auto``) is clips.voices' job: ``voice_backend`` and ``pick_voice``."""
    try:
        return EspeakVoice()
    except RenderError:
        return SilentVoice()


def sentences(text: str, locale: str | None = None) -> list[str]:
    """A script as sentences, split by ICU's sentence rules for ``locale`` (a locale or voice name).

    Prices, measures and abbreviations stay whole ("$18.00", "inkl. MwSt.", "No. 1"); see localization.segment.
    """
    from localization.segment import sentences as segment

    return segment(text, locale)


def speak(text: str, voice: str, duration: float, backend: VoiceBackend | None = None, gap: float | None = None) -> Speech:
    """Voice the script sentence by sentence, spread over `duration` (faster when it would not fit).

    Prices are said as people say them in the voice's language ("$18.00" → "18 dollars"); the segments
    keep the written sentence, which the captions show.
    """
    from localization.spoken import spoken_prices

    backend = backend or default_voice()
    parts = sentences(text, voice)
    if not parts:
        return Speech(np.zeros(0, np.float32), [], backend.name)
    said = [spoken_prices(p, voice) for p in parts]
    lead, min_gap = 0.15, 0.25
    speed = 1.0
    for _ in range(3):
        if getattr(backend, "parallel", False) and len(parts) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(4, len(parts))) as pool:
                clips = list(pool.map(lambda p: backend.synthesize(p, voice, speed), said))
        else:
            clips = [backend.synthesize(p, voice, speed) for p in said]
        spoken = sum(len(c) for c in clips) / RATE
        total = spoken + min_gap * (len(clips) - 1) + lead + 0.3
        if total <= duration or speed >= 1.5:
            break
        speed = min(1.5, speed * total / duration * 1.03)
    if gap is None:
        # Sentences breathe across the clip (up to 1.2 s apart) instead of bunching at the start.
        gap = min(1.2, max(min_gap, (duration - spoken - lead - 0.5) / max(1, len(clips))))
    out, segs, t = [np.zeros(int(lead * RATE), np.float32)], [], lead
    for p, c in zip(parts, clips):
        segs.append((round(t, 3), round(t + len(c) / RATE, 3), p))
        out += [c, np.zeros(int(gap * RATE), np.float32)]
        t += len(c) / RATE + gap
    samples = np.concatenate(out)[: int(duration * RATE)]
    segs = [(s, min(e, duration), p) for s, e, p in segs if s < duration]
    return Speech(samples, segs, backend.name)


# -- music ----------------------------------------------------------------------------------


def music_names() -> list[str]:
    """The music beds shipped with productreel."""
    return sorted(p.stem for p in MUSIC_DIR.glob("*.yaml"))


def _midi_hz(n: float) -> float:
    return 440.0 * 2 ** ((n - 69) / 12)


def music_bed(name: str, duration: float, seed: int = 0) -> np.ndarray:
    """A stereo [N, 2] float32 bed of `duration` seconds from the recipe clips/music/<name>.yaml.

    The recipe's chord loop is synthesized once (and cached) and repeated, so a bed of any
    length costs a copy; fades in and out are applied to the result.
    """
    loop = _music_loop(name, seed)
    n = int(round(duration * RATE))
    reps = -(-n // len(loop))
    bed = np.tile(loop, (reps, 1))[:n].copy()
    fade = min(int(0.5 * RATE), n // 4)
    if fade:
        ramp = np.linspace(0, 1, fade, dtype=np.float32)[:, None]
        bed[:fade] *= ramp
        bed[n - fade :] *= ramp[::-1]
    return bed


@lru_cache(maxsize=8)
def _music_loop(name: str, seed: int = 0) -> np.ndarray:
    """One seamless cycle of the recipe's chord progression (release tails wrap to the start)."""
    path = MUSIC_DIR / f"{name}.yaml"
    if not path.exists():
        raise InputError(f"music bed {name!r} not found; known: {', '.join(music_names())}", where="music")
    r = yaml.safe_load(path.read_text(encoding="utf-8"))
    beat0 = 60.0 / r["bpm"]
    cycle = beat0 * r.get("beats_per_chord", 4) * len(r["progression"])
    n_loop = int(round(cycle * RATE))
    duration = cycle + 2.0  # room for the last chord's tail, folded back onto the start below
    n = int(round(duration * RATE))
    t = np.arange(n, dtype=np.float64) / RATE
    beat = 60.0 / r["bpm"]
    chord_len = beat * r.get("beats_per_chord", 4)
    prog = r["progression"]
    root = r["root"]
    left = np.zeros(n)
    right = np.zeros(n)
    rng = np.random.default_rng(seed)
    pad, bass, arp = r.get("pad", {}), r.get("bass", {}), r.get("arp", {})
    n_chords = len(prog)
    for ci in range(n_chords):
        chord = prog[ci % len(prog)]
        t0 = ci * chord_len
        i0, i1 = int(t0 * RATE), min(n, int((t0 + chord_len + pad.get("release", 0.5)) * RATE))
        if i0 >= n:
            break
        tt = t[i0:i1] - t0
        # Pad: detuned sine pairs with a slow attack and release, spread across the stereo field.
        env = np.minimum(1.0, tt / pad.get("attack", 0.5)) * np.clip((chord_len + pad.get("release", 0.5) - tt) / pad.get("release", 0.5), 0, 1)
        det = 2 ** (pad.get("detune_cents", 6) / 1200)
        for k, semi in enumerate(chord):
            f = _midi_hz(root + semi)
            ph = rng.uniform(0, 2 * np.pi)
            v = (np.sin(2 * np.pi * f * tt + ph) + 0.5 * np.sin(2 * np.pi * f * 2.001 * tt)) * env * pad.get("gain", 0.15) / len(chord)
            w = np.sin(2 * np.pi * f * det * tt + ph) * env * pad.get("gain", 0.15) / len(chord)
            pan = 0.3 + 0.4 * (k / max(1, len(chord) - 1))
            left[i0:i1] += v * (1 - pan) + w * pan
            right[i0:i1] += v * pan + w * (1 - pan)
        # Bass: the chord root an octave down, one note a beat with a soft decay.
        fb = _midi_hz(root + chord[0] - 12)
        for b in range(r.get("beats_per_chord", 4)):
            s0 = int((t0 + b * beat) * RATE)
            s1 = min(n, s0 + int(beat * RATE))
            if s0 >= n:
                break
            tb = t[s0:s1] - t[s0]
            v = np.sin(2 * np.pi * fb * tb) * np.exp(-tb * 3.0) * np.minimum(1, tb / 0.01) * bass.get("gain", 0.2)
            left[s0:s1] += v
            right[s0:s1] += v
        # Arpeggio: plucked chord tones, alternating sides.
        spb = arp.get("steps_per_beat", 2)
        step = beat / spb
        for si in range(int(chord_len / step)):
            s0 = int((t0 + si * step) * RATE)
            if s0 >= n:
                break
            s1 = min(n, s0 + int(step * 2 * RATE))
            tb = t[s0:s1] - t[s0]
            f = _midi_hz(root + 12 + chord[si % len(chord)])
            v = (np.sin(2 * np.pi * f * tb) + 0.3 * np.sin(4 * np.pi * f * tb)) * np.exp(-tb / arp.get("decay", 0.2)) * np.minimum(1, tb / 0.004) * arp.get("gain", 0.1)
            pan = 0.35 if si % 2 else 0.65
            left[s0:s1] += v * (1 - pan) * 2
            right[s0:s1] += v * pan * 2
    out = np.stack([left, right], axis=1)
    loop = out[:n_loop].copy()
    loop[: n - n_loop] += out[n_loop:]
    return loop.astype(np.float32)


# -- mix and loudness -------------------------------------------------------------------------


def duck_envelope(segments: list[Segment], n: int, depth_db: float = -12.0, ramp: float = 0.2) -> np.ndarray:
    """Gain for the music: lowered by `depth_db` while the voice speaks, with smooth ramps."""
    g = np.ones(n, np.float32)
    low = 10 ** (depth_db / 20)
    for s, e, _ in segments:
        a, b = max(0, int((s - ramp) * RATE)), min(n, int((e + ramp) * RATE))
        g[a:b] = low
    # A moving average (cumulative sums: O(n), where np.convolve with a 0.2 s kernel is O(n*k)).
    k = max(1, int(ramp * RATE))
    c = np.concatenate([[0.0], np.cumsum(np.pad(g, (k // 2, k - k // 2), mode="edge"), dtype=np.float64)])
    return ((c[k:] - c[:-k]) / k)[:n].astype(np.float32)


def true_peak(x: np.ndarray) -> float:
    """True peak in dBTP (4x oversampled, per ITU-R BS.1770-4 Annex 2)."""
    if x.size == 0:
        return -np.inf
    peak = float(_peak_envelope(x).max())
    return 20 * np.log10(peak) if peak > 0 else -np.inf


# ITU-R BS.1770-4 Annex 2: the 4x true-peak interpolator, 4 phases of 12 taps (phase p gives the
# point p/4 of a sample after the centre tap). Interleaved, they are one 48-tap FIR for upfirdn.
_TRUE_PEAK_PHASES = np.array([
    [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000, -0.0594482421875, 0.1373291015625,
     0.9721679687500, -0.1022949218750, 0.0476074218750, -0.0266113281250, 0.0148925781250, -0.0083007812500],
    [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250, -0.1665039062500, 0.4650878906250,
     0.7797851562500, -0.2003173828125, 0.1015625000000, -0.0582275390625, 0.0330810546875, -0.0189208984375],
    [-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000, -0.2003173828125, 0.7797851562500,
     0.4650878906250, -0.1665039062500, 0.0891113281250, -0.0517578125000, 0.0292968750000, -0.0291748046875],
    [-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750, -0.1022949218750, 0.9721679687500,
     0.1373291015625, -0.0594482421875, 0.0332031250000, -0.0196533203125, 0.0109863281250, 0.0017089843750],
])
_TRUE_PEAK_FIR = _TRUE_PEAK_PHASES.T.ravel().astype(np.float32)
_TRUE_PEAK_DELAY = 6  # input samples between x[n] and the phase-0 output that reproduces it


def _peak_envelope(x: np.ndarray, block: int = 5 * RATE) -> np.ndarray:
    """Per-sample peak of the 4x oversampled signal over all channels (the true-peak envelope).

    Uses the standard's own 48-tap interpolator in float32 (a third of the cost of a generic
    resampler's longer filter), in 5 s blocks so a 90 s mix never holds a 4x copy of itself.
    """
    from scipy.signal import upfirdn

    x = np.asarray(x, np.float32).reshape(x.shape[0], -1)
    n, d = x.shape[0], _TRUE_PEAK_DELAY
    taps = len(_TRUE_PEAK_FIR) // 4
    env = np.empty(n, np.float32)
    for a in range(0, n, block):
        b = min(n, a + block)
        lo, hi = max(0, a - taps), min(n, b + taps)
        up = upfirdn(_TRUE_PEAK_FIR, x[lo:hi], 4, 1, axis=0)  # y[4m + p] interpolates near x[m - d]
        # Output frame m + d holds the four phases around input sample m. The max over each group of
        # 4 x channels values runs as strided elementwise maxima (numpy's small-axis reduction is 4x slower).
        first, last = a - lo + d, b - lo + d
        group = up[4 * first : 4 * last].reshape(-1, 4 * x.shape[1])
        frames = np.abs(group[:, 0])
        for i in range(1, group.shape[1]):
            np.maximum(frames, np.abs(group[:, i]), out=frames)
        env[a : a + len(frames)] = frames
        if a + len(frames) < b:  # the clip's last samples: their filter tail is cut, so take the samples themselves
            env[a + len(frames) : b] = np.abs(x[a + len(frames) : b]).max(axis=1)
    return env


def _limiter_gain(env: np.ndarray, ceiling_db: float) -> np.ndarray:
    """A look-ahead limiter's gain: it dips 5 ms ahead of peaks above the ceiling and recovers smoothly."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    need = np.minimum(1.0, 10 ** (ceiling_db / 20) / np.maximum(env, 1e-9))
    look = int(0.005 * RATE)
    gain = uniform_filter1d(minimum_filter1d(need, size=2 * look + 1), size=look)
    return np.minimum(gain, need)


def normalize(x: np.ndarray, target_lufs: float = -14.0, peak_dbtp: float = -1.0) -> tuple[np.ndarray, float, float]:
    """Scale to the integrated loudness target, limit to the true-peak ceiling; returns (audio, lufs, dbtp).

    The oversampled peak envelope is computed once; make-up gain and limiter are then solved in the
    gain domain (a gain curve scales the envelope with the signal), so each step is cheap.
    """
    import pyloudnorm

    meter = pyloudnorm.Meter(RATE)
    if x.shape[0] < int(0.5 * RATE) or not np.any(x):
        return x, float("-inf"), float("-inf")
    lufs = meter.integrated_loudness(x)
    if not np.isfinite(lufs):
        return x, lufs, true_peak(x)
    env = _peak_envelope(x)
    makeup = 10 ** ((target_lufs - lufs) / 20)
    # AAC adds some overshoot; limiting 0.7 dB under the ceiling leaves room (encode_soundtrack checks).
    ceiling = peak_dbtp - 0.7
    y = x
    for _ in range(4):
        g = makeup * _limiter_gain(env * makeup, ceiling)
        y = (x * g[:, None]).astype(np.float32)
        lufs = meter.integrated_loudness(y)
        if abs(lufs - target_lufs) < 0.2:
            break
        makeup *= 10 ** ((target_lufs - lufs) / 20)
    return y, float(lufs), float(20 * np.log10(max(1e-12, float((env * g).max()))))


@dataclass
class Mix:
    """The finished soundtrack and what went into it."""

    samples: np.ndarray  # [N, 2] float32 at RATE
    lufs: float
    true_peak: float
    segments: list[Segment]
    voice: str
    music: str | None


def mix_soundtrack(
    speech: Speech,
    duration: float,
    *,
    music: str | None,
    target_lufs: float = -14.0,
    peak_dbtp: float = -1.0,
    seed: int = 0,
) -> Mix:
    """A voice-over plus a music bed ducked under it, normalised to the target, exactly `duration` long."""
    n = int(round(duration * RATE))
    mix = np.zeros((n, 2), np.float32)
    spoken = bool(speech.samples.size and np.any(speech.samples))
    if spoken:
        v = np.zeros(n, np.float32)
        m = min(n, speech.samples.size)
        v[:m] = speech.samples[:m]
        mix += (v / (float(np.max(np.abs(v))) or 1.0) * 0.7)[:, None]
    if music:
        bed = music_bed(music, duration, seed)[:n]
        # Music sits about 18 dB under the voice while it speaks and about 6 dB under it otherwise.
        gain = duck_envelope(speech.segments, n) if spoken and speech.segments else np.ones(n, np.float32)
        mix[: len(bed)] += bed * gain[: len(bed), None] * (0.5 if spoken else 1.0)
    out, lufs, tp = normalize(mix, target_lufs, peak_dbtp)
    return Mix(out, lufs, tp, speech.segments, speech.backend, music)


def make_soundtrack(
    text: str,
    voice: str,
    duration: float,
    *,
    music: str | None,
    target_lufs: float = -14.0,
    peak_dbtp: float = -1.0,
    backend: VoiceBackend | None = None,
    seed: int = 0,
) -> Mix:
    """Voice-over plus a ducked music bed, normalised to the target loudness, exactly `duration` long."""
    speech = speak(text, voice, duration, backend) if text.strip() else Speech(np.zeros(0, np.float32), [], "none")
    return mix_soundtrack(speech, duration, music=music, target_lufs=target_lufs, peak_dbtp=peak_dbtp, seed=seed)


def write_wav(samples: np.ndarray, path: Path) -> None:
    """16-bit PCM WAV at RATE, written atomically."""
    from scipy.io import wavfile

    buf = io.BytesIO()
    wavfile.write(buf, RATE, (np.clip(samples, -1, 1) * 32767).astype(np.int16))
    atomic.write_bytes(path, buf.getvalue())


def measure_loudness(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of a media file's audio, decoded by FFmpeg."""
    import pyloudnorm

    from clips.encode import ffmpeg_exe

    res = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-ac", "2", "-ar", str(RATE), "-f", "f32le", "-"],
        capture_output=True,
    )
    if res.returncode != 0:
        raise RenderError(f"cannot decode audio: {res.stderr.decode(errors='replace').strip()[:200]}", where=str(path))
    x = np.frombuffer(res.stdout, np.float32).reshape(-1, 2)
    return float(pyloudnorm.Meter(RATE).integrated_loudness(x)), true_peak(x)


def encode_soundtrack(mix: Mix, path: Path, target_lufs: float = -14.0, peak_dbtp: float = -1.0, tries: int = 3) -> Mix:
    """Encode the mix to AAC 48 kHz in `path` (.m4a) and verify the decoded result; when the codec's
    overshoot breaks the true-peak ceiling, limit harder and encode again. Returns the measured mix."""
    from clips.encode import ffmpeg_exe

    samples, ceiling = mix.samples, peak_dbtp
    lufs, tp = mix.lufs, mix.true_peak
    for _ in range(tries):
        wav = path.with_suffix(".wav")
        write_wav(samples, wav)
        # The "fast" coder: at 192 kb/s FFmpeg documents it as better than the default twoloop, and
        # it takes a third of the CPU time (twoloop was ~0.4 CPU-s of a 15 s ad's render).
        res = subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(wav), "-c:a", "aac", "-aac_coder", "fast", "-b:a", "192k",
                              "-ar", str(RATE), "-ac", "2", "-f", "mp4", str(path)], capture_output=True, text=True)
        wav.unlink(missing_ok=True)
        if res.returncode != 0:
            raise RenderError(f"AAC encoding failed: {res.stderr.strip()[-200:]}", where="audio")
        if not np.any(samples):
            return Mix(samples, float("-inf"), float("-inf"), mix.segments, mix.voice, mix.music)
        lufs, tp = measure_loudness(path)
        if tp <= peak_dbtp - 0.1 and abs(lufs - target_lufs) <= 0.5:
            break
        ceiling -= max(0.3, tp - (peak_dbtp - 0.2))
        samples, _, _ = normalize(samples, target_lufs, ceiling + 0.7)  # normalize() limits 0.7 dB under its argument
    return Mix(samples, lufs, tp, mix.segments, mix.voice, mix.music)


# -- one soundtrack for every format ------------------------------------------------------------

_SOUNDTRACKS: "OrderedDict[str, tuple[bytes, Mix]]" = OrderedDict()
_SOUNDTRACKS_LOCK = threading.Lock()
SOUNDTRACK_CACHE_SIZE = 16


def soundtrack_key(speech: Speech, duration: float, music: str | None, target_lufs: float, peak_dbtp: float) -> str:
    """What makes two clips' soundtracks identical: the spoken samples themselves (a stochastic
    voice model speaks differently each time), the length, the music bed and the loudness targets."""
    h = hashlib.sha256(np.ascontiguousarray(speech.samples, np.float32).tobytes())
    h.update(repr((speech.segments, speech.backend, round(duration, 4), music, target_lufs, peak_dbtp)).encode())
    return h.hexdigest()


def cached_soundtrack(key: str, path: Path) -> Mix | None:
    """Write the AAC soundtrack made earlier in this process for `key` to `path`; None when there is none.

    The formats of one ad (9:16, 1:1, 4:5, 16:9) share their voice, music and loudness target,
    so a campaign mixes and encodes the soundtrack once instead of once per format.
    """
    with _SOUNDTRACKS_LOCK:
        hit = _SOUNDTRACKS.get(key)
        if hit is not None:
            _SOUNDTRACKS.move_to_end(key)
    if hit is None:
        return None
    data, mix = hit
    path.write_bytes(data)
    return mix


def keep_soundtrack(key: str, path: Path, mix: Mix) -> None:
    """Remember an encoded soundtrack (the AAC bytes and its measurements, not the samples)."""
    slim = Mix(np.zeros((0, 2), np.float32), mix.lufs, mix.true_peak, list(mix.segments), mix.voice, mix.music)
    with _SOUNDTRACKS_LOCK:
        _SOUNDTRACKS[key] = (path.read_bytes(), slim)
        _SOUNDTRACKS.move_to_end(key)
        while len(_SOUNDTRACKS) > SOUNDTRACK_CACHE_SIZE:
            _SOUNDTRACKS.popitem(last=False)


def clear_soundtrack_cache() -> None:
    """Forget every remembered soundtrack (benchmarks time a clip's soundtrack too)."""
    with _SOUNDTRACKS_LOCK:
        _SOUNDTRACKS.clear()
