"""What each slide's text asks of the fonts, and the report of what it got.

A run's typeface is its own ``<a:latin>`` (or ``<a:ea>`` for East-Asian text), else the theme's
(``+mj-lt`` for titles, ``+mn-lt`` for the rest; East-Asian text: the theme's face for its
script). Placeholder styles of layouts and masters are not followed: the theme fonts stand in.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from deck2video.config import Limits
from deck2video.fontfiles import part_targets

_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_P = "http://schemas.openxmlformats.org/presentationml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TITLES = ("title", "ctrTitle")


@dataclass(frozen=True)
class FaceUse:
    asked: str
    got: str
    kind: str  # same, metric, embedded or substitute


@dataclass(frozen=True)
class SlideFonts:
    number: int  # position among the shown slides
    source_index: int  # the deck's own slide number
    faces: tuple[FaceUse, ...]
    missing: str  # characters no available font draws
    pdf_fonts: tuple[str, ...] = ()


@dataclass
class FontReport:
    slides: list[SlideFonts] = field(default_factory=list)
    embedded: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """One line per substituted face and per slide with characters no font draws."""
        lines = []
        for slide in self.slides:
            for use in slide.faces:
                if use.kind == "substitute":
                    lines.append(
                        f"slide {slide.source_index}: typeface {use.asked!r} is drawn with "
                        f"{use.got!r}, a different design (text may reflow)"
                    )
            if slide.missing:
                chars = " ".join(f"U+{ord(c):04X}" for c in slide.missing[:8])
                lines.append(f"slide {slide.source_index}: no font draws {chars}")
        return lines

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        pairs = {(u.asked, u.kind) for s in self.slides for u in s.faces}
        for _, kind in pairs:
            kinds[kind] = kinds.get(kind, 0) + 1
        missing = len({c for s in self.slides for c in s.missing})
        counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "no text"
        return f"fonts: {counts}; {missing} character(s) without a glyph"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FontReport:
        slides = [
            SlideFonts(**{**s, "faces": tuple(FaceUse(**f) for f in s["faces"]),
                          "pdf_fonts": tuple(s.get("pdf_fonts", ()))})
            for s in data.get("slides", [])
        ]  # fmt: skip
        return cls(slides, list(data.get("embedded", [])), list(data.get("warnings", [])))


@dataclass(frozen=True)
class SlideText:
    index: int
    text: str
    faces: frozenset[str]


def deck_text_runs(deck: Path, *, include_hidden: bool, limits: Limits) -> list[SlideText]:
    """Each shown slide's text and the typefaces its runs ask for, in deck order."""
    slides = []
    with zipfile.ZipFile(deck) as archive:
        names = set(archive.namelist())
        root = etree.fromstring(archive.read("ppt/presentation.xml"), _XML)
        targets = part_targets(archive, "ppt/presentation.xml")
        themes: dict[str, dict[str, str]] = {}
        for index, sld in enumerate(root.iter(f"{{{_P}}}sldId"), start=1):
            part = targets.get(sld.get(f"{{{_R}}}id", ""))
            if part not in names or archive.getinfo(part).file_size > limits.max_entry_bytes:
                continue
            slide = etree.fromstring(archive.read(part), _XML)
            if slide is None or (slide.get("show") == "0" and not include_hidden):
                continue
            theme = themes.setdefault(part, _theme_of(archive, part, names))
            slides.append(_slide_text(index, slide, theme))
    return slides


def _slide_text(index: int, slide: Any, theme: dict[str, str]) -> SlideText:
    texts, faces = [], set()
    for shape in slide.iter(f"{{{_P}}}sp", f"{{{_P}}}graphicFrame"):
        ph = shape.find(f".//{{{_P}}}ph")
        major = ph is not None and ph.get("type") in _TITLES
        for run in shape.iter(f"{{{_A}}}r", f"{{{_A}}}fld"):
            text = "".join(run.findtext(f"{{{_A}}}t") or "")
            if not text.strip():
                continue
            texts.append(text)
            faces.update(_run_faces(run, text, theme, major))
    return SlideText(index, "".join(texts), frozenset(f for f in faces if f))


def _run_faces(run: Any, text: str, theme: dict[str, str], major: bool) -> set[str]:
    props = run.find(f"{{{_A}}}rPr")
    level = "mj" if major else "mn"

    def face(kind: str) -> str:
        element = props.find(f"{{{_A}}}{kind}") if props is not None else None
        name = element.get("typeface", "") if element is not None else ""
        if not name or name.startswith("+"):
            key = (
                name[1:] if name.startswith("+") else f"{level}-{'lt' if kind == 'latin' else kind}"
            )
            return theme.get(key, "")
        return name

    faces = set()
    if any(ord(c) < 0x2E80 and not c.isspace() for c in text):
        faces.add(face("latin"))
    script = "Jpan" if _KANA.search(text) else "Hang" if _HANGUL.search(text) else None
    script = script or ("Hans" if _HAN.search(text) else None)
    if script:
        ea = face("ea")
        faces.add(ea or theme.get(f"{level}-{script}", ""))
    return faces


def _theme_of(archive: zipfile.ZipFile, slide: str, names: set[str]) -> dict[str, str]:
    """The theme fonts of the slide's master: ``mj-lt``, ``mn-ea``, ``mn-Jpan`` ..."""
    part = slide
    for kind in ("slideLayout", "slideMaster", "theme"):
        found = [t for t in part_targets(archive, part).values() if f"/{kind}" in t]
        if not found or found[0] not in names:
            return {}
        part = found[0]
    root = etree.fromstring(archive.read(part), _XML)
    fonts: dict[str, str] = {}
    for level, tag in (("mj", "majorFont"), ("mn", "minorFont")):
        element = root.find(f".//{{{_A}}}{tag}")
        if element is None:
            continue
        for kind in ("latin", "ea", "cs"):
            child = element.find(f"{{{_A}}}{kind}")
            if child is not None and child.get("typeface"):
                fonts[f"{level}-{'lt' if kind == 'latin' else kind}"] = child.get("typeface")
        for font in element.findall(f"{{{_A}}}font"):
            fonts[f"{level}-{font.get('script')}"] = font.get("typeface", "")
    return fonts
