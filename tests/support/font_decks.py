"""Decks set in given typefaces, real fonts of a given family, and a one-slide render with its
font report: shared by the font tests."""

from __future__ import annotations

import io
from pathlib import Path

from fontTools.ttLib import TTFont
from lxml import etree
from pptx import Presentation
from pptx.util import Inches, Pt

from deck2video.fonts import FontRender, FontSet
from deck2video.render import render_slides

_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
WIDTH, HEIGHT = 1280, 720


def deck_with_runs(
    path: Path, runs: list[tuple[str, str]], *, box_width: int = 8_229_600
) -> Path:  # 9"
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    for i, (face, text) in enumerate(runs):
        box = slide.shapes.add_textbox(Inches(0.3), Inches(0.2 + i * 0.6), box_width, Inches(0.5))
        box.text_frame.word_wrap = True
        run = box.text_frame.paragraphs[0].add_run()
        run.text, run.font.name, run.font.size = text, face, Pt(20)
        if not text.isascii():
            etree.SubElement(run._r.get_or_add_rPr(), f"{{{_A}}}ea").set("typeface", face)
    prs.save(path)
    return path


def render(deck: Path, out: Path, font_set: FontSet | None = None) -> FontRender:
    fonts = FontRender(font_set or FontSet())
    render_slides(
        deck, out, expected=1, include_hidden=False, width=WIDTH, height=HEIGHT, timeout=180,
        fonts=fonts,
    )  # fmt: skip
    return fonts


def font_named(family: str) -> bytes:
    """A real font file (DejaVu Sans Mono's outlines) that declares the family ``family``."""
    font = TTFont("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = family
        elif record.nameID == 6:
            record.string = family.replace(" ", "")
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()
