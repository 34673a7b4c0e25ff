"""The one home of the pipeline's audio format: 24 kHz mono 16-bit WAV, its plumbing (WAV I/O,
resampling, silence, edge trimming), and its analysis: 20 ms frames, their levels, the one
speech detector and speech level that cleaning the reference (:mod:`deck2video.voice`) and
scoring the narration (:mod:`deck2video.quality`) both use, and the mel front end of the
scoring models.

Every stage speaks this format: the reference voice is cleaned into it, the speech backends
write it, the assembly reads it. Samples in memory are float32 in [-1, 1].
"""

from __future__ import annotations

import functools
import os
import tempfile
import wave
from pathlib import Path

import numpy as np
import soxr

from deck2video.errors import InputError

SAMPLE_RATE = 24_000
SAMPLES_PER_MS = SAMPLE_RATE // 1000
_PCM_SCALE = 32767.0

# --- analysis: frames, levels, speech --------------------------------------------------------
FRAME_SECONDS = 0.02
FRAME_SAMPLES = round(FRAME_SECONDS * SAMPLE_RATE)
# A frame quieter than this is never speech, whatever the audio's own levels are.
FLOOR_DBFS = -60.0
# Speech spans this many dB under its loudest frame (quiet consonants, word ends) ...
SPEECH_RANGE_DB = 40.0
# ... raised to this far above the noise floor in a noisy recording, though never closer than
# NOISE_CEILING_DB to the peak. The floor is the 2nd-percentile frame: a room's steady noise
# fills at least that much of any recording, while the quietest tenth of continuous speech
# with no pause in it (a Piper sentence) is quiet speech, not noise.
NOISE_MARGIN_DB = 12.0
NOISE_CEILING_DB = 15.0
NOISE_PERCENTILE = 2
# Audio with less than this between its floor and its peak is steady noise or hum: no speech.
MIN_SPEECH_DYNAMICS_DB = 10.0


def seconds_to_samples(seconds: float) -> int:
    return max(0, round(seconds * SAMPLE_RATE))


def silence(seconds: float) -> np.ndarray:
    return np.zeros(seconds_to_samples(seconds), dtype=np.float32)


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling (soxr's high quality), float32 mono in and out."""
    samples = np.asarray(samples, dtype=np.float32)
    if rate == target or samples.size == 0:
        return samples
    return soxr.resample(samples, rate, target, quality="HQ").astype(np.float32, copy=False)


def trim_edges(samples: np.ndarray, *, keep_seconds: float, threshold: float = 1e-3) -> np.ndarray:
    """Drop near-silence at both ends, keeping at most ``keep_seconds`` of it on each side.

    TTS output is clean (no room noise), so a fixed amplitude threshold is enough here.
    """
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return samples[:0]
    keep = seconds_to_samples(keep_seconds)
    start = max(0, int(loud[0]) - keep)
    end = min(samples.size, int(loud[-1]) + 1 + keep)
    return samples[start:end]


def frame_levels_db(samples: np.ndarray, frame_seconds: float = FRAME_SECONDS) -> np.ndarray:
    """RMS level of each ``frame_seconds`` frame in dBFS (the last frame zero-padded)."""
    size = round(frame_seconds * SAMPLE_RATE)
    frames = -(-samples.size // size)
    padded = np.zeros(frames * size, dtype=np.float64)
    padded[: samples.size] = samples
    power = np.mean(padded.reshape(frames, size) ** 2, axis=1)
    return 10.0 * np.log10(np.maximum(power, 1e-12))


def speech_frames(samples: np.ndarray) -> np.ndarray:
    """Which 20 ms frames of ``samples`` are speech (loud enough, judged against the audio's own
    peak and noise floor, see the constants above); all False for silence or steady noise."""
    levels = frame_levels_db(samples)
    if levels.size == 0:
        return np.zeros(0, dtype=bool)
    peak = float(levels.max())
    floor = float(np.percentile(levels, NOISE_PERCENTILE))
    if peak < FLOOR_DBFS or peak - floor < MIN_SPEECH_DYNAMICS_DB:
        return np.zeros(levels.size, dtype=bool)
    above_noise = min(floor + NOISE_MARGIN_DB, peak - NOISE_CEILING_DB)
    return levels > max(peak - SPEECH_RANGE_DB, above_noise, FLOOR_DBFS)


def speech_level_db(samples: np.ndarray, speech: np.ndarray) -> float | None:
    """RMS level in dBFS of the frames marked in ``speech`` (pauses do not dilute it); None
    when none is."""
    voiced = frames_audio(samples, speech).astype(np.float64)
    if voiced.size == 0:
        return None
    return 10.0 * float(np.log10(max(float(np.mean(voiced**2)), 1e-12)))


def frames_audio(samples: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The samples of the 20 ms frames marked in ``keep``, joined."""
    count = keep.size
    padded = np.zeros(count * FRAME_SAMPLES, dtype=np.float32)
    padded[: samples.size] = samples
    return padded.reshape(count, FRAME_SAMPLES)[keep].ravel()[: samples.size]


def frame_count(seconds: float) -> int:
    """Whole frames in ``seconds`` (at least one)."""
    return max(1, round(seconds / FRAME_SECONDS))


def frame_runs(flags: np.ndarray, *, minimum: int) -> list[tuple[int, int]]:
    """[start, end) frame indices of each run of True at least ``minimum`` frames long."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b - a >= minimum]


def frame_mask(runs: list[tuple[int, int]], size: int) -> np.ndarray:
    """``size`` frames, True inside each [start, end) run."""
    mask = np.zeros(size, dtype=bool)
    for start, end in runs:
        mask[start:end] = True
    return mask


def middle(samples: np.ndarray, length: float) -> np.ndarray:
    """At most ``length`` samples from the middle of ``samples``."""
    size = round(length)
    if samples.size <= size:
        return samples
    start = (samples.size - size) // 2
    return samples[start : start + size]


# --- the scoring models' mel front end -----------------------------------------------------------

MODEL_RATE = 16_000  # the speaker encoder and DNSMOS both hear 16 kHz
# (FFT size, hop, bands) of the models' front ends (librosa's melspectrogram: centred Hann
# windows, Slaney mels): resemblyzer's 25 ms every 10 ms into 40 bands; DNSMOS P.808's 20 ms
# (321 samples) every 10 ms into 120 bands.
ENCODER_MEL = (400, 160, 40)
P808_MEL = (321, 160, 120)


def mel_spectrogram(wav: np.ndarray, front_end: tuple[int, int, int] = ENCODER_MEL) -> np.ndarray:
    """Mel power spectrogram (frames, bands) of 16 kHz audio, as librosa's melspectrogram makes
    it: centred, zero-padded Hann windows of the FFT size every hop, Slaney mel filters.
    ``front_end`` is (FFT size, hop, bands): the speaker encoder's by default. (librosa's own
    would cost seconds per process to import.)"""
    size, hop, _ = front_end
    padded = np.pad(wav.astype(np.float32), size // 2)
    count = 1 + (padded.size - size) // hop
    frames = np.lib.stride_tricks.as_strided(
        padded,
        shape=(count, size),
        strides=(padded.strides[0] * hop, padded.strides[0]),
        writeable=False,
    )
    power = np.abs(np.fft.rfft(frames * _hann(size), axis=1)) ** 2
    return (power @ _mel_filters(size, front_end[2]).T).astype(np.float32)


@functools.cache
def _hann(size: int) -> np.ndarray:
    n = np.arange(size)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / size)).astype(np.float32)  # periodic


@functools.cache
def _mel_filters(size: int, bands: int) -> np.ndarray:
    """Slaney-style mel filter bank (bands, FFT bins), each triangle normalised to unit area."""
    bins = np.fft.rfftfreq(size, 1.0 / MODEL_RATE)
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(MODEL_RATE / 2), bands + 2))
    widths = np.diff(edges)
    ramps = edges[:, np.newaxis] - bins[np.newaxis, :]
    rising = -ramps[:-2] / widths[:-1, np.newaxis]
    falling = ramps[2:] / widths[1:, np.newaxis]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, np.newaxis]


# The Slaney mel scale: linear below 1 kHz (200/3 Hz a mel), logarithmic above.
_LINEAR_HZ_PER_MEL = 200.0 / 3
_LOG_FROM_HZ = 1000.0
_LOG_FROM_MEL = _LOG_FROM_HZ / _LINEAR_HZ_PER_MEL
_LOG_STEP = np.log(6.4) / 27.0


def _hz_to_mel(hz: float) -> float:
    if hz < _LOG_FROM_HZ:
        return hz / _LINEAR_HZ_PER_MEL
    return _LOG_FROM_MEL + float(np.log(hz / _LOG_FROM_HZ)) / _LOG_STEP


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    linear = mels * _LINEAR_HZ_PER_MEL
    logarithmic = _LOG_FROM_HZ * np.exp(_LOG_STEP * (mels - _LOG_FROM_MEL))
    return np.where(mels >= _LOG_FROM_MEL, logarithmic, linear)


def write_wav(path: Path, samples: np.ndarray) -> None:
    """Write 24 kHz mono 16-bit PCM; atomically, so a reader never sees half a file."""
    path = Path(path)
    pcm = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    data = np.round(pcm * _PCM_SCALE).astype("<i2").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_wav(path: Path) -> np.ndarray:
    """Read a WAV written by :func:`write_wav` as float32; any other format is refused."""
    path = Path(path)
    return read_pcm16(path, what=f"audio {path.name}").astype(np.float32) / _PCM_SCALE


def read_pcm16(path: Path, *, what: str, error: type[Exception] = InputError) -> np.ndarray:
    """The int16 samples of a 24 kHz mono 16-bit WAV; anything else raises ``error``.

    ``what`` names the file in the message; ``error`` says whose fault a wrong file is (a
    user's upload, or the pipeline's own narration).
    """
    try:
        with wave.open(str(path), "rb") as src:
            channels, width, rate = src.getnchannels(), src.getsampwidth(), src.getframerate()
            data = src.readframes(src.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise error(f"{what}: not a PCM WAV file ({exc})") from None
    if (channels, width, rate) != (1, 2, SAMPLE_RATE):
        raise error(
            f"{what}: {rate} Hz, {channels} channel(s), {8 * width}-bit; "
            f"expected {SAMPLE_RATE} Hz mono 16-bit"
        )
    return np.frombuffer(data, dtype="<i2")
