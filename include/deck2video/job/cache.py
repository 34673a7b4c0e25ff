"""One content-addressed get-or-put for everything a job can reuse: slides, audio, embeddings.

An entry is a few named files under a content key. One rule says when it is whole: its last
file (the marker) is written after all the others, so an entry whose marker is missing is
absent, whatever else a killed writer left there. Each file is itself published atomically by
the storage layer, so a reader never sees half of one. Two writers racing on one key write the
same bytes; either one's files will do.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from deck2video import storage
from deck2video.errors import InputError
from deck2video.fingerprint import file_sha256
from deck2video.segments import MAX_PIECE_BYTES

# Bump when a change makes cached renders or audio stale.
CACHE_VERSION = "1"

Content = Path | bytes  # a local file, or the bytes themselves

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """A cached result's files: name -> URL, in write order; the last one is the marker."""

    files: Mapping[str, str]

    @property
    def marker(self) -> str:
        return list(self.files.values())[-1]


@dataclass(frozen=True)
class Cached:
    marker: bytes  # the marker file's content (audio: its info JSON; embedding: the embedding)
    hit: bool  # True: it was there already; False: made now


def get_or_put(
    entry: Entry,
    make: Callable[[], Mapping[str, Content]],
    *,
    copy_to: Mapping[str, str] | None = None,
    store: Callable[[Content, str], None] | None = None,
) -> Cached:
    """The entry's files, copied to ``copy_to`` (name -> URL); made with ``make()`` and stored
    first when the cache does not have them whole. ``store`` (default :func:`put`) stores
    each made file, in order, the marker before the copies: a caller may queue them."""
    store = store or put
    copy_to = copy_to or {}
    if storage.exists(entry.marker):
        for name, target in copy_to.items():
            storage.copy(entry.files[name], target)
        return Cached(storage.read_bytes(entry.marker), hit=True)
    made = make()
    if set(made) != set(entry.files):
        raise ValueError(
            f"cache entry {entry.marker}: made {sorted(made)}, not {sorted(entry.files)}"
        )
    for name, url in entry.files.items():  # the marker last
        store(made[name], url)
    for name, target in copy_to.items():
        store(made[name], target)
    marker = made[list(entry.files)[-1]]
    return Cached(marker if isinstance(marker, bytes) else marker.read_bytes(), hit=False)


def put(content: Content, url: str) -> None:
    if isinstance(content, bytes):
        storage.write_bytes(url, content)
    else:
        storage.upload(content, url)


@dataclass(frozen=True)
class SegmentStore:
    """Assembly's encoded pieces (:mod:`deck2video.segments`) in a storage root's cache, local
    or S3: each piece with a marker written after it that names its size and SHA-256, so a
    piece that is missing, cut short or changed since is encoded again, never joined."""

    entry: Callable[[str, str], Entry]  # (kind, key) -> the piece's file, then its marker

    def fetch(self, kind: str, key: str, dest: Path) -> bool:
        entry = self.entry(kind, key)
        piece, marker = entry.files.values()
        try:
            if not storage.exists(marker):
                return False
            wanted = json.loads(storage.read_bytes(marker, max_bytes=1024))
            got = storage.fetch(piece, dest, max_bytes=MAX_PIECE_BYTES)
        except (InputError, ValueError) as error:
            log.warning("cached %s piece %s unusable, encoding it again: %s", kind, key, error)
            return False
        if isinstance(wanted, dict) and (got, dest.stat().st_size) == (
            wanted.get("sha256"),
            wanted.get("bytes"),
        ):
            return True
        log.warning("cached %s piece %s changed since it was kept, encoding it again", kind, key)
        dest.unlink()
        return False

    def keep(self, kind: str, key: str, path: Path) -> None:
        entry = self.entry(kind, key)
        piece, marker = entry.files.values()
        put(path, piece)
        summary = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
        put(json.dumps(summary).encode(), marker)
