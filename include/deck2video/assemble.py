"""Slide stills + narration -> one MP4 with soft captions and a chapter per slide.

Slides are still, so the video is cheap: each still (a slide, or a step of its click build) is
read and encoded once and copied for as long as it is shown, at a steady frame rate
(:mod:`deck2video.timeline` says what is shown when, :mod:`deck2video.stills` encodes it). That
runs in parallel with the audio
(built in numpy, measured, AAC-encoded: ~5 s per 10 minutes, the longest step). A last
stream-copy mux adds captions and chapters. A keyframe starts every still and comes at least
every few seconds, so seeking lands on the slide (and step) that is on screen.

Timing is kept in whole frames (40 ms: 960 samples at 24 kHz), so the video, the audio, the
chapters and the captions agree exactly on every slide boundary.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from deck2video import stills
from deck2video.audio import SAMPLE_RATE, SAMPLES_PER_MS, read_pcm16, write_wav
from deck2video.captions import Cue, to_srt, to_vtt
from deck2video.config import ToolLimits
from deck2video.errors import InputError, ProcessingError
from deck2video.procs import Sandbox, run_tool
from deck2video.timeline import Shot, frames_ms, slide_shots, with_fades

# Below this a slide could not be seen, and the concat list needs a little room at the end.
MIN_SLIDE_MS = 100
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
# 96 kb/s (measured on 10 minutes of narration), which is most of an edited re-run's time.
AUDIO_BITRATE = "64k"


@dataclass(frozen=True)
class SlideClip:
    image: Path  # PNG already at the output size
    audio: Path  # 24 kHz mono WAV of the narration
    title: str
    cues: tuple[Cue, ...]  # relative to the start of `audio`
    # A click build: each step's still but the last (which is `image`), and when each step
    # starts, seconds into the narration (len(steps) + 1 starts, the first 0).
    steps: tuple[Path, ...] = ()
    step_starts: tuple[float, ...] = ()

    @property
    def stills(self) -> list[tuple[Path, float]]:
        images = [*self.steps, self.image]
        starts = self.step_starts or (0.0,)
        return list(zip(images, starts, strict=True))


@dataclass(frozen=True)
class Video:
    path: Path
    vtt: Path
    srt: Path
    duration: float
    intervals: tuple[tuple[float, float], ...]  # each slide's [start, end) in the video
    step_starts: tuple[tuple[float, ...], ...] = ()  # each slide's steps' starts in the video


def assemble_video(
    clips: Sequence[SlideClip],
    out_dir: Path,
    *,
    padding: float,
    min_slide_seconds: float,
    timeout: float,
    loudness_lufs: float = -16.0,
    tool_limits: ToolLimits | None = None,
    transition: str = "none",
) -> Video:
    """Write out_dir/video.mp4, captions.vtt and captions.srt; nothing is left half-written.

    ``transition`` is ``none`` or ``fade`` (a crossfade between slides, within their padding).
    ``timeout`` bounds each ffmpeg run, ``tool_limits`` its memory and CPU time. Raises
    ProcessingError when an input file or ffmpeg fails; out_dir then holds no new files.
    """
    if not clips:
        raise InputError(f"assemble {out_dir}: no slides to put in the video")
    out_dir.mkdir(parents=True, exist_ok=True)
    check_images([image for clip in clips for image, _ in clip.stills])
    narrations = [read_narration(clip.audio) for clip in clips]
    pad = round(padding * SAMPLE_RATE)
    lengths_ms = slide_lengths_ms([len(n) for n in narrations], pad, min_slide_seconds)
    starts_ms = [sum(lengths_ms[:i]) for i in range(len(lengths_ms))]
    intervals_ms = [(s, s + n) for s, n in zip(starts_ms, lengths_ms, strict=True)]
    intervals = tuple((s / 1000, e / 1000) for s, e in intervals_ms)
    cues = video_cues(clips, intervals, padding=pad / SAMPLE_RATE)
    what = f"assemble {out_dir / 'video.mp4'}"

    # Exiting the pool waits for the video encode, so the work folder outlives it even on errors.
    with (
        tempfile.TemporaryDirectory(dir=out_dir, prefix=".assemble-") as tmp,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        work = Path(tmp).resolve()
        # ffmpeg sees the stills (read-only) and its work folder, nothing else.
        folders = {image.resolve().parent for clip in clips for image, _ in clip.stills}
        sees = Sandbox(read_only=tuple(sorted(folders)), writable=(work,))
        per_slide = [
            slide_shots(clip.stills, start, length, pad // SAMPLES_PER_MS)
            for clip, start, length in zip(clips, starts_ms, lengths_ms, strict=True)
        ]
        shots = timed_shots(per_slide, transition, pad // SAMPLES_PER_MS, work / "fades")
        video_job = pool.submit(
            stills.encode,
            shots,
            work / "video",
            work / "stills.mp4",
            timeout=timeout,
            what=what,
            limits=tool_limits,
            sandbox=sees,
        )
        track = soundtrack(narrations, starts_ms, pad, total_ms=intervals_ms[-1][1])
        write_wav(work / "measure.wav", track)
        loudness = measure_loudness(
            work / "measure.wav", timeout=timeout, what=f"{what}: audio", limits=tool_limits
        )
        write_wav(work / "audio.wav", normalise(track, loudness, loudness_lufs))
        audio_args = audio_command(work / "audio.wav", work / "audio.m4a")
        run_tool(audio_args, timeout=timeout, what=f"{what}: audio", limits=tool_limits,
                 sandbox=sees)  # fmt: skip
        (work / "chapters.txt").write_text(chapters_metadata(clips, intervals_ms), "utf-8")
        (work / "captions.srt").write_text(to_srt(cues), encoding="utf-8")
        (work / "captions.vtt").write_text(to_vtt(cues), encoding="utf-8")
        video_job.result()
        mux_args = mux_command(work, work / "video.mp4", has_captions=bool(cues))
        run_tool(mux_args, timeout=timeout, what=what, limits=tool_limits, sandbox=sees)
        # Captions first: once video.mp4 exists, the whole output does.
        for name in ("captions.vtt", "captions.srt", "video.mp4"):
            os.replace(work / name, out_dir / name)

    return Video(
        path=out_dir / "video.mp4",
        vtt=out_dir / "captions.vtt",
        srt=out_dir / "captions.srt",
        duration=intervals_ms[-1][1] / 1000,
        intervals=intervals,
        step_starts=tuple(tuple(s.start_ms / 1000 for s in shots) for shots in per_slide),
    )


def timed_shots(slides: list[list[Shot]], transition: str, pad_ms: int, work: Path) -> list[Shot]:
    """Every slide's shots in order, crossfaded between slides when ``transition`` is fade."""
    if transition == "fade":
        return with_fades(slides, pad_ms, work)
    if transition != "none":
        raise InputError(f"transition {transition!r}: use none or fade")
    return [shot for shots in slides for shot in shots]


def slide_lengths_ms(
    narration_samples: Sequence[int], pad_samples: int, min_slide_seconds: float
) -> list[int]:
    """Each slide: padding + narration + padding, at least the minimum, in whole frames."""
    lengths = []
    for samples in narration_samples:
        wanted = max(2 * pad_samples + samples, math.ceil(min_slide_seconds * SAMPLE_RATE))
        lengths.append(frames_ms(max(MIN_SLIDE_MS, wanted / SAMPLES_PER_MS)))
    return lengths


def check_images(images: Sequence[Path]) -> tuple[int, int]:
    """All slides must be readable PNGs of one even size (H.264 4:2:0 needs even sides)."""
    sizes = set()
    for image in images:
        try:
            with Image.open(image) as img:
                sizes.add(img.size)
                img.verify()  # checks every chunk's CRC without decoding pixels
        except (OSError, SyntaxError) as exc:
            raise ProcessingError(f"slide image {image}: unreadable ({exc})") from None
    if len(sizes) != 1:
        listed = ", ".join(f"{w}x{h}" for w, h in sorted(sizes))
        raise ProcessingError(f"slide images in {images[0].parent}: mixed sizes {listed}")
    width, height = sizes.pop()
    if width % 2 or height % 2:
        raise ProcessingError(f"slide images in {images[0].parent}: size {width}x{height} is odd")
    return width, height


def read_narration(path: Path) -> np.ndarray:
    """A narration WAV's int16 samples; anything but 24 kHz mono 16-bit is a pipeline bug."""
    return read_pcm16(path, what=f"narration {path}", error=ProcessingError)


def soundtrack(
    narrations: Sequence[np.ndarray], starts_ms: Sequence[int], pad: int, total_ms: int
) -> np.ndarray:
    """One float track: each narration after its slide's start padding, silence elsewhere."""
    track = np.zeros(total_ms * SAMPLES_PER_MS, dtype=np.float32)
    for samples, start_ms in zip(narrations, starts_ms, strict=True):
        at = start_ms * SAMPLES_PER_MS + pad
        track[at : at + len(samples)] = samples / np.float32(32768)
    return track


def video_cues(
    clips: Sequence[SlideClip], intervals: Sequence[tuple[float, float]], *, padding: float
) -> list[Cue]:
    """Every slide's cues moved to video time and kept inside that slide's interval."""
    cues = []
    for clip, (start, end) in zip(clips, intervals, strict=True):
        for cue in clip.cues:
            moved = cue.shifted(start + padding)
            moved = Cue(max(moved.start, start), min(moved.end, end), moved.text)
            if moved.end > moved.start:
                cues.append(moved)
    return cues


def measure_loudness(
    audio: Path, *, timeout: float, what: str, limits: ToolLimits | None = None
) -> float | None:
    """Integrated loudness (LUFS, EBU R128) of a track, or None when it is silent.

    ffmpeg's ebur128 meter rather than a loudnorm first pass: loudnorm works at 192 kHz and costs
    ~20 s of CPU per 10 minutes of audio, ebur128 1-2 s.
    """
    result = run_tool(
        ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-i", audio,
         "-af", "ebur128=framelog=verbose", "-f", "null", "-"],
        timeout=timeout,
        what=f"{what} loudness",
        limits=limits,
        sandbox=Sandbox(read_only=(Path(audio).resolve(),)),
    )  # fmt: skip
    summary = result.stderr.decode(errors="replace").rpartition("Summary:")[2]
    found = re.search(r"\bI:\s*(-?[\d.]+|-?inf)\s*LUFS", summary)
    if not found:
        raise ProcessingError(f"{what} loudness: ffmpeg printed no integrated loudness")
    lufs = float(found.group(1))
    return lufs if math.isfinite(lufs) and lufs > SILENCE_LUFS else None


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


def chapters_metadata(clips: Sequence[SlideClip], intervals_ms: Sequence[tuple[int, int]]) -> str:
    """An FFMETADATA file with one chapter per slide, titled with the slide's title."""
    lines = [";FFMETADATA1"]
    for clip, (start, end) in zip(clips, intervals_ms, strict=True):
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start}", f"END={end}"]
        lines.append(f"title={_metadata_escape(clip.title)}")
    return "\n".join(lines) + "\n"


def audio_command(wav: Path, out: Path) -> list[str | Path]:
    # The "fast" AAC coder is ~3x cheaper than the default and transparent enough for speech.
    return [
        "ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-y", "-i", wav,
        "-c:a", "aac", "-aac_coder", "fast", "-b:a", AUDIO_BITRATE, "-f", "mp4", out,
    ]  # fmt: skip


def mux_command(work: Path, out: Path, *, has_captions: bool) -> list[str | Path]:
    """Copy video and audio into the final MP4 with captions, chapters and the index up front."""
    inputs: list[str | Path] = [
        "-i", work / "stills.mp4", "-i", work / "audio.m4a",
        "-f", "ffmetadata", "-i", work / "chapters.txt",
    ]  # fmt: skip
    maps: list[str | Path] = ["-map", "0:v", "-map", "1:a", "-map_chapters", "2"]
    subtitles: list[str | Path] = []
    if has_captions:
        inputs += ["-i", work / "captions.srt"]
        maps += ["-map", "3:s"]
        subtitles = ["-c:s", "mov_text", "-metadata:s:s:0", "language=eng"]
    return [
        "ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-y",
        *inputs, *maps, "-c:v", "copy", "-c:a", "copy",
        "-metadata:s:a:0", "language=eng", *subtitles,
        "-video_track_timescale", "1000",
        "-movflags", "+faststart", "-f", "mp4", out,
    ]  # fmt: skip


def _metadata_escape(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"([=;#\\\n])", r"\\\1", text)
