"""Narrations -> the video's AAC soundtrack, encoded a slide at a time and joined sample-exactly.

Encoding ten minutes of narration to AAC takes seconds, most of an edited re-run, so each slide's
sound is a *segment* of its own, kept by a key of its samples and settings
(:mod:`deck2video.segments`), and a run encodes only the segments it does not find.

Joining AAC segments naively is not exact: every encode starts with a priming frame (1024
samples of encoder delay) and ends on a whole frame. Here every slide lasts a multiple of 1024
samples (:data:`deck2video.timeline.SLIDE_GRID_MS`) and starts and ends in at least one frame of
silence (its padding), so a segment is its priming frame and then exactly one AAC frame per 1024
samples of the slide. The soundtrack keeps the first slide's priming frame (the MP4's edit list
skips it, as it does for any AAC track) and drops the others: a frame's overlap with the one
before it is silence on both sides of every join, so the decoded track is the narrations, sample
for sample where they are. Where the padding is shorter than a frame, the whole deck is one
segment. The missing segments are encoded in one run and cut at their frames.

Each slide's narration is normalised on its own (EBU R128 loudness, with a peak limiter), so a
slide's sound does not depend on the others'.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deck2video import segments
from deck2video.audio import SAMPLE_RATE, write_wav
from deck2video.config import ToolLimits
from deck2video.errors import ProcessingError
from deck2video.procs import Sandbox, run_tool
from deck2video.segments import Pieces

# The AAC encoder's frame, and its priming: one frame before the first sample.
AAC_FRAME = 1024
# EBU R128's loudness blocks: 400 ms, one every 100 ms, as ffmpeg's meter logs them.
_BLOCK = SAMPLE_RATE * 4 // 10
_STEP = SAMPLE_RATE // 10
_BLOCK_LINE = re.compile(r"\bt:\s*([\d.]+)\s.*?\bM:\s*(-?[\d.]+|-?inf)\b")
# Sample-peak ceiling after loudness gain: speech at -16 LUFS often peaks above full scale.
PEAK_CEILING_DBFS = -1.0
# The limiter's gain steps (10 ms): short enough to touch only the peaks of a word.
LIMITER_FRAME = SAMPLE_RATE // 100
# Measured loudness at or below this is silence: there is nothing to normalise.
SILENCE_LUFS = -70.0
# Make-up gain for what the limiter takes away: bounded, so a target far above what the peaks
# allow ends slightly quiet instead of flattened.
MAX_MAKEUP_DB = 3.0
MAX_LOUDNESS_ROUNDS = 6
# Mono speech at 24 kHz: 64 kb/s AAC-LC sounds clean, and the encoder runs ~35% faster than at
# 96 kb/s (measured on 10 minutes of narration). The "fast" coder is ~3x cheaper than the default
# and transparent enough for speech. Part of every segment's key.
ENCODER_ARGS = ("-c:a", "aac", "-aac_coder", "fast", "-b:a", "64k")


@dataclass(frozen=True)
class Slide:
    """One slide's sound: its narration (int16) after ``pad`` samples, in ``length`` samples."""

    narration: np.ndarray
    pad: int
    length: int  # a multiple of AAC_FRAME

    def __post_init__(self) -> None:
        if self.length % AAC_FRAME or self.pad + len(self.narration) > self.length:
            raise ValueError(f"slide of {self.length} samples: not whole AAC frames, or too short")


@dataclass(frozen=True)
class Soundtrack:
    path: Path  # ADTS: the first slide's priming frame, then one frame per 1024 samples
    built: tuple[int, ...]  # the slides (0-based) whose segments were encoded in this run


def build(
    slides: Sequence[Slide],
    work: Path,
    *,
    loudness_lufs: float,
    timeout: float,
    what: str,
    limits: ToolLimits | None,
    pieces: Pieces,
) -> Soundtrack:
    """The soundtrack of ``slides`` in ``work/audio.aac``, from kept segments and new ones."""
    groups = slide_groups(slides)
    keys = [group_key(slides, group, loudness_lufs) for group in groups]
    (work / "segments").mkdir(parents=True, exist_ok=True)
    frames: list[list[bytes] | None] = []
    for number, (group, key) in enumerate(zip(groups, keys, strict=True)):
        file = work / "segments" / f"{number:04d}.aac"
        kept = pieces.fetch("audio", key, file)
        frames.append(_read_segment(file, _frame_count(slides, group)) if kept else None)
    missing = [n for n, got in enumerate(frames) if got is None]
    if missing:
        new = _encode_groups(
            [[slides[i] for i in groups[n]] for n in missing], work / "new", loudness_lufs,
            timeout=timeout, what=what, limits=limits,
        )  # fmt: skip
        for n, made in zip(missing, new, strict=True):
            file = work / "segments" / f"{n:04d}.aac"
            file.write_bytes(b"".join(made))
            pieces.keep("audio", keys[n], file)
            frames[n] = made
    joined = [frame for n, got in enumerate(frames) for frame in (got or [])[0 if n == 0 else 1 :]]
    (work / "audio.aac").write_bytes(b"".join(joined))
    built = tuple(i for n in missing for i in groups[n])
    return Soundtrack(work / "audio.aac", built)


def slide_groups(slides: Sequence[Slide]) -> list[list[int]]:
    """Which slides share a segment: each its own when every slide starts and ends in a frame of
    silence, else all of them (a join inside speech would not be exact)."""
    if all(slide.pad >= AAC_FRAME for slide in slides):
        return [[i] for i in range(len(slides))]
    return [list(range(len(slides)))]


def group_key(slides: Sequence[Slide], group: Sequence[int], loudness_lufs: float) -> str:
    parts: list[str | bytes] = [" ".join(ENCODER_ARGS), f"{SAMPLE_RATE} Hz {loudness_lufs!r} LUFS"]
    for i in group:
        slide = slides[i]
        parts += [f"pad {slide.pad} length {slide.length}", slide.narration.astype("<i2").tobytes()]
    return segments.key(*parts)


def _frame_count(slides: Sequence[Slide], group: Sequence[int]) -> int:
    """A group's segment: its priming frame and a frame per 1024 samples."""
    return 1 + sum(slides[i].length for i in group) // AAC_FRAME


def _read_segment(file: Path, frames: int) -> list[bytes] | None:
    """A kept segment's frames, or None when it is not the segment it should be."""
    try:
        found = adts_frames(file.read_bytes(), what=str(file))
    except ProcessingError:
        return None
    return found if len(found) == frames else None


def _encode_groups(
    groups: Sequence[Sequence[Slide]],
    work: Path,
    loudness_lufs: float,
    *,
    timeout: float,
    what: str,
    limits: ToolLimits | None,
) -> list[list[bytes]]:
    """Encode the groups' normalised sound back to back in one run and cut it into a segment
    per group: the frame before a group's first (silence, like a priming frame) and its own."""
    work.mkdir(parents=True, exist_ok=True)
    tracks = [slide_track(slide) for group in groups for slide in group]
    measured = loudness(tracks, work, timeout=timeout, what=f"{what}: audio", limits=limits)
    normalised = [
        normalise(t, lufs, loudness_lufs) for t, lufs in zip(tracks, measured, strict=True)
    ]
    write_wav(work / "audio.wav", np.concatenate(normalised))
    run_tool(
        ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-y", "-i", work / "audio.wav",
         *ENCODER_ARGS, "-f", "adts", work / "audio.aac"],
        timeout=timeout, what=f"{what}: audio", limits=limits,
        sandbox=Sandbox(writable=(work.resolve(),)),
    )  # fmt: skip
    encoded = adts_frames((work / "audio.aac").read_bytes(), what=f"{what}: audio")
    sizes = [sum(slide.length for slide in group) // AAC_FRAME for group in groups]
    if len(encoded) != 1 + sum(sizes):
        raise ProcessingError(
            f"{what}: audio: {len(encoded)} AAC frames encoded, not {1 + sum(sizes)}"
        )
    cut, at = [], 0
    for size in sizes:
        cut.append(encoded[at : at + size + 1])
        at += size
    return cut


def slide_track(slide: Slide) -> np.ndarray:
    """The slide's float samples: silence, its narration after the padding, silence."""
    track = np.zeros(slide.length, dtype=np.float32)
    track[slide.pad : slide.pad + len(slide.narration)] = slide.narration / np.float32(32768)
    return track


def adts_frames(data: bytes, *, what: str) -> list[bytes]:
    """An ADTS stream's frames, each one AAC frame of 1024 samples; anything else is refused."""
    frames, at = [], 0
    while at < len(data):
        head = data[at : at + 7]
        if len(head) < 7 or head[0] != 0xFF or head[1] & 0xF6 != 0xF0 or head[6] & 0x03:
            raise ProcessingError(f"{what}: not one AAC frame per ADTS frame at byte {at}")
        size = ((head[3] & 0x03) << 11) | (head[4] << 3) | (head[5] >> 5)
        if size < 7 or at + size > len(data):
            raise ProcessingError(f"{what}: ADTS frame at byte {at} runs past the end")
        frames.append(data[at : at + size])
        at += size
    return frames


def mux_inputs(soundtrack: Path) -> list[str | Path]:
    """ffmpeg's input options for the soundtrack: shifted back by the priming frame, so the MP4's
    edit list skips it and the first sample plays at 0."""
    return ["-itsoffset", f"{-AAC_FRAME / SAMPLE_RATE:.6f}", "-f", "aac", "-i", soundtrack]


def loudness(
    tracks: Sequence[np.ndarray],
    work: Path,
    *,
    timeout: float,
    what: str,
    limits: ToolLimits | None = None,
) -> list[float | None]:
    """Each track's integrated loudness (LUFS, EBU R128), or None where it is silent.

    One run of ffmpeg's ebur128 meter over all of them, 400 ms of silence apart (no block of the
    meter then hears two tracks), rather than one each: a run costs ~0.3 s however short its
    input. Each track's blocks (400 ms, every 100 ms) are gated as R128 says: absolute at
    -70 LUFS, then relative at 10 LU under the loudness of those left.
    """
    starts, at = [], 0
    for track in tracks:
        at = -(-(at + _BLOCK) // _STEP) * _STEP  # a gap of a block, then the next 100 ms
        starts.append(at)
        at += len(track)
    stream = np.zeros(at + _BLOCK, dtype=np.float32)
    for track, start in zip(tracks, starts, strict=True):
        stream[start : start + len(track)] = track
    write_wav(work / "measure.wav", stream)
    result = run_tool(
        ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-i", work / "measure.wav",
         "-af", "ebur128=framelog=info", "-f", "null", "-"],
        timeout=timeout,
        what=f"{what} loudness",
        limits=limits,
        sandbox=Sandbox(read_only=((work / "measure.wav").resolve(),)),
    )  # fmt: skip
    (work / "measure.wav").unlink()
    blocks = [
        (round(float(t) * SAMPLE_RATE), float(m))
        for t, m in _BLOCK_LINE.findall(result.stderr.decode(errors="replace"))
    ]
    if not blocks and tracks:
        raise ProcessingError(f"{what} loudness: ffmpeg printed no momentary loudness")
    return [
        _gated([m for end, m in blocks if end > start and end - _BLOCK < start + len(track)])
        for track, start in zip(tracks, starts, strict=True)
    ]


def _gated(momentary: Sequence[float]) -> float | None:
    """R128's integrated loudness of blocks given as momentary loudness (LUFS)."""
    levels = np.array([m for m in momentary if m > SILENCE_LUFS])
    if not len(levels):
        return None
    power = 10 ** ((levels + 0.691) / 10)
    relative = -0.691 + 10 * math.log10(power.mean()) - 10
    lufs = -0.691 + 10 * math.log10(power[levels > relative].mean())
    return lufs if lufs > SILENCE_LUFS else None


def normalise(track: np.ndarray, measured_lufs: float | None, target_lufs: float) -> np.ndarray:
    """Linear gain to the target loudness, with a peak limiter so the gain cannot clip.

    Limiting loud speech takes some loudness away again (about 1 LU for plain TTS at -16 LUFS),
    so the gain is raised until the limited track reaches the target.
    Works on 10 ms frames and touches only the frames around peaks (10 minutes: well under 1 s).
    """
    if measured_lufs is None:
        return track
    frames = np.zeros((-(-len(track) // LIMITER_FRAME), LIMITER_FRAME), dtype=np.float32)
    frames.ravel()[: len(track)] = track
    peaks = np.abs(frames).max(axis=1)
    energy = np.square(frames, dtype=np.float64).sum(axis=1)
    speech = speech_frames(energy)
    speech_energy = energy[speech].sum() or 1.0
    ceiling = 10 ** (PEAK_CEILING_DBFS / 20)
    extra_db = 0.0
    for _ in range(MAX_LOUDNESS_ROUNDS):
        gain = 10 ** ((target_lufs - measured_lufs + extra_db) / 20)
        rows, envelope = limiter_envelope(peaks * gain, ceiling)
        kept = np.square(frames[rows] * envelope, dtype=np.float64).sum(axis=1)
        removed = (energy[rows] - kept)[speech[rows]].sum()
        loss_db = -10 * math.log10(max(1e-6, 1 - removed / speech_energy))
        # The loss is relative to the unlimited gained track, so the make-up that restores the
        # target is the loss itself; it grows a little with the gain, hence a few rounds.
        wanted = min(loss_db, MAX_MAKEUP_DB)
        if abs(wanted - extra_db) < 0.05:
            break
        extra_db = wanted
    frames *= np.float32(gain)
    frames[rows] *= envelope
    return frames.ravel()[: len(track)]


def speech_frames(energy: np.ndarray) -> np.ndarray:
    """Frames in 100 ms steps that count for loudness, gated like EBU R128 (-70 LUFS, -10 dB)."""
    per_step = 10
    steps = len(energy) // per_step
    power = energy[: steps * per_step].reshape(steps, per_step).sum(axis=1)
    power /= per_step * LIMITER_FRAME
    loud = power > 10 ** (SILENCE_LUFS / 10)
    if loud.any():
        loud &= power > power[loud].mean() / 10
    return np.r_[np.repeat(loud, per_step), np.zeros(len(energy) - steps * per_step, bool)]


def limiter_envelope(peaks: np.ndarray, ceiling: float) -> tuple[np.ndarray, np.ndarray]:
    """Gain ramps that keep every frame's peak under the ceiling: (frame rows, their gains).

    A frame's gain is the lowest safe gain of itself and its neighbours, interpolated between
    frame centres; at any sample the result is at most its own frame's safe gain, so the ceiling
    holds, and the gain moves in ramps rather than steps (no clicks).
    """
    safe = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12)).astype(np.float32)
    gains = safe.copy()
    gains[1:] = np.minimum(gains[1:], safe[:-1])
    gains[:-1] = np.minimum(gains[:-1], safe[1:])
    before = np.r_[gains[:1], gains[:-1]]
    after = np.r_[gains[1:], gains[-1:]]
    rows = np.flatnonzero(np.minimum(np.minimum(before, after), gains) < 1.0)
    half = LIMITER_FRAME // 2
    ramp = (np.arange(LIMITER_FRAME, dtype=np.float32) + half) % LIMITER_FRAME / LIMITER_FRAME
    first_half = np.arange(LIMITER_FRAME) < half
    here = gains[rows, None]
    neighbour = np.where(first_half, before[rows, None], after[rows, None])
    envelope = np.where(
        first_half, neighbour + (here - neighbour) * ramp, here + (neighbour - here) * ramp
    )
    return rows, envelope.astype(np.float32)
