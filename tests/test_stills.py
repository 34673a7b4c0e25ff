"""Encoding each still once: which units are encoded and how copies of them make the video
(the video itself is checked frame by frame in test_assemble and the builds tests); units kept
by content are not encoded again."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from deck2video import stills
from deck2video.job.cache import SegmentStore
from deck2video.job.layout import Caches
from deck2video.procs import Sandbox
from deck2video.stills import UNIT_FRAMES, Unit
from deck2video.timeline import FRAME_MS, Shot
from tests.support import media
from tests.support.media import write_png

A, B, F1, F2 = (Path(name) for name in ("a.png", "b.png", "f1.png", "f2.png"))


def shot(image: Path, start: int, frames: int, keyframe: bool = True) -> Shot:
    return Shot(image, start * FRAME_MS, (start + frames) * FRAME_MS, keyframe)


def test_a_long_still_is_one_unit_copied_and_the_last_copy_cut_short() -> None:
    made = stills.plan([shot(A, 0, 2 * UNIT_FRAMES + 7)])
    assert made.units == (Unit(((A, UNIT_FRAMES),)),)
    assert made.placements == ((0, UNIT_FRAMES), (0, UNIT_FRAMES), (0, 7))


def test_a_short_still_is_encoded_only_as_long_as_it_is_shown() -> None:
    made = stills.plan([shot(A, 0, 30), shot(B, 30, 12), shot(A, 42, 50)])
    assert made.units == (Unit(((A, 50),)), Unit(((B, 12),)))
    assert made.placements == ((0, 30), (1, 12), (0, 50))


def test_fade_frames_are_one_unit_of_their_own() -> None:
    made = stills.plan([
        shot(A, 0, 40), shot(F1, 40, 1, keyframe=False), shot(F2, 41, 1, keyframe=False),
        shot(B, 42, 40),
    ])  # fmt: skip
    assert made.units == (Unit(((A, 40),)), Unit(((F1, 1), (F2, 1))), Unit(((B, 40),)))
    assert made.placements == ((0, 40), (1, 2), (2, 40))


def test_frames_encoded_stay_bounded_however_long_the_video() -> None:
    ten_minutes = [shot(A if n % 2 else B, n * 600, 600) for n in range(25)]
    made = stills.plan(ten_minutes)
    assert sum(unit.frames for unit in made.units) == 2 * UNIT_FRAMES
    assert sum(shown for _, shown in made.placements) == 25 * 600


def test_a_unit_is_cut_after_whole_frames(tmp_path: Path) -> None:
    sps, pps, idr, p = (b"\x00\x00\x00\x01\x67s", b"\x00\x00\x00\x01\x68p",
                        b"\x00\x00\x01\x65key", b"\x00\x00\x01\x41rep")  # fmt: skip
    unit = tmp_path / "unit.h264"
    unit.write_bytes(sps + pps + idr + p + p)
    ends = stills._frame_ends(unit, 3)
    head = len(sps + pps + idr)
    assert ends == [head, head + len(p), head + 2 * len(p)]
    assert stills._frame_ends(unit, 2) is None  # not the unit it should be
    unit.write_bytes(p + sps + pps + idr)
    assert stills._frame_ends(unit, 2) is None  # does not start with a keyframe's headers


# ---------------------------------------------------------------- kept units (real ffmpeg)


def encode(shots: list[Shot], work: Path, store: SegmentStore) -> tuple[Unit, ...]:
    sees = Sandbox(writable=(work.parent,))  # the stills and the work folders
    built = stills.encode(
        shots, work, work / "out.h264", timeout=60, what="test", sandbox=sees, pieces=store
    )
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-framerate",
            "25",
            "-f",
            "h264",
            "-i",
            str(work / "out.h264"),
            "-c",
            "copy",
            str(work / "out.mp4"),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip  (as the assembler muxes it)
    return built


def test_units_are_kept_by_content_and_only_new_pictures_are_encoded(tmp_path: Path) -> None:
    store = SegmentStore(Caches(str(tmp_path / "cache")).segment)
    a, b, c = (write_png(tmp_path / f"{n}.png", colour, (160, 90)) for n, colour in (
        ("a", (200, 0, 0)), ("b", (0, 200, 0)), ("c", (0, 0, 200))))  # fmt: skip
    first = encode([shot(a, 0, 60), shot(b, 60, 30)], tmp_path / "one", store)
    assert [unit.pictures[0][0] for unit in first] == [a, b]
    # Moved in time, shown longer, or at a new path with the same pixels: nothing to encode.
    same = tmp_path / "same-as-a.png"
    same.write_bytes(a.read_bytes())
    moved = [shot(b, 0, 30), shot(same, 30, 90)]
    assert encode(moved, tmp_path / "two", store) == ()
    # A new still, and b shown shorter than its unit was: each is a unit of its own.
    changed = encode([shot(a, 0, 60), shot(c, 60, 10), shot(b, 70, 20)], tmp_path / "three", store)
    assert [unit.pictures for unit in changed] == [((c, 10),), ((b, 20),)]
    for work, frames in (("two", 120), ("three", 90)):
        info = media.ffprobe(tmp_path / work / "out.mp4", "-show_streams")["streams"][0]
        assert (int(info["nb_frames"]), info["r_frame_rate"]) == (frames, "25/1")
    frame = media.frame_at(tmp_path / "two" / "out.mp4", 2.0, tmp_path / "f.png")
    assert np.abs(media.mean_colour(frame) - (200, 0, 0)).max() < 12
