"""What the video shows when: slides and their build steps as stills on a steady frame grid,
with optional crossfades between slides.

The video runs at a constant :data:`FPS`, so every player, thumbnailer and packager seeks it the
usual way. Steps start on whole frames; slides last whole multiples of :data:`SLIDE_GRID_MS`, on
both the frame grid and the AAC frame grid, so slide boundaries (and the audio, chapters and
captions, which share them) stay exact and each slide's sound can be encoded on its own. A still
repeated frame after frame costs x264 almost nothing, and the encoder gets a keyframe where each
still starts and at least every :data:`KEYFRAME_SECONDS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from PIL import Image

FPS = 25
FRAME_MS = 1000 // FPS
# 16 video frames = 15 AAC frames (1024 samples at 24 kHz): a slide this long, or any multiple,
# starts and ends on both grids, so its sound encodes alone and joins the others sample-exactly
# wherever earlier slides moved it (:mod:`deck2video.soundtrack`). It costs a slide up to 0.6 s
# more silence after its narration.
SLIDE_GRID_MS = 640
KEYFRAME_SECONDS = 2  # what Apple asks of HLS; also halves the frames the encoder sees
# A crossfade takes at most this long, whatever the padding.
MAX_FADE_MS = 1000
# Fade frames are written once and read once: fast compression beats small files.
_FADE_PNG_LEVEL = 1


@dataclass(frozen=True)
class Blend:
    """A crossfade frame: ``first`` mixed with ``second`` at ``weight`` (0: all ``first``)."""

    first: Path
    second: Path
    weight: float


@dataclass(frozen=True)
class Shot:
    """One still on screen from ``start_ms`` to ``end_ms`` (whole frames)."""

    image: Path
    start_ms: int
    end_ms: int
    keyframe: bool = True  # a new picture: worth a keyframe (fade frames are not)
    # A fade frame's recipe: ``image`` is where it is drawn, only when it must be encoded.
    blend: Blend | None = None


def frames_ms(ms: float) -> int:
    """``ms`` rounded up to whole frames."""
    return math.ceil(ms / FRAME_MS - 1e-9) * FRAME_MS


def slide_ms(ms: float) -> int:
    """``ms`` rounded up to the slide grid."""
    return math.ceil(ms / SLIDE_GRID_MS - 1e-9) * SLIDE_GRID_MS


def slide_shots(
    stills: Sequence[tuple[Path, float]], start_ms: int, length_ms: int, pad_ms: int
) -> list[Shot]:
    """A slide's steps as shots: each still (``seconds`` into the narration) from the nearest
    frame, every step at least one frame, the first from the slide's start."""
    count = len(stills)
    shots, begin = [], start_ms
    for k, (image, _) in enumerate(stills):
        if k + 1 < count:
            at_ms = pad_ms + stills[k + 1][1] * 1000  # into the slide
            wanted = start_ms + round(at_ms / FRAME_MS) * FRAME_MS
            latest = start_ms + length_ms - (count - k - 1) * FRAME_MS
            end = min(max(wanted, begin + FRAME_MS), latest)
        else:
            end = start_ms + length_ms
        shots.append(Shot(image, begin, end))
        begin = end
    return shots


def with_fades(slides: Sequence[list[Shot]], pad_ms: int, work: Path) -> list[Shot]:
    """The slides' shots with a crossfade across each boundary between two slides: over the
    padding either side of it (at most :data:`MAX_FADE_MS` in all), where no one speaks, so the
    narration never moves. Fade frames are blends named into ``work`` (drawn by :func:`draw`)."""
    half = min(pad_ms, MAX_FADE_MS // 2) // FRAME_MS * FRAME_MS
    if half == 0 or len(slides) < 2:
        return [shot for shots in slides for shot in shots]
    slides = [list(shots) for shots in slides]
    fades: list[list[Shot]] = []
    for number, (before, after) in enumerate(pairwise(slides), start=1):
        last, first = before[-1], after[0]
        left = min(half, last.end_ms - last.start_ms - FRAME_MS)
        right = min(half, first.end_ms - first.start_ms - FRAME_MS)
        before[-1] = Shot(last.image, last.start_ms, last.end_ms - left, last.keyframe)
        after[0] = Shot(first.image, first.start_ms + right, first.end_ms, first.keyframe)
        start = last.end_ms - left
        fades.append(_blend(last.image, first.image, start, left + right, work, number))
    shots = list(slides[0])
    for fade, following in zip(fades, slides[1:], strict=True):
        shots += fade + following
    return shots


def _blend(a: Path, b: Path, start_ms: int, length_ms: int, work: Path, number: int) -> list[Shot]:
    """``length_ms`` of frames going from ``a`` to ``b``, one blend per frame."""
    count = length_ms // FRAME_MS
    shots = []
    for frame in range(count):
        at = start_ms + frame * FRAME_MS
        blend = Blend(a, b, (frame + 1) / (count + 1))
        path = work / f"fade-{number:04d}-{frame:03d}.png"
        shots.append(Shot(path, at, at + FRAME_MS, keyframe=False, blend=blend))
    return shots


def draw(shots: Sequence[Shot]) -> None:
    """Write the blended still of every fade frame among ``shots`` (each pair opened once)."""
    opened: dict[tuple[Path, Path], tuple[Image.Image, Image.Image]] = {}
    for shot in shots:
        if shot.blend is None:
            continue
        pair = (shot.blend.first, shot.blend.second)
        if pair not in opened:
            opened.clear()  # fades come pair by pair: keep one pair of full-size images
            with Image.open(pair[0]) as first, Image.open(pair[1]) as second:
                opened[pair] = (first.convert("RGB"), second.convert("RGB"))
        one, two = opened[pair]
        shot.image.parent.mkdir(parents=True, exist_ok=True)
        Image.blend(one, two, shot.blend.weight).save(
            shot.image, format="PNG", compress_level=_FADE_PNG_LEVEL
        )


@dataclass(frozen=True)
class StepTiming:
    starts: tuple[float, ...]  # each step's start, seconds into the narration (the first: 0)
    warning: str | None = None  # more [CLICK] markers than the slide has clicks


def step_timing(
    steps: int, sentence_starts: Sequence[float], duration: float, clicks: Sequence[int]
) -> StepTiming:
    """When each of a slide's ``steps`` starts, seconds into its narration of ``duration``.

    ``sentence_starts`` are its spoken chunks' starts; ``clicks`` how many chunks come before
    each ``[CLICK]`` marker (:func:`deck2video.narration.click_points`). A marked step starts
    with the sentence after its marker; steps without a marker are spread over the sentences
    after the last one (step k of N at the sentence start nearest k/N of that stretch), so
    the last step is held for at least a sentence whenever there are enough sentences.
    """
    warning = None
    if len(clicks) > steps - 1:
        warning = f"{len(clicks)} [CLICK] markers for {steps - 1} clicks; the extra are ignored"
    if steps <= 1:
        return StepTiming((0.0,), warning)
    marked = [
        sentence_starts[count] if count < len(sentence_starts) else duration
        for count in clicks[: steps - 1]
    ]
    marked = [max(t, earlier) for t, earlier in zip(marked, [0.0, *marked], strict=False)]
    begin = marked[-1] if marked else 0.0
    later = [t for t in sentence_starts if t > begin]
    spread = _spread(later, begin, duration, steps - 1 - len(marked))
    return StepTiming((0.0, *marked, *spread), warning)


def _spread(boundaries: Sequence[float], begin: float, end: float, count: int) -> list[float]:
    """``count`` start times in (begin, end): the boundary nearest each even share of the
    stretch, in order and each used once; even shares when there are too few boundaries."""
    targets = [begin + (end - begin) * k / (count + 1) for k in range(1, count + 1)]
    if len(boundaries) < count:
        return targets
    chosen: list[float] = []
    lowest = 0
    for k, target in enumerate(targets):
        highest = len(boundaries) - (count - k)  # leave one boundary for each later step
        options = range(lowest, highest + 1)
        best = min(options, key=lambda i: abs(boundaries[i] - target))
        chosen.append(boundaries[best])
        lowest = best + 1
    return chosen


def concat_list(shots: Sequence[Shot]) -> str:
    """An ffconcat script: each shot's still for its length, in millisecond time.

    The demuxer gives the last entry only one frame's duration, so the last image is listed again
    as a final entry; the encoder stops at the video's last frame (:func:`frame_count`).
    """
    lines = ["ffconcat version 1.0"]
    entries: list[tuple[Path, int | None]] = [(s.image, s.end_ms - s.start_ms) for s in shots]
    entries.append((shots[-1].image, None))
    for image, ms in entries:
        lines.append(f"file {quoted(image.resolve())}")
        # Reading each still at 1000 fps puts timestamps on a 1 ms grid (the default is 1/25 s).
        lines.append("option framerate 1000")
        if ms is not None:
            lines.append(f"duration {ms / 1000:.3f}")
    return "\n".join(lines) + "\n"


def quoted(path: Path) -> str:
    """A path as a concat script names it."""
    return "'" + str(path).replace("'", "'\\''") + "'"
