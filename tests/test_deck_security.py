"""deck.py against hostile decks: what is refused before rendering (pictures too big to decode,
text too long, a bomb in one part, links out of the deck) and what is read leniently."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from deck2video.config import Limits
from deck2video.deck import open_deck, strip_external
from deck2video.errors import InputError
from deck2video.samples import SampleSlide, build_deck
from tests.support import bad_files

SLIDES = [SampleSlide("One", "First."), SampleSlide("Two", "Second."), SampleSlide("Three")]


def refused(path: Path, limits: Limits = Limits()) -> str:  # noqa: B008
    with pytest.raises(InputError) as caught:
        open_deck(path, limits)
    message = str(caught.value)
    assert message.startswith(f"deck {path.name}: ")
    assert "\n" not in message
    return message


def test_a_picture_too_big_to_decode_is_refused_from_its_header(tmp_path: Path):
    deck = bad_files.picture_deck(
        tmp_path / "pixels.pptx", [bad_files.small_png(), bad_files.huge_png(20000, 20000)]
    )
    assert deck.stat().st_size < 200_000  # a small file that decodes to 400 megapixels
    message = refused(deck)
    assert "slide 1: picture ppt/media/image2.png is over 179 megapixels" in message
    assert "limit of 40 megapixels (DECK2VIDEO_MAX_PICTURE_PIXELS)" in message
    sixteen = bad_files.picture_deck(tmp_path / "16k.pptx", [bad_files.huge_png(16000, 9000)])
    assert "picture ppt/media/image1.png is 16000x9000 (144 megapixels)" in refused(sixteen)


def test_pictures_under_the_limit_pass(tmp_path: Path):
    deck = bad_files.picture_deck(tmp_path / "ok.pptx", [bad_files.huge_png(6000, 4000)])
    assert [s.title for s in open_deck(deck).slides] == ["Pictures"]


def test_a_bomb_in_one_part_is_refused_though_the_deck_as_a_whole_passes(tmp_path: Path):
    deck = bad_files.entry_bomb(tmp_path / "bomb.pptx", zero_mib=300, noise_mib=4)
    with zipfile.ZipFile(deck) as archive:
        entries = archive.infolist()
    whole = sum(e.file_size for e in entries) / sum(e.compress_size for e in entries)
    assert whole < Limits().max_compression_ratio  # what used to be the only ratio check
    message = refused(deck)
    assert "part 'ppt/media/zeros.bin' unpacks to 314572800 bytes" in message
    assert "DECK2VIDEO_MAX_ENTRY_BYTES" in message
    ratio = refused(deck, Limits(max_entry_bytes=2**30))
    assert "compression ratio of" in ratio
    assert "DECK2VIDEO_MAX_ENTRY_RATIO" in ratio


def test_a_small_part_that_compresses_wildly_passes(tmp_path: Path):
    # An EMF picture of one flat colour in a real deck compresses 667:1: no bomb at 1.4 MB.
    deck = bad_files.entry_bomb(tmp_path / "flat.pptx", zero_mib=8, noise_mib=0)
    with zipfile.ZipFile(deck) as archive:
        zeros = archive.getinfo("ppt/media/zeros.bin")
    assert zeros.file_size / zeros.compress_size > Limits().max_entry_ratio
    assert [s.title for s in open_deck(deck).slides] == ["Bomb"]


def test_a_whole_deck_that_compresses_wildly_is_refused_once_it_is_big(tmp_path: Path):
    deck = bad_files.entry_bomb(tmp_path / "bomb.pptx", zero_mib=200, noise_mib=0)
    message = refused(deck, Limits(max_entry_ratio=10_000))
    assert "compression ratio" in message
    assert "above the limit of 100:1" in message


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (SampleSlide("T" * 5001), "slide 2: its title has 5001 characters, more than the "
         "limit of 5000 (DECK2VIDEO_MAX_TITLE_CHARS)"),
        (SampleSlide("Long notes", "word " * 4001), "slide 2: its notes have 20005 characters, "
         "more than the limit of 20000 (DECK2VIDEO_MAX_NOTES_CHARS)"),
    ],
)  # fmt: skip
def test_text_over_its_limit_is_refused_naming_the_slide(tmp_path: Path, spec, says: str):
    deck = build_deck(tmp_path / "text.pptx", [SampleSlide("Fine", "ok."), spec])
    assert says in refused(deck)


def test_a_slide_with_too_much_text_is_refused(tmp_path: Path):
    deck = build_deck(tmp_path / "wall.pptx", [SampleSlide("Short")])
    message = refused(deck, Limits(max_slide_text_chars=3))
    assert "slide 1 holds 6 characters of text, more than the limit of 3 " in message


def test_titles_lose_bidi_overrides_and_control_characters(tmp_path: Path):
    spoof = "Invoice \u202egnp.exe\u202c\x9b total"  # an override, and a C1 control
    deck = build_deck(tmp_path / "spoof.pptx", [SampleSlide(spoof, "Hi.")])
    assert open_deck(deck).slides[0].title == "Invoice gnp.exe total"


def test_a_long_fallback_title_is_cut_for_display(tmp_path: Path):
    deck = build_deck(tmp_path / "t.pptx", [SampleSlide("")])  # the slide number box is the title
    assert open_deck(deck).slides[0].title == "1"
    long_title = build_deck(tmp_path / "long.pptx", [SampleSlide("W" * 400)])
    title = open_deck(long_title).slides[0].title
    assert len(title) == 200
    assert title.endswith("…")


def test_links_out_of_the_deck_are_listed_with_their_slide(tmp_path: Path):
    linked = bad_files.external_picture_deck(tmp_path / "linked.pptx", "http://127.0.0.1:9/p.png")
    [link] = open_deck(linked).external
    assert (link.where, link.kind, link.rels_part) == (
        "slide 1", "image", "ppt/slides/_rels/slide1.xml.rels"
    )  # fmt: skip
    # A "hyperlink" that a picture draws from is a fetch all the same.
    disguised = bad_files.external_picture_deck(
        tmp_path / "disguised.pptx", "http://127.0.0.1:9/p.png", rel_type="hyperlink"
    )
    assert [link.kind for link in open_deck(disguised).external] == ["hyperlink"]
    local = bad_files.external_picture_deck(tmp_path / "local.pptx", "file:///etc/passwd")
    assert len(open_deck(local).external) == 1


def test_clickable_hyperlinks_are_not_links_out(tmp_path: Path):
    from pptx import Presentation

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Docs"
    slide.shapes.title.text_frame.paragraphs[0].runs[0].hyperlink.address = "https://example.com"
    prs.save(str(tmp_path / "clicks.pptx"))
    assert open_deck(tmp_path / "clicks.pptx").external == ()


def test_stripping_removes_the_links_and_nothing_else(tmp_path: Path):
    linked = bad_files.external_picture_deck(tmp_path / "linked.pptx", "http://127.0.0.1:9/p.png")
    before = open_deck(linked)
    stripped = strip_external(linked, tmp_path / "stripped.pptx", before.external)
    after = open_deck(stripped)
    assert after.external == ()
    assert [(s.title, s.notes) for s in after.slides] == [(s.title, s.notes) for s in before.slides]
    with zipfile.ZipFile(stripped) as archive:
        rels = archive.read("ppt/slides/_rels/slide1.xml.rels").decode()
    assert "127.0.0.1" not in rels
    assert "slideLayout" in rels


def test_a_slide_that_strict_xml_refuses_is_read_leniently(tmp_path: Path):
    deck = bad_files.malformed_xml_deck(tmp_path / "3d.pptx", SLIDES, broken=2)
    opened = open_deck(deck)
    assert [(s.title, s.notes) for s in opened.slides] == [
        ("One", "First."), ("Two", "Second."), ("Three", "")
    ]  # fmt: skip
    assert opened.warnings == ("slide 2: malformed XML, read leniently (the fault was dropped)",)
