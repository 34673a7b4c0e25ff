"""What the video shows when: when each build step starts, shots on the frame grid, the concat
script, crossfades (the fade checked in a real assembled video)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deck2video.assemble import SlideClip, assemble_video
from deck2video.errors import InputError
from deck2video.timeline import (
    FRAME_MS,
    Shot,
    concat_list,
    draw,
    slide_shots,
    step_timing,
    with_fades,
)
from tests.support import media
from tests.support.bad_files import write_wav
from tests.support.media import sound, write_png


def test_concat_list_repeats_the_last_image_to_end_on_time(tmp_path: Path) -> None:
    shots = [Shot(tmp_path / "a.png", 0, 1520), Shot(tmp_path / "b.png", 1520, 3760)]
    text = concat_list(shots)
    files = re.findall(r"^file '(.*)'$", text, re.M)
    durations = [float(d) for d in re.findall(r"^duration (\S+)$", text, re.M)]
    assert [Path(f).name for f in files] == ["a.png", "b.png", "b.png"]
    assert durations == [1.52, 2.24]


def test_steps_start_on_the_frame_nearest_their_time(tmp_path: Path) -> None:
    a, b, c = (tmp_path / f"{n}.png" for n in "abc")
    shots = slide_shots([(a, 0.0), (b, 1.013), (c, 2.5)], start_ms=4000, length_ms=4000, pad_ms=500)
    assert [(s.start_ms, s.end_ms) for s in shots] == [(4000, 5520), (5520, 7000), (7000, 8000)]
    assert all(s.start_ms % FRAME_MS == 0 for s in shots)


def test_steps_at_one_time_still_get_a_frame_each(tmp_path: Path) -> None:
    images = [tmp_path / f"{n}.png" for n in range(4)]
    shots = slide_shots([(images[0], 0.0)] + [(i, 1.0) for i in images[1:]], 0, 2000, 0)
    assert [s.start_ms for s in shots] == [0, 1000, 1040, 1080]
    assert shots[-1].end_ms == 2000


def test_fades_sit_in_the_padding_and_touch_no_step(tmp_path: Path) -> None:
    images = [write_png(tmp_path / f"{n}.png", colour) for n, colour in enumerate(
        [(250, 0, 0), (0, 0, 250)])]  # fmt: skip
    slides = [[Shot(images[0], 0, 2000)], [Shot(images[1], 2000, 4000)]]
    shots = with_fades(slides, pad_ms=200, work=tmp_path / "fades")
    fades = [s for s in shots if not s.keyframe]
    assert (fades[0].start_ms, fades[-1].end_ms) == (1800, 2200)
    assert len(fades) == 400 // FRAME_MS
    assert [s.start_ms for s in shots] == sorted(s.start_ms for s in shots)
    assert (shots[0].end_ms, shots[-1].start_ms) == (1800, 2200)
    assert with_fades(slides, pad_ms=0, work=tmp_path / "none") == [*slides[0], *slides[1]]


def test_fade_frames_are_drawn_only_when_asked(tmp_path: Path) -> None:
    """A kept fade unit needs no frames drawn: with_fades names them, draw writes them."""
    red, blue = (
        write_png(tmp_path / f"{n}.png", c) for n, c in (("r", (250, 0, 0)), ("b", (0, 0, 250)))
    )
    shots = with_fades([[Shot(red, 0, 2000)], [Shot(blue, 2000, 4000)]], 200, tmp_path / "fades")
    fades = [s for s in shots if not s.keyframe]
    assert not (tmp_path / "fades").exists()
    draw(fades[:1])
    assert [s.image.exists() for s in fades[:2]] == [True, False]
    with Image.open(fades[0].image) as first:
        assert np.allclose(media.mean_colour(first), (227, 0, 23), atol=1)  # 1/11 of the way


def test_fade_transition_blends_between_slides_and_keeps_the_narration(tmp_path: Path) -> None:
    red, blue = (250, 20, 20), (20, 20, 250)
    clips = [
        SlideClip(
            write_png(tmp_path / f"{n}.png", colour),
            write_wav(tmp_path / f"{n}.wav", sound("tone", 1.0), 24_000),
            f"S{n}",
            (),
        )
        for n, colour in enumerate((red, blue))
    ]
    faded = assemble_video(
        clips, tmp_path / "fade", padding=0.4, min_slide_seconds=0, timeout=60, transition="fade"
    )
    plain = assemble_video(clips, tmp_path / "none", padding=0.4, min_slide_seconds=0, timeout=60)
    assert faded.intervals == plain.intervals
    boundary = faded.intervals[0][1]
    middle = media.mean_colour(media.frame_at(faded.path, boundary + 0.01, tmp_path / "m.png"))
    assert 60 < middle[0] < 210
    assert 60 < middle[2] < 210
    for at, colour in ((boundary - 0.6, red), (boundary + 0.6, blue)):
        frame = media.frame_at(faded.path, at, tmp_path / "f.png")
        assert np.abs(media.mean_colour(frame) - colour).max() < 12
    assert np.allclose(
        media.decoded_audio(faded.path, 24_000), media.decoded_audio(plain.path, 24_000), atol=1e-3
    )


def test_an_unknown_transition_is_refused(tmp_path: Path) -> None:
    clip = SlideClip(write_png(tmp_path / "a.png", (0, 0, 0)), tmp_path / "a.wav", "A", ())
    write_wav(clip.audio, sound("silence", 0.5), 24_000)
    with pytest.raises(InputError, match="transition 'wipe'"):
        assemble_video([clip], tmp_path / "o", padding=0.1, min_slide_seconds=1, timeout=60,
                       transition="wipe")  # fmt: skip


# ---------------------------------------------------------------- timing


def test_click_markers_start_their_steps_with_the_next_sentence() -> None:
    timing = step_timing(4, [0.0, 2.0, 4.5, 7.0], 9.0, clicks=[1, 2, 3])
    assert timing.starts == (0.0, 2.0, 4.5, 7.0)
    assert timing.warning is None


def test_without_markers_steps_go_to_the_sentence_nearest_each_share() -> None:
    # 3 steps over 9 s: targets 3 s and 6 s; the nearest sentence starts are 2.0 and 7.0.
    assert step_timing(3, [0.0, 2.0, 4.8, 7.0], 9.0, clicks=[]).starts == (0.0, 2.0, 7.0)


def test_the_last_step_is_held_for_a_sentence_when_there_are_enough() -> None:
    starts = step_timing(3, [0.0, 1.0, 1.5, 8.5], 9.0, clicks=[]).starts
    assert starts[-1] <= 8.5


def test_more_steps_than_sentences_spreads_them_evenly() -> None:
    assert step_timing(4, [0.0, 4.0], 8.0, clicks=[]).starts == (0.0, 2.0, 4.0, 6.0)


def test_silent_slide_spreads_its_steps_over_its_silence() -> None:
    assert step_timing(2, [], 1.0, clicks=[]).starts == (0.0, 0.5)


def test_extra_markers_are_a_warning_and_missing_ones_are_spread() -> None:
    extra = step_timing(2, [0.0, 3.0, 6.0], 9.0, clicks=[1, 2])
    assert extra.starts == (0.0, 3.0)
    assert extra.warning == "2 [CLICK] markers for 1 clicks; the extra are ignored"
    # One marker for three clicks: the other two spread over what follows it.
    fewer = step_timing(4, [0.0, 1.0, 3.0, 5.0, 7.0], 9.0, clicks=[1])
    assert fewer.starts[:2] == (0.0, 1.0)
    assert fewer.starts[2:] == (3.0, 7.0)


def test_markers_on_a_slide_without_clicks_are_a_warning() -> None:
    timing = step_timing(1, [0.0, 2.0], 4.0, clicks=[1])
    assert timing.starts == (0.0,)
    assert timing.warning == "1 [CLICK] markers for 0 clicks; the extra are ignored"


def test_a_marker_after_the_last_sentence_starts_its_step_when_the_narration_ends() -> None:
    assert step_timing(2, [0.0, 2.0], 4.0, clicks=[2]).starts == (0.0, 4.0)
