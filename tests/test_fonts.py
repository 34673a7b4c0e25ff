"""The fonts slides are drawn with: metric-compatible families, every script, the deck's own
embedded fonts, and the per-slide report (real LibreOffice in its sandbox, real pdffonts)."""

from __future__ import annotations

import shutil
import struct
import zipfile
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from PIL import Image
from pptx.util import Emu, Inches, Pt

from deck2video import job
from deck2video.errors import InputError
from deck2video.fonts import FontSet, check_fonts
from deck2video.job import load_manifest
from deck2video.roots import Roots
from tests.support.font_decks import deck_with_runs, font_named, render

# (typeface, text, what pdffonts must list for it)
FACES = [
    ("Calibri", "Calibri text", "Carlito"),
    ("Calibri Light", "Calibri Light text", "Carlito"),
    ("Arial", "Arial text", "LiberationSans"),
    ("Times New Roman", "Times text", "LiberationSerif"),
    ("Cambria", "Cambria text", "Caladea"),
    ("Courier New", "Courier text", "LiberationMono"),
    ("Aptos", "Aptos text", "LiberationSans"),
    ("ＭＳ Ｐゴシック", "日本語のテキスト", "NotoSansCJK"),
    ("等线", "中文文本", "NotoSansCJK"),
    ("맑은 고딕", "한국어 텍스트", "NotoSansCJK"),
    ("Segoe UI Emoji", "😀", "Symbola"),  # LibreOffice leaves colour emoji blank
]


def test_each_face_is_drawn_with_its_expected_family_and_every_glyph(tmp_path: Path) -> None:
    deck = deck_with_runs(tmp_path / "faces.pptx", [(f, t) for f, t, _ in FACES])
    fonts = render(deck, tmp_path / "out")
    (slide,) = fonts.report.slides
    for _, _, family in FACES:
        assert any(name.startswith(family) for name in slide.pdf_fonts), (family, slide.pdf_fonts)
    assert not any(name.startswith("DejaVu") for name in slide.pdf_fonts), slide.pdf_fonts
    assert slide.missing == ""
    # The emoji (the last line, 6.2" to 6.7" down the slide) is drawn, not left blank.
    emoji_rows = [
        y for y in _slide_ink_rows(tmp_path / "out" / "0001.png") if 6.2 * 96 < y < 6.8 * 96
    ]
    assert emoji_rows
    kinds = {use.asked: use.kind for use in slide.faces}
    assert kinds["Calibri"] == kinds["Arial"] == kinds["Times New Roman"] == "metric"
    assert kinds["Aptos"] == "substitute"


def test_faces_drawn_by_metric_clones_of_other_names(tmp_path: Path) -> None:
    # Wine's Tahoma is named Tahoma; the rest of fonts-wine's folder (its Courier) stays out.
    runs = [
        ("Tahoma", "Tahoma text", "WineTahoma"),
        ("Century Gothic", "Century Gothic text", "URWGothic"),
        ("Bookman Old Style", "Bookman text", "URWBookman"),
        ("Courier", "Courier text", "LiberationMono"),
    ]
    deck = deck_with_runs(tmp_path / "clones.pptx", [(face, text) for face, text, _ in runs])
    (slide,) = render(deck, tmp_path / "out").report.slides
    for *_, family in runs:
        assert any(name.startswith(family) for name in slide.pdf_fonts), (family, slide.pdf_fonts)
    assert len(slide.pdf_fonts) == len(runs), slide.pdf_fonts
    assert {use.asked: use.kind for use in slide.faces} == dict.fromkeys(
        (face for face, *_ in runs), "metric"
    )


def _ink_rows(image: Image.Image) -> list[int]:
    gray = image.convert("L")
    return [
        y for y in range(gray.height) if min(gray.crop((0, y, gray.width, y + 1)).getdata()) < 128
    ]


def _slide_ink_rows(png: Path) -> list[int]:
    still = Image.open(png)
    page = round(still.height * 4 / 3)  # the 4:3 slide, pillar-boxed in black
    left = (still.width - page) // 2
    return _ink_rows(still.crop((left + 4, 0, left + page - 4, still.height)))


def test_calibri_line_that_fits_by_calibri_metrics_stays_on_one_line(tmp_path: Path) -> None:
    text = "Quarterly results exceeded every forecast we made"
    carlito = TTFont("/usr/share/fonts/truetype/crosextra/Carlito-Regular.ttf")
    widths, cmap = carlito["hmtx"].metrics, carlito.getBestCmap()
    units = sum(widths[cmap[ord(c)]][0] for c in text) / carlito["head"].unitsPerEm
    text_emu = units * Pt(20)
    box = Emu(int(text_emu * 1.03) + Inches(0.2))  # +3 %, plus the two 0.1" insets
    deck = deck_with_runs(tmp_path / "line.pptx", [("Calibri", text)], box_width=box)
    render(deck, tmp_path / "out")
    rows = _slide_ink_rows(tmp_path / "out" / "0001.png")
    still = Image.open(tmp_path / "out" / "0001.png")
    line_px = 20 / 72 * still.height / 7.5  # 20 pt in a 7.5-inch-high slide
    assert rows
    assert rows[-1] - rows[0] < 1.5 * line_px, (rows[0], rows[-1], line_px)


def _eot(sfnt: bytes) -> bytes:
    """An uncompressed, XOR-obfuscated EOT (version 2.1) round ``sfnt``, as PowerPoint writes."""
    data = bytes(b ^ 0x50 for b in sfnt)
    fixed = bytes(10) + bytes([1, 0]) + struct.pack("<IHH", 400, 0, 0x504C) + bytes(46)
    names = bytes(2 * 9)  # five empty name strings and their paddings
    total = 16 + len(fixed) + len(names) + len(data)
    return struct.pack("<IIII", total, len(data), 0x00020001, 0x10000000) + fixed + names + data


def embed(deck: Path, typeface: str, parts: list[bytes]) -> Path:
    """Add ``parts`` as the deck's embedded faces of ``typeface`` (regular, bold, ...)."""
    styles = ("regular", "bold", "italic", "boldItalic")
    patched = deck.with_name(f"embedded-{deck.name}")
    with zipfile.ZipFile(deck) as src, zipfile.ZipFile(patched, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "ppt/presentation.xml":
                slots = "".join(
                    f'<p:{s} r:id="rIdF{i}"/>' for i, s in enumerate(styles[: len(parts)])
                )
                font = f'<p:embeddedFont><p:font typeface="{typeface}"/>{slots}</p:embeddedFont>'
                lst = f"<p:embeddedFontLst>{font}</p:embeddedFontLst>"
                data = data.replace(
                    b"<p:defaultTextStyle", lst.encode() + b"<p:defaultTextStyle", 1
                )
            elif item.filename == "ppt/_rels/presentation.xml.rels":
                rels = "".join(
                    f'<Relationship Id="rIdF{i}" Type="http://schemas.openxmlformats.org/'
                    f'officeDocument/2006/relationships/font" Target="fonts/font{i}.fntdata"/>'
                    for i in range(len(parts))
                )
                data = data.replace(b"</Relationships>", rels.encode() + b"</Relationships>")
            elif item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Default Extension="fntdata" ContentType="application/x-fontdata"/></Types>',
                )
            dst.writestr(item, data)
        for i, part in enumerate(parts):
            dst.writestr(f"ppt/fonts/font{i}.fntdata", part)
    return patched


def test_an_embedded_font_is_used_and_a_corrupt_one_skipped(tmp_path: Path) -> None:
    face = "Deck Only Face"
    deck = deck_with_runs(tmp_path / "own.pptx", [(face, "Set in the deck's own face")])
    deck = embed(deck, face, [_eot(font_named(face)), b"\x00\x01\x00\x00" + bytes(200)])
    fonts = render(deck, tmp_path / "out")
    (slide,) = fonts.report.slides
    assert [(u.asked, u.kind) for u in slide.faces] == [(face, "embedded")]
    assert "DeckOnlyFace" in slide.pdf_fonts
    assert len(fonts.report.warnings) == 1
    assert "skipped" in fonts.report.warnings[0]


def test_a_face_nobody_has_is_reported_and_fail_mode_fails(tmp_path: Path) -> None:
    deck = deck_with_runs(tmp_path / "nobody.pptx", [("Nobody Has This Face", "Plain text")])
    fonts = render(deck, tmp_path / "out")
    (slide,) = fonts.report.slides
    assert [(u.asked, u.got, u.kind) for u in slide.faces] == [
        ("Nobody Has This Face", "Liberation Sans", "substitute")
    ]
    check_fonts(fonts.report, deck.name, "warn")  # only logs
    with pytest.raises(InputError) as failure:
        check_fonts(fonts.report, deck.name, "fail")
    message = str(failure.value)
    assert "\n" not in message
    assert "slide 1" in message
    assert "Nobody Has This Face" in message


def test_the_font_set_is_part_of_the_cache_key(tmp_path: Path) -> None:
    extra = tmp_path / "operator-fonts"
    extra.mkdir()
    before = FontSet(extra=(extra,)).fingerprint()
    shutil.copy("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", extra / "Corporate.ttf")
    assert FontSet(extra=(extra,)).fingerprint() != before


def test_fail_mode_fails_the_job_naming_slide_and_face(
    tmp_path: Path, reference_voice, monkeypatch: pytest.MonkeyPatch
) -> None:
    deck = deck_with_runs(tmp_path / "nobody.pptx", [("Nobody Has This Face", "Plain text")])
    root, out = tmp_path / "root", tmp_path / "published" / "talk.mp4"
    monkeypatch.setenv("DECK2VIDEO_FONT_CHECK", "fail")
    with pytest.raises(InputError) as failure:
        job.run(str(deck), str(reference_voice), out_url=str(out), root_url=str(root))
    message = str(failure.value)
    assert "\n" not in message
    assert "slide 1" in message
    assert "'Nobody Has This Face'" in message
    [job_dir] = (root / "jobs").iterdir()
    manifest = load_manifest(str(job_dir))
    assert (manifest.status, manifest.stage, manifest.reason) == ("failed", "prepare", message)


def test_warn_mode_records_the_report_in_the_manifest(tmp_path: Path, reference_voice) -> None:
    deck = deck_with_runs(tmp_path / "nobody.pptx", [("Nobody Has This Face", "Plain text")])
    plan = job.prepare(
        str(deck), str(reference_voice), out_url=str(tmp_path / "v.mp4"),
        root_url=str(tmp_path / "root"), roots=Roots.anywhere(),
    )  # fmt: skip
    manifest = load_manifest(plan.job_url)
    (slide,) = manifest.fonts["slides"]
    assert slide["faces"][0]["kind"] == "substitute"
    assert manifest.fonts["summary"] == "fonts: 1 substitute; 0 character(s) without a glyph"
    assert any("Nobody Has This Face" in w for w in manifest.warnings)
