"""deck: open and validate a .pptx, read slides (index, hidden, title, notes)."""

from __future__ import annotations

import shutil
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pptx import Presentation
from pptx.util import Inches

from bench import inputs
from deck2video import samples
from deck2video.config import Limits
from deck2video.deck import Deck, Slide, open_deck
from deck2video.errors import InputError
from deck2video.samples import SampleSlide
from tests.support import bad_files


def test_demo_deck_reads_back_exactly(demo_deck: Path) -> None:
    deck = open_deck(demo_deck)
    assert (deck.width_emu, deck.height_emu) == (12_192_000, 6_858_000)
    assert deck.name == demo_deck.name
    assert [s.index for s in deck.slides] == list(range(1, len(samples.DEMO_SLIDES) + 1))
    for slide, spec in zip(deck.slides, samples.DEMO_SLIDES, strict=True):
        assert (slide.title, slide.hidden, slide.notes) == (spec.title, spec.hidden, spec.notes)
    shown = deck.shown()
    assert all(not s.hidden for s in shown)
    assert len(shown) == len(deck.slides) - 1
    assert deck.shown(include_hidden=True) == list(deck.slides)


@pytest.mark.parametrize(
    ("hidden", "include_hidden", "expected_indexes"),
    [
        ((False, True, False), False, [1, 3]),
        ((False, True, False), True, [1, 2, 3]),
        ((True, False, True, False), False, [2, 4]),
        ((False,), False, [1]),
    ],
)
def test_hidden_flags_and_shown_selection(
    make_deck: Callable, hidden: tuple[bool, ...], include_hidden: bool, expected_indexes: list
) -> None:
    specs = [
        SampleSlide(f"Title {i}", f"Notes for slide {i}.", hidden=h)
        for i, h in enumerate(hidden, 1)
    ]
    deck = open_deck(make_deck(specs))
    assert [s.hidden for s in deck.slides] == list(hidden)
    assert [s.title for s in deck.slides] == [f"Title {i}" for i in range(1, len(hidden) + 1)]
    shown = deck.shown(include_hidden=include_hidden)
    assert [s.index for s in shown] == expected_indexes
    assert [s.notes for s in shown] == [f"Notes for slide {i}." for i in expected_indexes]


@pytest.mark.parametrize(
    ("aspect", "size"), [("16:9", (12_192_000, 6_858_000)), ("4:3", (9_144_000, 6_858_000))]
)
def test_slide_size(make_deck: Callable, aspect: str, size: tuple[int, int]) -> None:
    deck = open_deck(make_deck([SampleSlide("One", image=True)], aspect=aspect))
    assert (deck.width_emu, deck.height_emu) == size


def test_titles_fall_back_to_first_text_then_slide_number(tmp_path: Path) -> None:
    prs = Presentation()
    blank, title_only = prs.slide_layouts[6], prs.slide_layouts[5]

    with_title = prs.slides.add_slide(title_only)
    with_title.shapes.title.text = "Two-line\vtitle  here"
    with_title.shapes.add_textbox(0, 0, Inches(1), Inches(1)).text_frame.text = "body"

    empty_title = prs.slides.add_slide(title_only)
    empty_title.shapes.title.text = "   "
    empty_title.shapes.add_textbox(0, 0, Inches(1), Inches(1)).text_frame.text = ""
    empty_title.shapes.add_textbox(0, 0, Inches(1), Inches(1)).text_frame.text = "First words"

    grouped = prs.slides.add_slide(blank)
    group = grouped.shapes.add_group_shape()
    group.shapes.add_textbox(0, 0, Inches(1), Inches(1)).text_frame.text = "Inside a group"

    prs.slides.add_slide(blank)  # no text at all

    path = tmp_path / "titles.pptx"
    prs.save(str(path))
    titles = [s.title for s in open_deck(path).slides]
    assert titles == ["Two-line title here", "First words", "Inside a group", "Slide 4"]


def test_notes_edge_cases(tmp_path: Path) -> None:
    prs = Presentation()
    layout = prs.slide_layouts[6]
    prs.slides.add_slide(layout)  # no notes slide at all
    prs.slides.add_slide(layout).notes_slide  # noqa: B018 (creates an empty notes slide)
    prs.slides.add_slide(layout).notes_slide.notes_text_frame.text = "Soft\vbreak\nNew paragraph"
    path = tmp_path / "notes.pptx"
    prs.save(str(path))
    assert [s.notes for s in open_deck(path).slides] == ["", "", "Soft\nbreak\nNew paragraph"]


def test_non_ascii_title_and_notes(make_deck: Callable) -> None:
    spec = SampleSlide("Café Zürich — naïve façade", "Le café coûte 4 € — très bien.")
    slide = open_deck(make_deck([spec])).slides[0]
    assert (slide.title, slide.notes) == (spec.title, spec.notes)


# --- bad input: every case is one InputError line naming the file and the problem -------------


def _text_file(tmp: Path) -> tuple[Path, Limits]:
    return bad_files.not_a_zip(tmp / "notes.pptx"), Limits()


def _empty_file(tmp: Path) -> tuple[Path, Limits]:
    path = tmp / "empty.pptx"
    path.write_bytes(b"")
    return path, Limits()


def _missing_file(tmp: Path) -> tuple[Path, Limits]:
    return tmp / "missing.pptx", Limits()


def _ole_file(tmp: Path) -> tuple[Path, Limits]:
    return bad_files.encrypted_deck(tmp / "locked.pptx"), Limits()


def _zip_without_presentation(tmp: Path) -> tuple[Path, Limits]:
    return bad_files.zip_without_presentation(tmp / "archive.pptx"), Limits()


def _zip_bomb(tmp: Path) -> tuple[Path, Limits]:
    return bad_files.zip_bomb(tmp / "bomb.pptx", megabytes=40), Limits()


def _zip_bomb_over_size(tmp: Path) -> tuple[Path, Limits]:
    path, _ = _zip_bomb(tmp)
    return path, Limits(max_uncompressed_bytes=10 * 1024 * 1024)


def _many_entries(tmp: Path) -> tuple[Path, Limits]:
    path = tmp / "many.pptx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ppt/presentation.xml", "<p:presentation/>")
        for i in range(30):
            archive.writestr(f"ppt/media/{i}.txt", str(i))
    return path, Limits(max_zip_entries=20)


def _too_big(tmp: Path) -> tuple[Path, Limits]:
    path = samples.build_deck(tmp / "big.pptx", [SampleSlide("Big")])
    return path, Limits(max_deck_bytes=1000)


def _encrypted_entries(tmp: Path) -> tuple[Path, Limits]:
    path = samples.build_deck(tmp / "zipcrypto.pptx", [SampleSlide("Secret")])
    _set_encrypted_flag(path)
    return path, Limits()


def _corrupt_presentation(tmp: Path) -> tuple[Path, Limits]:
    source = samples.build_deck(tmp / "source.pptx", [SampleSlide("One")])
    path = tmp / "corrupt.pptx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, b"<not xml" if item.filename == "ppt/presentation.xml" else data)
    return path, Limits()


def _too_many_slides(tmp: Path) -> tuple[Path, Limits]:
    path = samples.build_deck(tmp / "long.pptx", [SampleSlide(f"S{i}") for i in range(4)])
    return path, Limits(max_slides=3)


def _no_slides(tmp: Path) -> tuple[Path, Limits]:
    path = tmp / "blank.pptx"
    Presentation().save(str(path))
    return path, Limits()


@pytest.mark.parametrize(
    ("build", "problem"),
    [
        (_missing_file, "no such file"),
        (_text_file, "not a zip file"),
        (_empty_file, "not a zip file"),
        (_ole_file, "password-protected or encrypted"),
        (_zip_without_presentation, "not a PowerPoint presentation"),
        (_zip_bomb, "compression ratio"),
        (_zip_bomb_over_size, "unpacks to 41943"),
        (_many_entries, "31 zip entries is more than the limit of 20"),
        (_too_big, "larger than the limit of 1000 bytes"),
        (_encrypted_entries, "password-protected or encrypted"),
        (_corrupt_presentation, "cannot read the presentation"),
        (_too_many_slides, "4 slides is more than the limit of 3"),
        (_no_slides, "has no slides"),
    ],
    ids=lambda v: getattr(v, "__name__", "").strip("_") or None,
)
def test_bad_input_is_refused_with_a_clear_message(
    tmp_path: Path, build: Callable, problem: str
) -> None:
    path, limits = build(tmp_path)
    with pytest.raises(InputError) as caught:
        open_deck(path, limits)
    message = str(caught.value)
    assert message.startswith(f"deck {path.name}: ")
    assert problem in message
    assert "\n" not in message


def test_ole_message_mentions_old_ppt_too(tmp_path: Path) -> None:
    path, _ = _ole_file(tmp_path)
    with pytest.raises(InputError, match=r"\.ppt"):
        open_deck(path)


def test_all_hidden_deck_opens_but_shows_nothing(make_deck: Callable) -> None:
    path = make_deck(
        [SampleSlide("A", "a", hidden=True), SampleSlide("B", hidden=True)], "all.pptx"
    )
    deck = open_deck(path)
    with pytest.raises(InputError, match=r"^deck all\.pptx: no shown slides \(2 hidden"):
        deck.shown()
    assert [s.index for s in deck.shown(include_hidden=True)] == [1, 2]


def test_empty_selection_message_is_one_line() -> None:
    deck = Deck(slides=(Slide(1, True, "T", ""),), width_emu=1, height_emu=1, name="x.pptx")
    with pytest.raises(InputError) as caught:
        deck.shown()
    assert "\n" not in str(caught.value)
    assert "x.pptx" in str(caught.value)


def test_real_deck_passes_default_limits(tmp_path: Path) -> None:
    path = inputs.build_bench_deck(tmp_path / "bench.pptx", slides=12, minutes=2.0)
    deck = open_deck(path, Limits(max_slides=12))
    assert len(deck.slides) == 12


def test_deck_is_not_modified(demo_deck: Path, tmp_path: Path) -> None:
    copy = shutil.copy(demo_deck, tmp_path / "copy.pptx")
    before = Path(copy).read_bytes()
    open_deck(Path(copy))
    assert Path(copy).read_bytes() == before


def _set_encrypted_flag(path: Path) -> None:
    """Mark every entry as encrypted (zipfile cannot write encrypted entries itself)."""
    data = bytearray(path.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start != -1:
            (flags,) = struct.unpack_from("<H", data, start + flag_offset)
            struct.pack_into("<H", data, start + flag_offset, flags | 0x1)
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("kind", ["slideshow", "template"])
def test_a_slide_show_or_template_named_pptx_is_read(tmp_path: Path, kind: str) -> None:
    built = samples.build_deck(tmp_path / "built.pptx", [SampleSlide("Shown", "Say this.")])
    renamed = tmp_path / "show.pptx"
    with zipfile.ZipFile(built) as src, zipfile.ZipFile(renamed, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"presentationml.presentation.main", f"presentationml.{kind}.main".encode()
                )
            out.writestr(info, data)
    with pytest.raises(ValueError, match="is not a PowerPoint file"):
        Presentation(str(renamed))  # what python-pptx alone makes of it
    deck = open_deck(renamed)
    assert [(s.title, s.notes) for s in deck.slides] == [("Shown", "Say this.")]
    assert deck.warnings == ()
