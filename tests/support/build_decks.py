"""Sample decks with click builds, for the tests and ``make bench-builds``: the timing trees
PowerPoint writes (a main sequence of click groups, entrance effects on shapes and paragraphs),
written as XML beside python-pptx's shapes.

:func:`build_builds_deck` makes three slides: three bullets built by paragraph on three clicks,
with ``[CLICK]`` markers in its notes; a shape and (with it) a second shape on the first click
and a picture on the second, with plain notes; a shape with an exit effect. Each revealed thing
sits in its own region, so a test can tell the steps apart by looking at a frame.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.util import Emu, Pt

from bench.inputs import bench_slides
from deck2video.samples import SampleSlide, _picture_png, build_deck

P = "http://schemas.openxmlformats.org/presentationml/2006/main"

BULLET_NOTES = (
    "Here is the plan in three parts. [CLICK] First, we gather what we need for the work. "
    "[CLICK] Then, we build the whole thing step by step. [CLICK] Finally, we ship it to "
    "everyone who asked for it."
)
PICTURE_NOTES = (
    "This slide starts empty on the right. A box and a circle arrive together. "
    "Then a picture joins them on the right. That is the whole story of this slide."
)
EXIT_NOTES = "This box has an exit effect, which the video does not play. It stays in place."
BULLETS = ("Gather", "Build", "Ship")


@dataclass(frozen=True)
class Effect:
    """One effect in a click group: on shape ``spid``, or on its paragraph ``paragraph``."""

    spid: int
    paragraph: int | None = None
    node: str = "clickEffect"  # clickEffect | withEffect | afterEffect
    kind: str = "entr"  # entr | exit | emph | path


def timing_xml(clicks: Sequence[Sequence[Effect]], by_paragraph: Sequence[int] = ()) -> str:
    """A ``p:timing`` element: one click group per entry of ``clicks``; ``by_paragraph``
    names the shapes built by paragraph (``bldP``)."""
    ids = iter(range(3, 10**9))
    groups = "".join(
        f'<p:par><p:cTn id="{next(ids)}" fill="hold"><p:stCondLst><p:cond delay="indefinite"/>'
        f'</p:stCondLst><p:childTnLst><p:par><p:cTn id="{next(ids)}" fill="hold"><p:stCondLst>'
        f'<p:cond delay="0"/></p:stCondLst><p:childTnLst>'
        + "".join(_effect_xml(effect, ids) for effect in group)
        + "</p:childTnLst></p:cTn></p:par></p:childTnLst></p:cTn></p:par>"
        for group in clicks
    )
    builds = "".join(f'<p:bldP spid="{spid}" grpId="0" build="p"/>' for spid in by_paragraph)
    return (
        f'<p:timing xmlns:p="{P}"><p:tnLst><p:par><p:cTn id="1" dur="indefinite" '
        'restart="never" nodeType="tmRoot"><p:childTnLst><p:seq concurrent="1" nextAc="seek">'
        f'<p:cTn id="2" dur="indefinite" nodeType="mainSeq"><p:childTnLst>{groups}'
        '</p:childTnLst></p:cTn><p:prevCondLst><p:cond evt="onPrev" delay="0"><p:tgtEl>'
        '<p:sldTgt/></p:tgtEl></p:cond></p:prevCondLst><p:nextCondLst><p:cond evt="onNext" '
        'delay="0"><p:tgtEl><p:sldTgt/></p:tgtEl></p:cond></p:nextCondLst></p:seq>'
        "</p:childTnLst></p:cTn></p:par></p:tnLst>"
        + (f"<p:bldLst>{builds}</p:bldLst>" if builds else "")
        + "</p:timing>"
    )


def _effect_xml(effect: Effect, ids: Iterator[int]) -> str:
    target = f'<p:spTgt spid="{effect.spid}"/>'
    if effect.paragraph is not None:
        paragraph = effect.paragraph
        target = (
            f'<p:spTgt spid="{effect.spid}"><p:txEl><p:pRg st="{paragraph}" end="{paragraph}"/>'
            "</p:txEl></p:spTgt>"
        )
    visibility = "hidden" if effect.kind == "exit" else "visible"
    return (
        f'<p:par><p:cTn id="{next(ids)}" presetID="1" presetClass="{effect.kind}" '
        f'presetSubtype="0" fill="hold" nodeType="{effect.node}"><p:stCondLst>'
        '<p:cond delay="0"/></p:stCondLst><p:childTnLst><p:set><p:cBhvr>'
        f'<p:cTn id="{next(ids)}" dur="1" fill="hold"><p:stCondLst><p:cond delay="0"/>'
        f"</p:stCondLst></p:cTn><p:tgtEl>{target}</p:tgtEl><p:attrNameLst>"
        "<p:attrName>style.visibility</p:attrName></p:attrNameLst></p:cBhvr><p:to>"
        f'<p:strVal val="{visibility}"/></p:to></p:set></p:childTnLst></p:cTn></p:par>'
    )


def set_timing(slide: Any, xml: str) -> None:
    """Put a ``p:timing`` into a python-pptx slide, where the schema wants it."""
    element = etree.fromstring(xml)
    extensions = slide._element.find(f"{{{P}}}extLst")
    if extensions is not None:
        extensions.addprevious(element)
    else:
        slide._element.append(element)


def build_builds_deck(path: Path) -> Path:
    """The three-slide deck described in the module doc; returns ``path``."""
    build_deck(
        path,
        [
            SampleSlide("Three steps", BULLET_NOTES),
            SampleSlide("A picture", PICTURE_NOTES),
            SampleSlide("An exit", EXIT_NOTES),
        ],
    )
    prs = Presentation(str(path))
    width, height = int(prs.slide_width or 0), int(prs.slide_height or 0)
    bullets, picture, leaving = prs.slides
    region = (Emu(width * 11 // 20), Emu(height * 3 // 10), Emu(width * 8 // 20))

    box = bullets.shapes.add_textbox(*region, Emu(height * 6 // 10))
    for n, text in enumerate(BULLETS):
        paragraph = box.text_frame.paragraphs[0] if n == 0 else box.text_frame.add_paragraph()
        run = paragraph.add_run()
        run.text = f"\u2022 {text}"
        run.font.size = Pt(54)
        run.font.color.rgb = RGBColor(255, 255, 255)
    set_timing(
        bullets,
        timing_xml(
            [[Effect(box.shape_id, paragraph=n)] for n in range(len(BULLETS))],
            by_paragraph=[box.shape_id],
        ),
    )

    square = _block(picture, MSO_SHAPE.RECTANGLE, width * 11 // 20, height * 3 // 10, width)
    circle = _block(picture, MSO_SHAPE.OVAL, width * 16 // 20, height * 3 // 10, width)
    image = picture.shapes.add_picture(
        io.BytesIO(_picture_png(2)),
        Emu(width * 11 // 20),
        Emu(height * 6 // 10),
        Emu(width * 7 // 20),
        Emu(height * 3 // 10),
    )
    set_timing(
        picture,
        timing_xml(
            [
                [Effect(square.shape_id), Effect(circle.shape_id, node="withEffect")],
                [Effect(image.shape_id)],
            ]
        ),
    )

    gone = _block(leaving, MSO_SHAPE.RECTANGLE, width * 11 // 20, height * 3 // 10, width)
    set_timing(leaving, timing_xml([[Effect(gone.shape_id, kind="exit")]]))
    prs.save(str(path))
    return path


def build_builds_bench_deck(path: Path, slides: int = 30, minutes: float = 10.0) -> Path:
    """The benchmark deck (:func:`bench.inputs.bench_slides`) with three bullets built by
    paragraph on three clicks on every slide, its notes unmarked (steps spread over them)."""
    build_deck(path, bench_slides(slides, minutes))
    prs = Presentation(str(path))
    width, height = int(prs.slide_width or 0), int(prs.slide_height or 0)
    for slide in prs.slides:
        box = slide.shapes.add_textbox(
            Emu(width * 11 // 20), Emu(height * 3 // 10), Emu(width * 8 // 20), Emu(height // 3)
        )
        for n, text in enumerate(BULLETS):
            paragraph = box.text_frame.paragraphs[0] if n == 0 else box.text_frame.add_paragraph()
            paragraph.text = f"\u2022 {text}"
            paragraph.runs[0].font.size = Pt(40)
        clicks = [[Effect(box.shape_id, paragraph=n)] for n in range(len(BULLETS))]
        set_timing(slide, timing_xml(clicks, by_paragraph=[box.shape_id]))
    prs.save(str(path))
    return path


def _block(slide: Any, kind: Any, left: int, top: int, width: int) -> Any:
    """A white filled shape, an eighth of the slide wide, at (``left``, ``top``)."""
    shape = slide.shapes.add_shape(kind, Emu(left), Emu(top), Emu(width // 8), Emu(width // 8))
    shape.fill.solid()
    shape.fill.fore_color.rgb = RGBColor(255, 255, 255)
    return shape
