"""Where assembly keeps what it encoded, so that a re-run encodes only what changed.

Assembly encodes two kinds of pieces that join without re-encoding: video *units* (a still's
frames, :mod:`deck2video.stills`) and sound *segments* (a slide's AAC frames,
:mod:`deck2video.soundtrack`). Each is named by a key that hashes everything that goes into it
(the pixels or samples, their lengths, the encoder's settings), so a piece found under its key is
the piece that would be made now. Where they are kept is the caller's: the job keeps them in its
storage root's cache (:class:`deck2video.job.cache.SegmentStore`), a bare call keeps nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

from deck2video.fingerprint import file_sha256

# Bump when a change makes cached units or segments stale (settings are in the keys already).
SEGMENTS_VERSION = "1"
# The most one cached piece may weigh when it is read back: a unit is at most a few seconds of
# one still, a segment one slide's sound (the narration limits bound it well under this).
MAX_PIECE_BYTES = 64 * 1024 * 1024


class Pieces(Protocol):
    """A place to keep encoded pieces by kind (``video``, ``audio``) and key."""

    def fetch(self, kind: str, key: str, dest: Path) -> bool:
        """Copy the piece to ``dest`` and say True, only if it is there whole and unchanged."""
        ...

    def keep(self, kind: str, key: str, path: Path) -> None:
        """Keep the file at ``path`` as the piece ``key``."""
        ...


class NoPieces:
    """Keeps nothing: every piece is encoded every time."""

    def fetch(self, kind: str, key: str, dest: Path) -> bool:
        return False

    def keep(self, kind: str, key: str, path: Path) -> None:
        return None


def key(*parts: str | bytes) -> str:
    """A piece's key: the SHA-256 of its parts, each length-prefixed so none runs into the next."""
    digest = hashlib.sha256(SEGMENTS_VERSION.encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


class Digests:
    """Each file's SHA-256, read once however often it is asked for."""

    def __init__(self) -> None:
        self._known: dict[Path, str] = {}

    def __call__(self, path: Path) -> str:
        path = path.resolve()
        if path not in self._known:
            self._known[path] = file_sha256(path)
        return self._known[path]
