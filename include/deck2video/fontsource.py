"""The operator's extra fonts (``DECK2VIDEO_FONTS_DIR``): a local folder, or an S3 prefix
fetched once into a local cache.

An S3 prefix is listed for each render (one request), and the listing (each object's name, size
and ETag) names a folder under the temporary directory: the first process that sees a listing
fetches its objects there, every later render on the machine reuses the folder, and adding or
replacing a font makes a new listing, so a new folder and a new render cache key. Each object is
size-limited (``DECK2VIDEO_MAX_ENTRY_BYTES``, as a deck's parts are) and checked with fontTools as
a deck's embedded font is; one that is not a usable font is skipped with a warning.

A setting that names no folder, a prefix with no objects, or a bucket the worker may not read is
the operator's mistake, not the user's: it raises :class:`~deck2video.errors.SettingError`, as
the other deployment settings do, and a retry after the fix succeeds.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from deck2video import storage
from deck2video.config import ENV_PREFIX, Limits
from deck2video.errors import InputError, SettingError
from deck2video.fontfiles import NotAFont, check_font_file
from deck2video.roots import Roots

_log = logging.getLogger(__name__)
FONTS_DIR = f"{ENV_PREFIX}FONTS_DIR"
# More files than a corporate font family has: a prefix holding more is skipped past this many.
MAX_FILES = 500
# Kept out of procs.scratch's "deck2video-*" folders, which are swept once their owner is gone.
_CACHE_NAME = "operator-fonts.deck2video"
_SKIPPED = "skipped.txt"  # the warnings of a fetch, for every render that reuses its folder


@dataclass(frozen=True)
class OperatorFonts:
    folder: Path
    digest: str = ""  # the S3 listing's; empty for a local folder (its files are fingerprinted)
    warnings: tuple[str, ...] = ()


def operator_fonts(setting: str, root_url: str, limits: Limits) -> OperatorFonts | None:
    """The fonts ``DECK2VIDEO_FONTS_DIR`` names, if any (``root_url``: the job store, whose own
    areas it may not name)."""
    if not setting:
        return None
    if setting.startswith("s3://"):
        return _from_s3(setting.rstrip("/"), root_url, limits)
    folder = Path(setting).expanduser()
    if not folder.is_dir():
        raise SettingError(f"{FONTS_DIR}={setting!r}: not a folder")
    return OperatorFonts(folder.resolve())


def _from_s3(url: str, root_url: str, limits: Limits) -> OperatorFonts:
    try:
        prefix = Roots.anywhere().guarding(root_url).check_folder(FONTS_DIR, url, writing=False)
        listing = sorted(storage.list_objects(prefix), key=lambda found: found.url)
    except InputError as error:  # a bad URL, no such bucket, access denied: the deployment's
        raise SettingError(str(error)) from None
    if not listing:
        raise SettingError(f"{FONTS_DIR}={url!r}: no objects under this prefix")
    described = "".join(f"{found.url}\0{found.size}\0{found.etag}\n" for found in listing)
    digest = hashlib.sha256(described.encode()).hexdigest()[:16]
    folder = _cache_root() / digest
    if not (folder / _SKIPPED).is_file():
        _fetch_into(folder, listing, limits)
    warnings = (folder / _SKIPPED).read_text(encoding="utf-8").splitlines()
    return OperatorFonts(folder, digest, tuple(warnings))


def _cache_root() -> Path:
    """This user's cache folder in the temporary directory, made private to it."""
    root = Path(tempfile.gettempdir()) / f"{_CACHE_NAME}-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    if root.is_symlink() or root.stat().st_uid != os.getuid():
        raise SettingError(f"{FONTS_DIR}: the font cache {root} belongs to another user")
    return root


def _fetch_into(folder: Path, listing: list[storage.ObjectInfo], limits: Limits) -> None:
    """Fetch and check every object into a staging folder, then move it to ``folder`` whole."""
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        skipped = []
        for number, found in enumerate(listing[:MAX_FILES], start=1):
            where = f"{FONTS_DIR} {found.url}"
            try:
                _fetch_font(found, staging / f"font-{number:04d}", limits, where)
            except (NotAFont, InputError) as error:
                skipped.append(f"{where}: skipped, {str(error).removeprefix(f'{found.url}: ')}")
        if len(listing) > MAX_FILES:
            past = len(listing) - MAX_FILES
            skipped.append(f"{FONTS_DIR}: {past} files past the first {MAX_FILES} skipped")
        for line in skipped:
            _log.warning("%s", line)
        (staging / _SKIPPED).write_text("".join(f"{line}\n" for line in skipped), encoding="utf-8")
        # Another process that fetched the same listing first wins: its folder is used.
        with contextlib.suppress(OSError):
            staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fetch_font(found: storage.ObjectInfo, stem: Path, limits: Limits, where: str) -> None:
    if found.size > limits.max_entry_bytes:
        raise NotAFont(f"larger than {limits.variable('max_entry_bytes')}")
    storage.fetch(found.url, stem, max_bytes=limits.max_entry_bytes)
    sfnt = stem.read_bytes()
    try:
        check_font_file(sfnt, where)
    except NotAFont:
        stem.unlink()
        raise
    stem.rename(stem.with_suffix({b"OTTO": ".otf", b"ttcf": ".ttc"}.get(sfnt[:4], ".ttf")))
