"""Open and validate a .pptx and list its slides: position, hidden flag, title and speaker notes.

The file is checked from the outside (size, container type, zip central directory) before
python-pptx sees it, so that hostile or unsuitable input fails fast with a clear message instead of
exhausting memory or surfacing a parser traceback.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from deck2video.config import Limits
from deck2video.errors import InputError

# Office encrypts a deck by wrapping it in an OLE compound file; old binary .ppt files use the same
# container, so the magic alone cannot tell the two apart.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAIN_PART = "ppt/presentation.xml"
# A deck without <p:sldSz> uses PowerPoint's historic default, 10 x 7.5 inches.
_DEFAULT_SIZE_EMU = (9_144_000, 6_858_000)


@dataclass(frozen=True)
class Slide:
    index: int  # 1-based position in the deck
    hidden: bool
    title: str  # title placeholder text, else first text, else "Slide N"
    notes: str  # raw notes text ("" if none)


@dataclass(frozen=True)
class Deck:
    slides: tuple[Slide, ...]
    width_emu: int
    height_emu: int
    name: str = "deck"  # file name, for error messages

    def shown(self, include_hidden: bool = False) -> list[Slide]:
        """The slides that go into the video, in order; refuses an empty selection."""
        chosen = [s for s in self.slides if include_hidden or not s.hidden]
        if not chosen:
            raise InputError(
                f"deck {self.name}: no shown slides ({len(self.slides)} hidden; "
                "include hidden slides to narrate them)"
            )
        return chosen


def open_deck(path: Path, limits: Limits = Limits()) -> Deck:  # noqa: B008 (frozen, immutable)
    """Validate ``path`` and read its slides; every problem is an :class:`InputError`."""
    path = Path(path)
    check_container(path, limits)
    deck = _read_deck(path)
    if not deck.slides:
        raise InputError(f"deck {path.name}: the presentation has no slides")
    if len(deck.slides) > limits.max_slides:
        raise InputError(
            f"deck {path.name}: {len(deck.slides)} slides is more than the limit of "
            f"{limits.max_slides}"
        )
    return deck


def check_container(path: Path, limits: Limits) -> None:
    """Refuse anything that is not a reasonably sized, unencrypted .pptx zip."""
    name = path.name
    if not path.is_file():
        raise InputError(f"deck {name}: no such file")
    size = path.stat().st_size
    if size > limits.max_deck_bytes:
        raise InputError(
            f"deck {name}: {size} bytes is larger than the limit of {limits.max_deck_bytes} bytes"
        )
    with path.open("rb") as handle:
        magic = handle.read(len(_OLE_MAGIC))
    if magic == _OLE_MAGIC:
        raise InputError(
            f"deck {name}: password-protected or encrypted, or an old binary .ppt "
            "(save it as an unprotected .pptx)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(f"deck {name}: not a zip file, so not a .pptx presentation") from None
    _check_entries(name, entries, limits)


def _check_entries(name: str, entries: list[zipfile.ZipInfo], limits: Limits) -> None:
    # Sizes come from the central directory; zipfile never inflates an entry past its declared
    # size, so checking the declared totals is enough to bound what python-pptx can unpack.
    if len(entries) > limits.max_zip_entries:
        raise InputError(
            f"deck {name}: {len(entries)} zip entries is more than the limit of "
            f"{limits.max_zip_entries}"
        )
    uncompressed = sum(e.file_size for e in entries)
    compressed = sum(e.compress_size for e in entries)
    if uncompressed > limits.max_uncompressed_bytes:
        raise InputError(
            f"deck {name}: unpacks to {uncompressed} bytes, more than the limit of "
            f"{limits.max_uncompressed_bytes} bytes"
        )
    ratio = uncompressed / max(compressed, 1)
    if ratio > limits.max_compression_ratio:
        raise InputError(
            f"deck {name}: compression ratio {ratio:.0f}:1 is above the limit of "
            f"{limits.max_compression_ratio:g}:1 (possible zip bomb)"
        )
    if any(e.flag_bits & 0x1 for e in entries):
        raise InputError(f"deck {name}: password-protected or encrypted zip entries")
    if _MAIN_PART not in {e.filename for e in entries}:
        raise InputError(f"deck {name}: not a PowerPoint presentation (no {_MAIN_PART})")


def _read_deck(path: Path) -> Deck:
    try:
        prs = Presentation(str(path))
        slides = tuple(
            _read_slide(number, slide) for number, slide in enumerate(prs.slides, start=1)
        )
        width = int(prs.slide_width or _DEFAULT_SIZE_EMU[0])
        height = int(prs.slide_height or _DEFAULT_SIZE_EMU[1])
    except InputError:
        raise
    except Exception as exc:  # python-pptx/lxml raise many types for malformed parts
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(f"deck {path.name}: cannot read the presentation ({detail})") from None
    return Deck(slides=slides, width_emu=width, height_emu=height, name=path.name)


def _read_slide(number: int, slide) -> Slide:
    return Slide(
        index=number,
        hidden=slide._element.get("show") in ("0", "false"),  # no public API for <p:sld show>
        title=_title(number, slide),
        notes=_notes(slide),
    )


def _title(number: int, slide) -> str:
    title_shape = slide.shapes.title
    if title_shape is not None and title_shape.has_text_frame:
        text = _one_line(title_shape.text_frame.text)
        if text:
            return text
    for text in _texts(slide.shapes):
        if text:
            return text
    return f"Slide {number}"


def _texts(shapes):
    """Each shape's text as one line, in the slide's drawing order, looking inside groups."""
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _texts(shape.shapes)
        elif shape.has_text_frame:
            yield _one_line(shape.text_frame.text)


def _notes(slide) -> str:
    if not slide.has_notes_slide:  # reading .notes_slide would create one
        return ""
    placeholder = slide.notes_slide.notes_placeholder
    if placeholder is None:
        return ""
    # python-pptx writes a soft line break (<a:br>) as a vertical tab.
    return placeholder.text_frame.text.replace("\v", "\n")


def _one_line(text: str) -> str:
    return " ".join(text.split())
