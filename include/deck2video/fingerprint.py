"""Content hashes that decide what can be reused between jobs."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import cast

# Parts that never change how slides look: editing speaker notes must not force a re-render.
_NON_VISUAL_PREFIXES = ("ppt/notesSlides/", "ppt/notesMasters/", "docProps/", "customXml/")


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def model_fingerprint(*paths: Path) -> str:
    """Short hash over model files (weights and config): names a model version in cache keys."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(bytes.fromhex(file_sha256(path)))
    return digest.hexdigest()[:16]


def visual_fingerprint(deck: Path) -> str:
    """Hash of every part of a .pptx that can affect the rendered slides.

    Notes-slide relationships are dropped from slide .rels files too, since they point at the
    (non-visual) notes parts by name.
    """
    digest = hashlib.sha256()
    with zipfile.ZipFile(deck) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            name = info.filename
            if name.startswith(_NON_VISUAL_PREFIXES):
                continue
            digest.update(name.encode() + b"\0" + _part_digest(archive, info))
    return digest.hexdigest()


_SMALL_PART = 1024 * 1024


def _part_digest(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A part's hash, streamed: a part may unpack to hundreds of megabytes."""
    if info.filename.startswith("ppt/slides/_rels/") and info.file_size <= _SMALL_PART:
        data = archive.read(info)
        data = b"\n".join(
            line for line in data.split(b"<Relationship ") if b"notesSlide" not in line
        )
        return hashlib.sha256(data).digest()
    with archive.open(info) as part:
        # ZipFile.open is typed IO[bytes]; it returns a ZipExtFile, a BufferedIOBase (readinto).
        return hashlib.file_digest(cast(io.BufferedIOBase, part), "sha256").digest()
