"""Shots -> one H.264 stream at a steady frame rate, each distinct picture encoded only once.

A steady 25 fps makes every player and tool seek right, but x264 still analyses every repeated
frame: a 10-minute deck encoded frame by frame takes minutes. So each still is encoded once as a
*unit*, a keyframe followed by repeats of it, at most :data:`~deck2video.timeline.KEYFRAME_SECONDS`
long (one ffmpeg run, split into a raw H.264 file per unit by the segment muxer, each keyframe
with its parameter sets), and the stream is then put together from copies of the units' bytes (a
shot longer than its unit is the unit again and again, the last copy cut short after a whole
frame, which is exact because no frame of a unit refers to a later one); the mux gives it its
steady timestamps. Joining bytes rather than running ffmpeg's concat demuxer, which opens and
probes every copy, makes the join of a 10-minute video take milliseconds rather than seconds.
A crossfade's frames are one unit of their own.

So every still starts with a keyframe, a keyframe comes at least every few seconds, and the
encoder sees each picture for at most a few seconds of frames, however long it is shown.

Units are kept (:mod:`deck2video.segments`) under a key made of their pictures' content, their
lengths and the encoder's settings, and a run encodes only the units it does not find: editing a
slide's notes moves its stills in time but encodes none of them again.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deck2video import segments
from deck2video.config import ToolLimits
from deck2video.errors import ProcessingError
from deck2video.procs import Sandbox, run_tool
from deck2video.segments import Digests, NoPieces, Pieces
from deck2video.timeline import (
    FPS,
    FRAME_MS,
    KEYFRAME_SECONDS,
    Blend,
    Shot,
    concat_list,
    draw,
)

UNIT_FRAMES = KEYFRAME_SECONDS * FPS
# Annex B: NAL units after a start code; slices (one per frame: x264 without sliced threads)
# and what a unit starts with (x264's SEI, or the parameter sets of its keyframe).
_START_CODE = re.compile(b"\x00\x00\x01")
_SLICES = (1, 5)
_FIRST = (6, 7)
# x264 spends ~10 ms on each 1080p frame even when it repeats the last one, so the units are the
# longest part of assembly: they get every core but one (for the AAC encode), up to four.
ENCODER_THREADS = max(1, min(4, (os.cpu_count() or 1) - 1))
# How each unit is encoded; part of its key, so a change here encodes every unit anew.
ENCODER_ARGS = (
    # Mark the colours as BT.709 (HD) and convert with that matrix, so players show the
    # slide's colours rather than a slightly shifted BT.601 guess. The fps filter repeats
    # each picture after it was scaled once, each on the frame nearest its time.
    "-vf", f"scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,fps={FPS}",
    "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
    "-color_range", "tv",
    "-fps_mode", "cfr", "-r", str(FPS),
    # For the keyframe of each still, veryfast stays within 1 dB of medium (both ~50 dB
    # PSNR on text slides) at about half the CPU; repeats are skipped blocks. No B-frames
    # and no extra keyframes: a unit cut short must still decode, and stay small.
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-tune", "stillimage",
    # Parameter sets before every keyframe: each unit decodes on its own, wherever it goes.
    "-bf", "0", "-g", str(UNIT_FRAMES), "-x264-params", "scenecut=0:repeat-headers=1",
)  # fmt: skip


@dataclass(frozen=True)
class Unit:
    """Frames encoded once, keyframe first: each picture and how many frames it lasts."""

    pictures: tuple[tuple[Path, int], ...]

    @property
    def frames(self) -> int:
        return sum(count for _, count in self.pictures)


@dataclass(frozen=True)
class Plan:
    units: tuple[Unit, ...]  # to encode, in this order
    placements: tuple[tuple[int, int], ...]  # (unit, frames of it shown), in video order


def plan(shots: Sequence[Shot]) -> Plan:
    """Which units to encode and how the video is made of them.

    A still's unit is as long as the longest stretch of it that is shown, up to
    :data:`UNIT_FRAMES`; a run of fade frames (shots that want no keyframe) is one unit.
    """
    longest: dict[Path, int] = {}
    shot: Shot | None  # the second loop ends on None
    for shot in shots:
        if shot.keyframe:
            longest[shot.image] = max(longest.get(shot.image, 0), _frames(shot))
    units: list[Unit] = []
    index: dict[Path, int] = {}
    placements: list[tuple[int, int]] = []
    fade: list[tuple[Path, int]] = []
    for shot in [*shots, None]:
        if shot is not None and not shot.keyframe:
            fade.append((shot.image, _frames(shot)))
            continue
        if fade:
            units.append(Unit(tuple(fade)))
            placements.append((len(units) - 1, units[-1].frames))
            fade = []
        if shot is None:
            break
        if shot.image not in index:
            index[shot.image] = len(units)
            units.append(Unit(((shot.image, min(UNIT_FRAMES, longest[shot.image])),)))
        unit, left = index[shot.image], _frames(shot)
        while left > 0:
            shown = min(left, units[unit].frames)
            placements.append((unit, shown))
            left -= shown
    return Plan(tuple(units), tuple(placements))


def encode(
    shots: Sequence[Shot],
    work: Path,
    out: Path,
    *,
    timeout: float,
    what: str,
    limits: ToolLimits | None = None,
    sandbox: Sandbox = Sandbox(),  # noqa: B008 (frozen, immutable)
    pieces: Pieces = NoPieces(),  # noqa: B008 (stateless)
) -> tuple[Unit, ...]:
    """Write the video stream of ``shots`` to ``out`` (raw H.264 at :data:`FPS`) via units in
    ``work``, taking from ``pieces`` the units it has and keeping there those encoded now; ffmpeg
    sees what ``sandbox`` names (the stills and ``work``). Returns the units encoded."""
    made = plan(shots)
    units_dir = work / "units"
    units_dir.mkdir(parents=True, exist_ok=True)
    keys = unit_keys(made.units, {s.image: s.blend for s in shots if s.blend}, Digests())
    files = [units_dir / f"unit-{n:06d}.h264" for n in range(len(made.units))]
    frames: list[list[int] | None] = [
        _frame_ends(file, unit.frames) if pieces.fetch("video", k, file) else None
        for k, file, unit in zip(keys, files, made.units, strict=True)
    ]
    missing = [n for n, ends in enumerate(frames) if ends is None]
    if missing:
        wanted = {image for n in missing for image, _ in made.units[n].pictures}
        draw([shot for shot in shots if shot.blend is not None and shot.image in wanted])
        _encode_units([made.units[n] for n in missing], work / "new", timeout, what, limits,
                      sandbox)  # fmt: skip
        for made_file, n in zip(sorted((work / "new").glob("unit-*.h264")), missing, strict=True):
            made_file.replace(files[n])
            frames[n] = _frame_ends(files[n], made.units[n].frames)
            if frames[n] is None:
                raise ProcessingError(
                    f"{what}: video: unit {n} is not {made.units[n].frames} frames"
                )
            pieces.keep("video", keys[n], files[n])
    ends = [found for found in frames if found is not None]  # every unit's, by now
    data = [file.read_bytes() for file in files]
    with out.open("wb") as joined:
        for unit, shown in made.placements:
            joined.write(data[unit][: ends[unit][shown - 1]])
    return tuple(made.units[n] for n in missing)


def _frame_ends(file: Path, count: int) -> list[int] | None:
    """Where each of a raw H.264 unit's ``count`` frames ends (a frame: its parameter sets and
    SEI, then its one slice), or None when the file is not ``count`` such frames."""
    data = file.read_bytes()
    starts = [m.start() for m in _START_CODE.finditer(data) if m.end() < len(data)]
    ends = []
    for i, at in enumerate(starts):
        if data[at + 3] & 0x1F in _SLICES:
            following = starts[i + 1] if i + 1 < len(starts) else len(data)
            # A four-byte start code's leading zero belongs to the next frame.
            if following < len(data) and data[following - 1] == 0:
                following -= 1
            ends.append(following)
    if len(ends) != count or not starts or data[starts[0] + 3] & 0x1F not in _FIRST:
        return None
    return ends


def unit_keys(
    units: Sequence[Unit], blends: dict[Path, Blend | None], digest: Digests
) -> list[str]:
    """Each unit's key: its pictures' pixels (a fade frame: its recipe), their frame counts,
    the frame size being the pictures' own, and how the encoder is set."""
    keys = []
    for unit in units:
        parts = [" ".join(ENCODER_ARGS)]
        for image, count in unit.pictures:
            blend = blends.get(image)
            if blend is None:
                parts.append(f"still {digest(image)} x{count}")
            else:
                first, second = digest(blend.first), digest(blend.second)
                parts.append(f"blend {first} {second} {blend.weight!r} x{count}")
        keys.append(segments.key(*parts))
    return keys


def _encode_units(
    units: Sequence[Unit],
    work: Path,
    timeout: float,
    what: str,
    limits: ToolLimits | None,
    sandbox: Sandbox,
) -> None:
    """Encode ``units`` in one ffmpeg run, a file each (``unit-NNNNNN.mp4``) in ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    encoded = [
        Shot(image, 0, count * FRAME_MS, keyframe=first)
        for unit in units
        for first, (image, count) in zip(
            [True] + [False] * (len(unit.pictures) - 1), unit.pictures, strict=True
        )
    ]  # one shot per picture: their start times are filled in by _timed
    (work / "units.ffconcat").write_text(concat_list(_timed(encoded)), encoding="utf-8")
    run_tool(
        units_command(
            work / "units.ffconcat", work, _unit_starts(units), sum(u.frames for u in units)
        ),
        timeout=timeout,
        what=f"{what}: video",
        limits=limits,
        sandbox=sandbox,
    )
    files = sorted(work.glob("unit-*.h264"))
    if len(files) != len(units):
        raise ProcessingError(f"{what}: video: {len(files)} units encoded, not {len(units)}")


def _frames(shot: Shot) -> int:
    return (shot.end_ms - shot.start_ms) // FRAME_MS


def _timed(shots: list[Shot]) -> list[Shot]:
    timed, at = [], 0
    for shot in shots:
        length = shot.end_ms - shot.start_ms
        timed.append(Shot(shot.image, at, at + length, shot.keyframe))
        at += length
    return timed


def _unit_starts(units: Sequence[Unit]) -> list[int]:
    """Each unit's first frame number in the encoded run."""
    starts, at = [], 0
    for unit in units:
        starts.append(at)
        at += unit.frames
    return starts


def units_command(
    concat: Path, units_dir: Path, starts: Sequence[int], total: int
) -> list[str | Path]:
    """Encode every unit in one run (``total`` frames), a keyframe where each unit starts, and
    a file per unit."""
    keyframes = ",".join(f"{frame * FRAME_MS / 1000:.3f}" for frame in starts)
    return [
        "ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-y",
        "-xerror",  # a slide that fails to decode must fail the job, not vanish from the video
        "-f", "concat", "-safe", "0", "-i", concat, "-map", "0:v",
        *ENCODER_ARGS, "-frames:v", str(total), "-force_key_frames", keyframes,
        # The AAC encode running beside it keeps one core to itself.
        "-threads", str(ENCODER_THREADS), "-filter_threads", "1",
        "-f", "segment", "-segment_format", "h264",
        # Split where each unit starts (one unit: never; the muxer's default is every 2 s).
        "-segment_frames", ",".join(str(s) for s in starts[1:]) or str(total + 1),
        units_dir / "unit-%06d.h264",
    ]  # fmt: skip
