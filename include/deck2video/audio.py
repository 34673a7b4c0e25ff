"""The one home of the pipeline's audio format: 24 kHz mono 16-bit WAV, and its plumbing
(WAV I/O, resampling, silence, edge trimming).

Every stage speaks this format: the reference voice is cleaned into it, the speech backends
write it, the assembly reads it. Samples in memory are float32 in [-1, 1].
"""

from __future__ import annotations

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


def frame_levels_db(samples: np.ndarray, frame_seconds: float) -> np.ndarray:
    """RMS level of each ``frame_seconds`` frame in dBFS (the last frame zero-padded)."""
    size = round(frame_seconds * SAMPLE_RATE)
    frames = -(-samples.size // size)
    padded = np.zeros(frames * size, dtype=np.float64)
    padded[: samples.size] = samples
    power = np.mean(padded.reshape(frames, size) ** 2, axis=1)
    return 10.0 * np.log10(np.maximum(power, 1e-12))


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
