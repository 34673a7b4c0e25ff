"""A deck's embedded fonts: found through ``p:embeddedFontLst``, unwrapped, and checked.

PowerPoint stores an embedded face as ``ppt/fonts/fontN.fntdata``: an Embedded OpenType (EOT)
wrapper round the font, its data optionally XOR-obfuscated (flag ``TTEMBED_XORENCRYPTDATA``) or
MicroType-Express compressed (``TTEMBED_TTCOMPRESSED``: skipped with a warning; no PyPI package
decompresses MTX, and Debian's ``eot2ttf`` (libeot), which does, is not wired in while no test
here can make an MTX file). ECMA-376 also allows an obfuscated TrueType part
(``.odttf``): its first 32 bytes XORed with the GUID in its name. A plain TrueType/OpenType part
is taken as it is. Each face is then parsed with fontTools (it must have the tables a renderer
needs); one that is not a real font is skipped with a warning, never a crash. The files are
written for one render only (see :mod:`deck2video.fonts`).
"""

from __future__ import annotations

import functools
import io
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lxml import etree

from deck2video.config import Limits
from deck2video.errors import Deck2VideoError
from deck2video.procs import call_with_timeout

_P = "http://schemas.openxmlformats.org/presentationml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_SFNT_MAGIC = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"ttcf")
_EOT_MAGIC = 0x504C
_EOT_VERSIONS = (0x00010000, 0x00020001, 0x00020002)
_EOT_COMPRESSED = 0x00000004
_EOT_XOR = 0x10000000
_EOT_XOR_KEY = 0x50
_GUID = re.compile(
    r"\{?([0-9A-Fa-f]{8})-?([0-9A-Fa-f]{4})-?([0-9A-Fa-f]{4})-?([0-9A-Fa-f]{4})-?([0-9A-Fa-f]{12})\}?"
)
_STYLES = ("regular", "bold", "italic", "boldItalic")
# Seconds fontTools may spend checking one face (its parser is pure Python, bounded by size).
_CHECK_SECONDS = 10.0


class NotAFont(Deck2VideoError):
    """An embedded part that cannot be used as a font (the message says why)."""


@dataclass(frozen=True)
class EmbeddedFont:
    typeface: str  # the name the deck gives it
    family: str  # the family the font file itself declares
    style: str  # regular, bold, italic or boldItalic
    path: Path


def extract_embedded(
    deck: Path,
    dest: Path,
    limits: Limits = Limits(),  # noqa: B008 (frozen, immutable)
) -> tuple[list[EmbeddedFont], list[str]]:
    """Write each usable embedded face of ``deck`` into ``dest``; returns the faces and a
    warning for each one skipped. The deck passed :func:`deck2video.deck.check_container`."""
    fonts: list[EmbeddedFont] = []
    warnings: list[str] = []
    with zipfile.ZipFile(deck) as archive:
        for typeface, style, part in _embedded_parts(archive):
            where = f"embedded font {typeface!r} ({style}, {part})"
            try:
                data = _read_part(archive, part, limits)
                sfnt = unwrap(data, PurePosixPath(part).name)
                family = check_font_file(sfnt, where)
            except Deck2VideoError as error:
                warnings.append(f"{where}: skipped, {_reason(error, where)}")
                continue
            dest.mkdir(parents=True, exist_ok=True)
            path = dest / f"embedded-{len(fonts) + 1:03d}.{'otf' if sfnt[:4] == b'OTTO' else 'ttf'}"
            path.write_bytes(sfnt)
            fonts.append(EmbeddedFont(typeface, family, style, path))
    return fonts, warnings


def _reason(error: Exception, where: str) -> str:
    return str(error).removeprefix(f"{where}: ")


def _embedded_parts(archive: zipfile.ZipFile) -> list[tuple[str, str, str]]:
    """(typeface, style, part name) for each face ``presentation.xml`` lists."""
    names = set(archive.namelist())
    if "ppt/presentation.xml" not in names:
        return []
    root = etree.fromstring(archive.read("ppt/presentation.xml"), _XML)
    targets = part_targets(archive, "ppt/presentation.xml")
    found = []
    for embedded in root.iter(f"{{{_P}}}embeddedFont"):
        font = embedded.find(f"{{{_P}}}font")
        typeface = (font.get("typeface") if font is not None else "") or ""
        for style in _STYLES:
            slot = embedded.find(f"{{{_P}}}{style}")
            target = targets.get(slot.get(f"{{{_R}}}id", "")) if slot is not None else None
            if typeface and target in names:
                found.append((typeface, style, target))
    return found


def part_targets(archive: zipfile.ZipFile, part: str) -> dict[str, str]:
    """Relationship id -> the part it names (internal targets only) of ``part``."""
    folder = PurePosixPath(part).parent
    rels = f"{folder}/_rels/{PurePosixPath(part).name}.rels"
    if rels not in archive.namelist():
        return {}
    targets = {}
    for rel in etree.fromstring(archive.read(rels), _XML).iter(f"{{{_PKG}}}Relationship"):
        if (rel.get("TargetMode") or "Internal") != "Internal":
            continue
        target = rel.get("Target") or ""
        path = target.lstrip("/") if target.startswith("/") else _normalise(folder / target)
        targets[rel.get("Id") or ""] = path
    return targets


def _normalise(path: PurePosixPath) -> str:
    parts: list[str] = []
    for piece in path.parts:
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in (".", ""):
            parts.append(piece)
    return "/".join(parts)


def _read_part(archive: zipfile.ZipFile, part: str, limits: Limits) -> bytes:
    info = archive.getinfo(part)
    if info.file_size > limits.max_entry_bytes:
        raise NotAFont(f"larger than {limits.variable('max_entry_bytes')}")
    with archive.open(info) as handle:
        return handle.read(limits.max_entry_bytes + 1)[: limits.max_entry_bytes]


def unwrap(data: bytes, name: str) -> bytes:
    """The TrueType/OpenType bytes inside an embedded font part."""
    if data[:4] in _SFNT_MAGIC:
        return data
    if len(data) >= 36 and struct.unpack_from("<H", data, 34)[0] == _EOT_MAGIC:
        return _from_eot(data)
    guid = _GUID.fullmatch(PurePosixPath(name).stem)
    if guid and len(data) > 32:
        key = bytes.fromhex("".join(guid.groups()))[::-1]
        head = bytes(byte ^ key[i % 16] for i, byte in enumerate(data[:32]))
        if head[:4] in _SFNT_MAGIC:
            return head + data[32:]
    raise NotAFont("not a TrueType, OpenType, EOT or obfuscated font")


def _from_eot(data: bytes) -> bytes:
    eot_size, data_size, version, flags = struct.unpack_from("<IIII", data, 0)
    if version not in _EOT_VERSIONS:
        raise NotAFont(f"EOT version {version:#x} is unknown")
    if not 0 < data_size <= eot_size <= len(data):
        raise NotAFont("EOT sizes do not fit the part")
    if flags & _EOT_COMPRESSED:
        raise NotAFont("EOT data is MicroType Express compressed, which cannot be read here")
    font = data[eot_size - data_size : eot_size]  # the font data is the structure's last field
    if flags & _EOT_XOR:
        font = bytes(byte ^ _EOT_XOR_KEY for byte in font)
    if font[:4] not in _SFNT_MAGIC:
        raise NotAFont("EOT holds no TrueType or OpenType data")
    return font


def check_font_file(sfnt: bytes, where: str) -> str:
    """The family of a TrueType/OpenType font file (``where`` names it in a timeout's message);
    :class:`NotAFont` if it is not one a renderer can use."""
    if sfnt[:4] not in _SFNT_MAGIC:
        raise NotAFont("not a TrueType or OpenType font")
    check = functools.partial(check_font, sfnt)
    return call_with_timeout(check, timeout=_CHECK_SECONDS, what=where)


def check_font(sfnt: bytes) -> str:
    """The font's family name, once fontTools has read the tables a renderer needs."""
    from fontTools.ttLib import TTFont, TTLibError  # a heavy import, only when a deck embeds

    try:
        font = TTFont(io.BytesIO(sfnt), lazy=True, fontNumber=0)
        outlines = "glyf" in font or "CFF " in font or "CFF2" in font
        if not outlines or "cmap" not in font or "head" not in font:
            raise NotAFont("the font has no outlines or no character map")
        font["head"].unitsPerEm  # noqa: B018 (parses the table)
        if font.getBestCmap() is None:
            raise NotAFont("the font maps no characters")
        family = font["name"].getBestFamilyName() if "name" in font else None
        font.getGlyphSet()
    except NotAFont:
        raise
    except (TTLibError, Exception):  # a hostile file may break the parser anywhere
        raise NotAFont("the font's tables do not parse") from None
    if not family:
        raise NotAFont("the font names no family")
    return str(family)
