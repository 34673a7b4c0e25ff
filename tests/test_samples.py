"""samples: the generated decks and reference voice have the properties other tests rely on."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from deck2video import samples
from deck2video.narration import is_silent
from deck2video.samples import PALETTE, SampleSlide
from tests.support import media


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5


@pytest.mark.parametrize("step", [1, 2])  # 2: a hidden slide between two shown ones
def test_palette_keeps_nearby_slides_far_apart(step: int) -> None:
    for i in range(len(PALETTE)):
        assert _distance(PALETTE[i], PALETTE[(i + step) % len(PALETTE)]) > 120


def test_build_deck_slides_are_distinct(make_deck: Callable) -> None:
    specs = [SampleSlide(f"Slide title {i}", image=i == 2) for i in range(1, 15)]
    prs = Presentation(str(make_deck(specs)))
    colours, numbers = [], []
    for slide in prs.slides:
        colours.append(tuple(slide.background.fill.fore_color.rgb))
        texts = [s.text_frame.text for s in slide.shapes if s.has_text_frame]
        numbers.append(texts[-1])
    assert numbers == [str(i) for i in range(1, 15)]
    assert all(a != b for a, b in pairwise(colours))
    pictures = [
        sum(s.shape_type == MSO_SHAPE_TYPE.PICTURE for s in slide.shapes) for slide in prs.slides
    ]
    assert pictures == [0, 1] + [0] * 12


def test_build_deck_rejects_unknown_aspect(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="aspect"):
        samples.build_deck(tmp_path / "x.pptx", [SampleSlide("x")], aspect="21:9")


def test_demo_deck_covers_the_special_cases() -> None:
    slides = samples.DEMO_SLIDES
    assert len(slides) >= 6
    assert any(s.hidden and s.notes for s in slides)
    assert any(not s.notes for s in slides)
    assert any(s.notes == "[SILENCE]" for s in slides)
    assert any(s.image for s in slides)
    assert any(not s.title.isascii() and not s.notes.isascii() for s in slides)
    assert max(len(s.notes.split()) for s in slides) >= 300
    assert not slides[0].hidden
    assert not is_silent(slides[0].notes)


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [(".wav", "pcm_s16le"), (".mp3", "mp3"), (".flac", "flac"), (".ogg", "vorbis"),
     (".m4a", "aac")],
)  # fmt: skip
def test_reference_voice_formats(tmp_path: Path, suffix: str, codec: str) -> None:
    path = samples.make_reference_voice(tmp_path / f"voice{suffix}")
    probe = media.ffprobe(path, "-show_streams", "-show_format")
    (stream,) = probe["streams"]
    assert stream["codec_name"] == codec
    assert float(probe["format"]["duration"]) >= 6.0


def test_reference_voice_rejects_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"voice.aiff"):
        samples.make_reference_voice(tmp_path / "voice.aiff")
