"""Open and validate a .pptx and list its slides: position, hidden flag, title and speaker notes.

The file is checked from the outside (size, container type, zip central directory, each part's
size and compression ratio) before python-pptx sees it, so that hostile or unsuitable input fails
fast with a clear message instead of exhausting memory or surfacing a parser traceback. Then,
before anything renders it: every picture's size from its header, the text on each slide, and
the links to anything outside the deck (which LibreOffice would fetch).

LibreOffice opens decks with small XML faults that python-pptx refuses; such a part is read
leniently (the fault dropped) and the deck says so in its warnings, rather than refusing a deck
that renders fine. No message quotes the deck's content.

Over 400 lines: the checks and the reading share the opened package and its limits; each check
is a small function of its own.
"""

from __future__ import annotations

import io
import re
import shutil
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from lxml import etree
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.opc.constants import RELATIONSHIP_TYPE

from deck2video.captions import visible_text
from deck2video.config import MIB, Limits
from deck2video.errors import InputError
from deck2video.procs import scratch

if TYPE_CHECKING:
    from pptx.presentation import Presentation as PptxPresentation

# Office encrypts a deck by wrapping it in an OLE compound file; old binary .ppt files use the same
# container, so the magic alone cannot tell the two apart.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAIN_PART = "ppt/presentation.xml"
# A deck without <p:sldSz> uses PowerPoint's historic default, 10 x 7.5 inches.
_DEFAULT_SIZE_EMU = (9_144_000, 6_858_000)
# Ratios are judged only where the unpacked size is big enough to matter: small parts (XML,
# an EMF picture of one flat colour) compress wildly, and the size limits already bound them.
_RATIO_CHECKED_FROM = 32 * MIB  # one part
_DECK_RATIO_CHECKED_FROM = 128 * MIB  # the whole deck
# A title as the manifest, the task labels and the chapters show it.
TITLE_SHOWN_CHARS = 200
# Raster formats whose header tells the decoded size (vector formats are drawn at slide size).
_RASTER_FORMATS = frozenset({"PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "JPEG2000", "ICO"})
_RELATIONSHIPS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_URL_SCHEME = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:|//|\\\\)")
# XML that python-pptx may meet in lenient mode: no entities, no network, no huge trees.
_LENIENT = etree.XMLParser(
    recover=True, resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
)
_STRICT = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class ExternalLink:
    """A relationship that points outside the deck: LibreOffice would fetch its target."""

    rels_part: str  # e.g. ppt/slides/_rels/slide3.xml.rels
    rel_id: str
    kind: str  # the relationship type's last word: image, oleObject, video, ...
    where: str  # "slide 3", "the notes of slide 3", "ppt/slideLayouts/slideLayout2.xml"


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
    external: tuple[ExternalLink, ...] = ()  # links out of the deck (hyperlinks excepted)
    warnings: tuple[str, ...] = field(default_factory=tuple)  # e.g. parts read leniently

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
    deck = _read_deck(path, limits)
    if not deck.slides:
        raise InputError(f"deck {path.name}: the presentation has no slides")
    if len(deck.slides) > limits.max_slides:
        raise InputError(
            f"deck {path.name}: {len(deck.slides)} slides is more than the limit of "
            f"{limits.max_slides}"
        )
    return deck


def sniff_deck(head: bytes) -> str | None:
    """What is wrong with a file whose first bytes are ``head``, to be a deck (None: nothing)."""
    if head.startswith(_OLE_MAGIC):
        return (
            "password-protected or encrypted, or an old binary .ppt "
            "(save it as an unprotected .pptx)"
        )
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "not a zip file, so not a .pptx presentation"
    return None


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
        raise InputError(f"deck {name}: {sniff_deck(magic)}")
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
    if uncompressed >= _DECK_RATIO_CHECKED_FROM and ratio > limits.max_compression_ratio:
        raise InputError(
            f"deck {name}: compression ratio {ratio:.0f}:1 is above the limit of "
            f"{limits.max_compression_ratio:g}:1 (possible zip bomb)"
        )
    for entry in entries:
        _check_entry(name, entry, limits)
    if any(e.flag_bits & 0x1 for e in entries):
        raise InputError(f"deck {name}: password-protected or encrypted zip entries")
    if _MAIN_PART not in {e.filename for e in entries}:
        raise InputError(f"deck {name}: not a PowerPoint presentation (no {_MAIN_PART})")


def _check_entry(name: str, entry: zipfile.ZipInfo, limits: Limits) -> None:
    """One part: a bomb can hide in a single entry behind a deck's worth of honest data."""
    if entry.file_size > limits.max_entry_bytes:
        raise InputError(
            f"deck {name}: part {_shown_name(entry)} unpacks to {entry.file_size} bytes, more "
            f"than the limit of {limits.max_entry_bytes} ({Limits.variable('max_entry_bytes')})"
        )
    ratio = entry.file_size / max(entry.compress_size, 1)
    if entry.file_size >= _RATIO_CHECKED_FROM and ratio > limits.max_entry_ratio:
        raise InputError(
            f"deck {name}: part {_shown_name(entry)} has a compression ratio of {ratio:.0f}:1, "
            f"above the limit of {limits.max_entry_ratio:g}:1 (possible zip bomb; "
            f"{Limits.variable('max_entry_ratio')})"
        )


def _shown_name(entry: zipfile.ZipInfo) -> str:
    """A part's name as a message may show it: printable, and short."""
    return repr(visible_text(entry.filename)[:80])


def _read_deck(path: Path, limits: Limits) -> Deck:
    prs, repaired = _open_presentation(path)
    try:
        slides = tuple(
            _read_slide(number, slide, limits, path.name)
            for number, slide in enumerate(prs.slides, start=1)
        )
        width = int(prs.slide_width or _DEFAULT_SIZE_EMU[0])
        height = int(prs.slide_height or _DEFAULT_SIZE_EMU[1])
        where = _part_owners(prs)
        _check_pictures(path.name, prs, limits)
        external = tuple(_external_links(path, where))
    except InputError:
        raise
    except Exception as exc:  # python-pptx/lxml raise many types for malformed parts
        raise InputError(
            f"deck {path.name}: cannot read the presentation ({type(exc).__name__})"
        ) from None
    notes = [
        f"{where.get('/' + part) or repr(part[:80])}: malformed XML, read leniently "
        "(the fault was dropped)"
        for part in repaired
    ]
    return Deck(
        slides=slides,
        width_emu=width,
        height_emu=height,
        name=path.name,
        external=external,
        warnings=tuple(notes),
    )


def _open_presentation(path: Path) -> tuple[PptxPresentation, list[str]]:
    """python-pptx's view of the deck, repairing slide and notes parts that it cannot parse
    (LibreOffice renders them all the same). Returns it and the repaired parts' names."""
    try:
        return Presentation(str(path)), []
    except Exception as strict_error:
        with zipfile.ZipFile(path) as archive:
            broken = [info.filename for info in archive.infolist() if _unparsable(archive, info)]
            edits = dict.fromkeys(broken, _repaired) | _as_presentation(archive)
        if not edits or not all(_repairable(part) for part in broken):
            raise InputError(
                f"deck {path.name}: cannot read the presentation ({type(strict_error).__name__})"
            ) from None
        with scratch("deck") as work:
            copy = _rewritten(path, work / path.name, edits)
            try:
                return Presentation(str(copy)), broken
            except Exception as error:
                raise InputError(
                    f"deck {path.name}: cannot read the presentation ({type(error).__name__})"
                ) from None


# A slide show (.ppsx) or a template (.potx) renamed .pptx: the parts of a presentation under
# another main content type, which python-pptx refuses and LibreOffice opens.
_OTHER_MAIN_TYPES = re.compile(rb"presentationml\.(?:slideshow|template)\.main\+xml")
_CONTENT_TYPES = "[Content_Types].xml"


def _as_presentation(archive: zipfile.ZipFile) -> dict[str, Callable[[bytes], bytes]]:
    """The edit that names a slide show's or a template's main part a presentation's, if any."""
    try:
        declared = archive.read(_CONTENT_TYPES)
    except KeyError:
        return {}
    if not _OTHER_MAIN_TYPES.search(declared):
        return {}
    return {
        _CONTENT_TYPES: lambda data: _OTHER_MAIN_TYPES.sub(
            b"presentationml.presentation.main+xml", data
        )
    }


def _unparsable(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    if not info.filename.endswith((".xml", ".rels")):
        return False
    try:
        etree.fromstring(archive.read(info), _STRICT)
    except etree.XMLSyntaxError:
        return True
    return False


def _repairable(part: str) -> bool:
    """Only a slide's own drawing and notes: a broken presentation part is a broken deck."""
    return re.fullmatch(r"ppt/(slides|notesSlides)/[^/]+\.xml", part) is not None


def _repaired(data: bytes) -> bytes:
    """The part with what XML cannot hold dropped: names with a malformed or undeclared
    prefix (lxml's recovery keeps them as plain names containing a colon)."""
    root = etree.fromstring(data, _LENIENT)
    if root is None:
        raise InputError("a slide part holds no XML at all")
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            continue
        if ":" in element.tag and not element.tag.startswith("{"):
            element.getparent().remove(element)
            continue
        for key in [k for k in element.attrib if ":" in k and not k.startswith("{")]:
            del element.attrib[key]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _rewritten(source: Path, dest: Path, edits: dict) -> Path:
    """A copy of the zip ``source`` with each part named in ``edits`` passed through its edit
    (``bytes -> bytes``)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            edit = edits.get(info.filename)
            if edit is None:
                with src.open(info) as part, out.open(_copy_info(info), "w") as target:
                    shutil.copyfileobj(part, target, 1024 * 1024)
            else:
                out.writestr(_copy_info(info), edit(src.read(info)))
    return dest


def _copy_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    copy.compress_type = zipfile.ZIP_DEFLATED
    return copy


def _read_slide(number: int, slide: Any, limits: Limits, name: str) -> Slide:
    title = _title(number, slide, limits, name)
    text_chars = sum(len(t.text or "") for t in slide._element.iter(_A_TEXT))
    if text_chars > limits.max_slide_text_chars:
        raise InputError(
            f"deck {name}: slide {number} holds {text_chars} characters of text, more than the "
            f"limit of {limits.max_slide_text_chars} ({Limits.variable('max_slide_text_chars')})"
        )
    notes = _notes(slide)
    if len(notes) > limits.max_notes_chars:
        raise InputError(
            f"deck {name}: slide {number}: its notes have {len(notes)} characters, more than the "
            f"limit of {limits.max_notes_chars} ({Limits.variable('max_notes_chars')})"
        )
    return Slide(
        index=number,
        hidden=slide._element.get("show") in ("0", "false"),  # no public API for <p:sld show>
        title=title,
        notes=notes,
    )


_A_TEXT = "{http://schemas.openxmlformats.org/drawingml/2006/main}t"


def _title(number: int, slide: Any, limits: Limits, name: str) -> str:
    """The title placeholder's text, else the slide's first text (cut to what is shown)."""
    title_shape = slide.shapes.title
    if title_shape is not None and title_shape.has_text_frame:
        text = _one_line(title_shape.text_frame.text)
        if len(text) > limits.max_title_chars:
            raise InputError(
                f"deck {name}: slide {number}: its title has {len(text)} characters, more than "
                f"the limit of {limits.max_title_chars} ({Limits.variable('max_title_chars')})"
            )
        if text:
            return _shown(text)
    for text in _texts(slide.shapes):
        if text:
            return _shown(text)
    return f"Slide {number}"


def _shown(title: str) -> str:
    return title if len(title) <= TITLE_SHOWN_CHARS else title[: TITLE_SHOWN_CHARS - 1] + "…"


# --- what LibreOffice would see beyond the text ------------------------------------------------


def _part_owners(prs: Any) -> dict[str, str]:
    """Part name -> how a message names it ("slide 3", "the notes of slide 3")."""
    owners: dict[str, str] = {}
    for number, slide in enumerate(prs.slides, start=1):
        owners[str(slide.part.partname)] = f"slide {number}"
        if slide.has_notes_slide:
            owners[str(slide.notes_slide.part.partname)] = f"the notes of slide {number}"
    return owners


def _check_pictures(name: str, prs: Any, limits: Limits) -> None:
    """Refuse a picture whose decoded size (from its header) is over the pixel limit: decoding
    one is what takes LibreOffice's time and memory (or makes it drop the picture silently)."""
    users: dict[str, str] = {}
    for number, slide in enumerate(prs.slides, start=1):
        for rel in slide.part.rels.values():
            if not rel.is_external and rel.reltype == RELATIONSHIP_TYPE.IMAGE:
                users.setdefault(str(rel.target_part.partname), f"slide {number}")
    for part in prs.part.package.iter_parts():
        if not part.content_type.startswith("image/"):
            continue
        size = _picture_size(part.blob)
        if size is None:
            continue
        shown, pixels = size
        if pixels > limits.max_picture_pixels:
            where = users.get(str(part.partname), "a layout or master")
            picture = visible_text(str(part.partname))[1:81]  # without the leading "/"
            raise InputError(
                f"deck {name}: {where}: picture {picture} is {shown}, "
                f"more than the limit of {limits.max_picture_pixels / 1e6:g} megapixels "
                f"({Limits.variable('max_picture_pixels')})"
            )


def _picture_size(blob: bytes) -> tuple[str, int] | None:
    """A raster picture's size from its header (nothing is decoded), as shown and in pixels;
    None for other formats."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(blob)) as image:
                if image.format not in _RASTER_FORMATS:
                    return None
                width, height = image.size
                return f"{width}x{height} ({width * height / 1e6:.0f} megapixels)", width * height
        except Image.DecompressionBombError:  # PIL refuses to say more than this
            over = 2 * (Image.MAX_IMAGE_PIXELS or 0)
            return f"over {over / 1e6:.0f} megapixels", over + 1
        except Exception:  # not a picture PIL knows: LibreOffice draws it at slide size
            return None


def _external_links(path: Path, owners: dict[str, str]) -> Iterator[ExternalLink]:
    """Every relationship that points outside the package, from the raw .rels parts (what
    LibreOffice reads), except hyperlinks that only a click would follow."""
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        for rels in sorted(n for n in names if n.endswith(".rels")):
            source = _rels_source(rels)
            # Parsed only for an external hyperlink: most parts have none, and python-pptx
            # has already read every part once.
            references: dict[str, set[str]] | None = None
            for rel in _relationships(archive, rels):
                if not _is_external(rel):
                    continue
                rel_id, kind = rel.get("Id", ""), rel.get("Type", "").rsplit("/", 1)[-1]
                if rel.get("Type") == RELATIONSHIP_TYPE.HYPERLINK:
                    if references is None:
                        references = _references(archive, source) if source in names else {}
                    if references.get(rel_id, set()) <= {"id"}:
                        continue
                where = owners.get(f"/{source}") or repr(visible_text(source)[:80])
                yield ExternalLink(rels, rel_id, visible_text(kind)[:40], where)


def _rels_source(rels: str) -> str:
    """``ppt/slides/_rels/slide1.xml.rels`` -> ``ppt/slides/slide1.xml``."""
    folder = PurePosixPath(rels).parent.parent
    return str(folder / PurePosixPath(rels).name.removesuffix(".rels")).lstrip("./")


def _relationships(archive: zipfile.ZipFile, rels: str) -> list:
    root = etree.fromstring(archive.read(rels), _LENIENT)
    if root is None:
        return []
    return list(root.iter(f"{{{_PACKAGE_RELS_NS}}}Relationship"))


def _is_external(rel: Any) -> bool:
    mode = (rel.get("TargetMode") or "Internal").strip().lower()
    return mode != "internal" or bool(_URL_SCHEME.match((rel.get("Target") or "").strip()))


def _references(archive: zipfile.ZipFile, part: str) -> dict[str, set[str]]:
    """Relationship id -> the attribute names that refer to it in ``part`` (``id`` for a
    hyperlink's click, ``embed``/``link`` for pictures, ...)."""
    try:
        root = etree.fromstring(archive.read(part), _LENIENT)
    except (etree.XMLSyntaxError, ValueError):
        return {}
    found: dict[str, set[str]] = {}
    if root is None:
        return found
    for element in root.iter():
        for key, value in element.attrib.items():
            if key.startswith(f"{{{_RELATIONSHIPS_NS}}}"):
                found.setdefault(value, set()).add(key.rsplit("}", 1)[1])
    return found


def strip_external(path: Path, dest: Path, links: tuple[ExternalLink, ...]) -> Path:
    """A copy of the deck without ``links`` (what LibreOffice would fetch is gone; what used
    them shows nothing)."""
    by_part: dict[str, set[str]] = {}
    for link in links:
        by_part.setdefault(link.rels_part, set()).add(link.rel_id)

    def without(ids: set[str]) -> Callable[[bytes], bytes]:
        def edit(data: bytes) -> bytes:
            root = etree.fromstring(data, _LENIENT)
            for rel in list(root.iter(f"{{{_PACKAGE_RELS_NS}}}Relationship")):
                if rel.get("Id", "") in ids:
                    rel.getparent().remove(rel)
            return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

        return edit

    return _rewritten(path, dest, {part: without(ids) for part, ids in by_part.items()})


def _texts(shapes: Any) -> Iterator[str]:
    """Each shape's text as one line, in the slide's drawing order, looking inside groups."""
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _texts(shape.shapes)
        elif shape.has_text_frame:
            yield _one_line(shape.text_frame.text)


def _notes(slide: Any) -> str:
    if not slide.has_notes_slide:  # reading .notes_slide would create one
        return ""
    placeholder = slide.notes_slide.notes_placeholder
    if placeholder is None:
        return ""
    # python-pptx writes a soft line break (<a:br>) as a vertical tab.
    return placeholder.text_frame.text.replace("\v", "\n")


def _one_line(text: str) -> str:
    return " ".join(visible_text(text).split())
