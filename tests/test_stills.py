"""Encoding each still once: which units are encoded and how copies of them make the video
(the video itself is checked frame by frame in test_assemble and the builds tests)."""

from __future__ import annotations

from pathlib import Path

from deck2video import stills
from deck2video.stills import UNIT_FRAMES, Unit
from deck2video.timeline import FRAME_MS, Shot

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


def test_the_copy_list_cuts_only_partial_copies(tmp_path: Path) -> None:
    made = stills.plan([shot(A, 0, UNIT_FRAMES + 10)])
    text = stills.copies_list(made, [tmp_path / "unit-000000.mp4"])
    assert text.count("file ") == 2
    assert text.count("outpoint ") == 1
    assert "outpoint 0.400" in text
