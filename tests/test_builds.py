"""Click builds: timing trees read into steps (python-pptx decks with the XML PowerPoint writes),
the steps rendered by real LibreOffice from the derived deck, and the caps."""

from __future__ import annotations

import zipfile
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pptx import Presentation

from deck2video.builds import Reveal, plan_builds, write_steps_deck
from deck2video.errors import InputError
from deck2video.render import render_slides
from deck2video.samples import SampleSlide, build_deck
from tests.support.build_decks import Effect, build_builds_deck, set_timing, timing_xml

SIZE = (640, 360)


def plan(deck: Path, shown=(1, 2, 3), per_slide: int = 50, per_deck: int = 1000):
    return plan_builds(
        deck, list(shown), max_steps_per_slide=per_slide, max_steps_per_deck=per_deck, label="d"
    )


@pytest.fixture(scope="module")
def builds_deck(tmp_path_factory) -> Path:
    return build_builds_deck(tmp_path_factory.mktemp("builds") / "builds.pptx")


def deck_with_timing(path: Path, xml_for_shape_ids, slides: int = 1) -> Path:
    """A deck whose first slide has a text box of three paragraphs and the timing
    ``xml_for_shape_ids(box_id)`` returns."""
    build_deck(path, [SampleSlide(f"S{n}") for n in range(1, slides + 1)])
    prs = Presentation(str(path))
    slide = prs.slides[0]
    box = slide.shapes.add_textbox(0, 0, 3_000_000, 2_000_000)
    box.text_frame.text = "one"
    box.text_frame.add_paragraph().text = "two"
    box.text_frame.add_paragraph().text = "three"
    set_timing(slide, xml_for_shape_ids(box.shape_id))
    prs.save(str(path))
    return path


# ---------------------------------------------------------------- reading


def test_clicks_become_steps_with_previous_joins_its_click_and_exits_are_not_steps(
    builds_deck: Path,
) -> None:
    read = plan(builds_deck)
    assert read.steps == (4, 3, 1)
    assert read.pages == 8
    assert read.warnings == ()
    bullets, picture, leaving = read.slides
    box = bullets.reveals[0][0].shape_id
    assert bullets.reveals == tuple((Reveal(box, n, n),) for n in range(3))
    first, second = picture.reveals
    assert len(first) == 2
    assert all(r.first is None for r in first)
    assert len(second) == 1  # the picture, on the second click
    assert leaving.reveals == ()
    assert leaving.warning is None


def test_only_shown_slides_are_read(builds_deck: Path) -> None:
    assert plan(builds_deck, shown=(2,)).steps == (3,)


def test_a_slide_without_timing_is_one_step(tmp_path: Path) -> None:
    deck = build_deck(tmp_path / "plain.pptx", [SampleSlide("A"), SampleSlide("B")])
    assert plan(deck, shown=(1, 2)).steps == (1, 1)


def test_timed_entrances_before_the_first_click_are_visible_from_the_start(
    tmp_path: Path,
) -> None:
    def timing(box: int) -> str:
        xml = timing_xml([[Effect(box, paragraph=0)], [Effect(box, paragraph=1)]])
        # The first group starts by itself (after the slide appears), not on a click.
        return xml.replace('<p:cond delay="indefinite"/>', '<p:cond delay="500"/>', 1)

    deck = deck_with_timing(tmp_path / "timed.pptx", timing)
    (slide,) = plan(deck, shown=(1,)).slides
    assert slide.steps == 2
    assert [r.first for step in slide.reveals for r in step] == [1]


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        (lambda box: timing_xml([[Effect(999)]]), "shape '999', which is not on the slide"),
        (lambda box: timing_xml([[Effect(box, paragraph=7)]]), "paragraphs 7-7 of shape"),
        (
            lambda box: timing_xml([[Effect(box)]]).replace(
                f'<p:spTgt spid="{box}"/>', "<p:sldTgt/>"
            ),
            "an entrance effect on sldTgt",
        ),
        (
            lambda box: timing_xml([[Effect(box, paragraph=0)]]).replace('st="0"', 'st="x"'),
            "not numbers",
        ),
    ],
    ids=["missing-shape", "missing-paragraph", "slide-target", "bad-range"],
)
def test_a_timing_tree_it_does_not_understand_leaves_one_still_and_a_warning(
    tmp_path: Path, broken, why: str
) -> None:
    deck = deck_with_timing(tmp_path / "broken.pptx", broken)
    read = plan(deck, shown=(1,))
    assert read.steps == (1,)
    (warning,) = read.warnings
    assert warning.startswith("slide 1: its animations were not understood")
    assert why in warning
    assert warning.endswith("shown as one still")


def test_ten_thousand_clicks_are_refused_naming_the_slide(tmp_path: Path) -> None:
    deck = deck_with_timing(
        tmp_path / "many.pptx", lambda box: timing_xml([[Effect(box)]] * 10_000), slides=2
    )
    with pytest.raises(InputError, match=r"d: slide 1 has 10001 build steps; the limit is 50"):
        plan(deck, shown=(1, 2))


def test_the_deck_cap_counts_every_still(builds_deck: Path) -> None:
    with pytest.raises(InputError, match=r"slide 2 brings the deck to more than 6 build steps"):
        plan(builds_deck, per_deck=6)
    assert plan(builds_deck, per_deck=8).pages == 8


# ---------------------------------------------------------------- rendering


@pytest.fixture(scope="module")
def rendered(builds_deck: Path, tmp_path_factory) -> tuple[list[Path], tuple[int, ...]]:
    work = tmp_path_factory.mktemp("steps")
    read = plan(builds_deck)
    derived = write_steps_deck(builds_deck, read, work / "deck" / builds_deck.name)
    stills = render_slides(
        derived, work / "out", expected=read.pages, include_hidden=False,
        width=SIZE[0], height=SIZE[1], timeout=120,
    )  # fmt: skip
    return stills, read.steps


def pixels(path: Path, box: tuple[float, float, float, float]) -> np.ndarray:
    """The part of a still inside ``box`` (fractions of the width and height)."""
    with Image.open(path) as image:
        w, h = image.size
        crop = image.convert("RGB").crop(
            (round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h))
        )
    return np.asarray(crop, dtype=np.int16)


RIGHT = (0.52, 0.25, 0.98, 0.98)  # where every sample slide's builds appear
LEFT = (0.02, 0.25, 0.48, 0.98)  # the slide number: the same in every step


def test_one_still_per_step_and_steps_differ_only_where_things_appear(rendered) -> None:
    stills, steps = rendered
    assert len(stills) == sum(steps) == 8
    first = 0
    for count in steps:
        own = stills[first : first + count]
        for earlier, later in pairwise(own):
            assert np.array_equal(pixels(earlier, LEFT), pixels(later, LEFT))
            assert np.abs(pixels(earlier, RIGHT) - pixels(later, RIGHT)).mean() > 1.0
        first += count


def test_hidden_bullets_keep_their_space(rendered) -> None:
    stills = rendered[0][:4]  # slide 1: nothing, Gather, + Build, + Ship
    ink = [np.abs(pixels(s, RIGHT) - pixels(stills[0], RIGHT)).sum(axis=(1, 2)) for s in stills]
    rows = [set(np.flatnonzero(difference > 0)) for difference in ink]
    assert rows[0] == set()
    # Each bullet appears below the last, and what was there stays exactly where it was.
    assert rows[1] < rows[2] < rows[3]
    shown = sorted(rows[1])
    box = (RIGHT[0], RIGHT[1], RIGHT[2], RIGHT[1] + (shown[-1] + 1) / SIZE[1])
    for later in stills[2:]:
        assert np.array_equal(pixels(stills[1], box), pixels(later, box))
    # The first bullet is where it is on the slide without builds, not moved up.
    assert min(rows[1]) > 0.05 * SIZE[1]


def test_the_derived_deck_keeps_the_notes_with_the_last_step_only(builds_deck: Path, tmp_path):
    derived = write_steps_deck(builds_deck, plan(builds_deck), tmp_path / "d.pptx")
    prs = Presentation(str(derived))
    assert len(prs.slides) == 8
    with_notes = [n for n, slide in enumerate(prs.slides, 1) if slide.has_notes_slide]
    assert with_notes == [4, 7, 8]
    with zipfile.ZipFile(derived) as archive:
        step = archive.read("ppt/slides/slide1-step0.xml")
    assert b"<p:timing" not in step  # a still: nothing left to animate
