"""Slide stills + narration -> one MP4 with soft captions and a chapter per slide.

Slides are still, so the video is cheap: each still (a slide, or a step of its click build) is
encoded once as a short unit that is copied for as long as it is shown, at a steady frame rate
(:mod:`deck2video.timeline` says what is shown when, :mod:`deck2video.stills` encodes it). That
runs in parallel with the sound, each slide's narration normalised and AAC-encoded as a segment
of its own (:mod:`deck2video.soundtrack`). Units and segments are kept by content
(:mod:`deck2video.segments`), so a re-run encodes only what changed, and they join without
re-encoding. A last stream-copy mux adds captions and chapters. A keyframe starts every still and
comes at least every few seconds, so seeking lands on the slide (and step) that is on screen.

Slides last whole multiples of 640 ms (16 video frames, 15 AAC frames), so the video, the audio,
the chapters and the captions agree exactly on every slide boundary.
"""

from __future__ import annotations

import json
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

from deck2video import soundtrack, stills
from deck2video.audio import SAMPLE_RATE, SAMPLES_PER_MS, read_pcm16
from deck2video.captions import Cue, to_srt, to_vtt
from deck2video.config import ToolLimits
from deck2video.errors import InputError, ProcessingError
from deck2video.procs import Sandbox, run_tool
from deck2video.segments import NoPieces, Pieces
from deck2video.timeline import (
    FPS,
    FRAME_MS,
    SLIDE_GRID_MS,
    Shot,
    slide_ms,
    slide_shots,
    with_fades,
)


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
class Built:
    """What a run encoded rather than found kept: the slides (0-based) whose sound was encoded,
    and the stills whose video units were (a fade's: its first blended frame)."""

    sound: tuple[int, ...] = ()
    stills: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Video:
    path: Path
    vtt: Path
    srt: Path
    duration: float
    intervals: tuple[tuple[float, float], ...]  # each slide's [start, end) in the video
    step_starts: tuple[tuple[float, ...], ...] = ()  # each slide's steps' starts in the video
    built: Built = Built()


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
    pieces: Pieces = NoPieces(),  # noqa: B008 (stateless)
) -> Video:
    """Write out_dir/video.mp4, captions.vtt and captions.srt; nothing is left half-written.

    ``transition`` is ``none`` or ``fade`` (a crossfade between slides, within their padding).
    ``timeout`` bounds each ffmpeg run, ``tool_limits`` its memory and CPU time. Encoded pieces
    are taken from and kept in ``pieces``. Raises ProcessingError when an input file or ffmpeg
    fails; out_dir then holds no new files.
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
            stills.encode, shots, work / "video", work / "stills.h264",
            timeout=timeout, what=what, limits=tool_limits, sandbox=sees, pieces=pieces,
        )  # fmt: skip
        sound = soundtrack.build(
            [
                soundtrack.Slide(narration, pad, length * SAMPLES_PER_MS)
                for narration, length in zip(narrations, lengths_ms, strict=True)
            ],
            work / "sound",
            loudness_lufs=loudness_lufs, timeout=timeout, what=what, limits=tool_limits,
            pieces=pieces,
        )  # fmt: skip
        (work / "chapters.txt").write_text(chapters_metadata(clips, intervals_ms), "utf-8")
        (work / "captions.srt").write_text(to_srt(cues), encoding="utf-8")
        (work / "captions.vtt").write_text(to_vtt(cues), encoding="utf-8")
        units = video_job.result()
        mux_args = mux_command(work, sound.path, work / "video.mp4", has_captions=bool(cues))
        run_tool(mux_args, timeout=timeout, what=what, limits=tool_limits, sandbox=sees)
        check_lengths(work / "video.mp4", intervals_ms[-1][1], timeout=timeout, what=what)
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
        built=Built(sound.built, tuple(unit.pictures[0][0] for unit in units)),
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
    """Each slide: padding + narration + padding, at least the minimum, rounded up to the slide
    grid (the extra is silence after the narration)."""
    lengths = []
    for samples in narration_samples:
        wanted = max(2 * pad_samples + samples, math.ceil(min_slide_seconds * SAMPLE_RATE))
        lengths.append(max(SLIDE_GRID_MS, slide_ms(wanted / SAMPLES_PER_MS)))
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


def check_lengths(video: Path, total_ms: int, *, timeout: float, what: str) -> None:
    """The joined video has a frame per 40 ms and the sound a sample per 1/24000 s of the slides,
    whatever pieces it was made of; a video that does not is not published."""
    result = run_tool(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,nb_frames,duration_ts",
         "-of", "json", video],
        timeout=timeout, what=f"{what}: check", sandbox=Sandbox(read_only=(video,)),
    )  # fmt: skip
    streams = json.loads(result.stdout).get("streams", [])
    found = {s.get("codec_type"): s for s in streams}
    frames = str(found.get("video", {}).get("nb_frames"))
    samples = str(found.get("audio", {}).get("duration_ts"))
    wanted = (str(total_ms // FRAME_MS), str(total_ms * SAMPLES_PER_MS))
    if (frames, samples) != wanted:
        raise ProcessingError(
            f"{what}: joined {frames} frames and {samples} samples, not {wanted[0]} and {wanted[1]}"
        )


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


def chapters_metadata(clips: Sequence[SlideClip], intervals_ms: Sequence[tuple[int, int]]) -> str:
    """An FFMETADATA file with one chapter per slide, titled with the slide's title."""
    lines = [";FFMETADATA1"]
    for clip, (start, end) in zip(clips, intervals_ms, strict=True):
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start}", f"END={end}"]
        lines.append(f"title={_metadata_escape(clip.title)}")
    return "\n".join(lines) + "\n"


def mux_command(work: Path, sound: Path, out: Path, *, has_captions: bool) -> list[str | Path]:
    """Copy video and audio into the final MP4 with captions, chapters and the index up front."""
    inputs: list[str | Path] = [
        "-framerate", str(FPS), "-f", "h264", "-i", work / "stills.h264",
        *soundtrack.mux_inputs(sound),
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
