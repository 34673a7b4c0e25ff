"""New video's files: a deck or a voice recording sent by the browser, stored in the uploads area.

Every upload is hostile. Its size is checked against the limit prepare applies before a byte is
read (the declared length) and while it streams (the bytes that came), so an upload over the
limit is never read whole; its first bytes must be what prepare accepts (a .pptx zip with sane
entries, a recording in a known container); and it is stored under a name made here: a random
folder and a name of letters, digits and hyphens taken from the browser's, with the suffix of
the type found. The uploads area lies under the deployment's read and write roots (the video is
published next to the deck) and outside the inbox, whose DAG would otherwise start a second
run.

A person's last voice is remembered for them in the uploads area, under a digest of their user
id (the id itself never becomes a path).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from deck2video import storage
from deck2video.airflow_names import DAG_ID
from deck2video.config import Deployment, Limits
from deck2video.deck import check_container, sniff_deck
from deck2video.errors import Deck2VideoError, InputError
from deck2video.roots import Roots
from deck2video.voice import AUDIO_SUFFIXES, sniff_audio

KINDS = ("deck", "voice")
_HEAD = 64  # bytes the type is judged by
_SIGNATURES = (  # a recording's container, by its first bytes -> the suffix it is stored with
    (lambda h: h[:4] in (b"RIFF", b"RF64", b"BW64"), ".wav"),
    (lambda h: h.startswith(b"fLaC"), ".flac"),
    (lambda h: h.startswith(b"OggS"), ".ogg"),
    (lambda h: h[4:8] == b"ftyp", ".m4a"),
)
MAX_STEM = 60
RECENT_VOICES = 20  # the voices already used that the form offers
_VOICE_LOOKBACK = 500  # runs looked at for them


class UploadRefused(InputError):
    """An upload that is not stored; ``status`` is the HTTP answer (413 too big, 415 not the
    type, 400 malformed)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Uploaded:
    kind: str
    url: str  # where it was stored: a conf's deck_url or voice_url
    name: str  # its file name, as the page shows it


def uploads_area(deployment: Deployment, roots: Roots) -> str:
    """The uploads area's URL, or an InputError saying why this deployment cannot take uploads."""
    area = roots.check_folder("uploads area (DECK2VIDEO_UPLOADS_URL)", deployment.uploads,
                              writing=False)  # fmt: skip
    roots.check_folder("uploads area (DECK2VIDEO_UPLOADS_URL)", deployment.uploads, writing=True)
    inbox = roots.check_folder("inbox", deployment.inbox, writing=False)
    if _is_under(area, inbox) or _is_under(inbox, area):
        raise InputError(
            f"uploads area {deployment.uploads}: overlaps the inbox {deployment.inbox}, whose "
            "DAG would start a second run of each upload"
        )
    return area.rstrip("/")


def _is_under(url: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/") + "/"
    return url.rstrip("/") + "/" == prefix or url.startswith(prefix)


def stem_of(given_name: str, kind: str) -> str:
    """A file name's stem as letters, digits and hyphens only (``kind`` when none are left)."""
    stem = PurePosixPath(given_name.replace("\\", "/")).stem
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:MAX_STEM].strip("-")
    return slug or kind


def limit_of(kind: str, limits: Limits) -> int:
    return limits.max_deck_bytes if kind == "deck" else limits.max_voice_bytes


async def receive(
    kind: str,
    given_name: str,
    declared_length: str | None,
    body: AsyncIterator[bytes],
    area: str,
    limits: Limits,
) -> Uploaded:
    """Store one upload in ``area`` once it passed prepare's size and type checks."""
    if kind not in KINDS:
        raise UploadRefused(f"upload: {kind[:20]!r} is not one of {', '.join(KINDS)}", 404)
    limit = limit_of(kind, limits)
    size = _declared(declared_length)
    if size > limit:
        raise UploadRefused(f"{kind}: {size} bytes is larger than the limit of {limit} bytes", 413)
    stem = stem_of(given_name, kind)
    with tempfile.TemporaryDirectory(prefix="deck2video-upload-") as scratch:
        path = Path(scratch) / f"{stem}.upload"
        await _write_bounded(body, path, limit, kind)
        suffix = _checked_suffix(kind, path, given_name, limits)
        name = f"{stem}{suffix}"
        stored = path.rename(path.with_name(name))
        url = storage.join(area, secrets.token_hex(8), name)
        storage.upload(stored, url)
    return Uploaded(kind, url, name)


def _declared(length: str | None) -> int:
    if length is None or not length.isdigit() or len(length) > 19:
        raise UploadRefused("upload: no Content-Length (send the file as the body)", 411)
    return int(length)


async def _write_bounded(body: AsyncIterator[bytes], path: Path, limit: int, kind: str) -> None:
    written = 0
    with path.open("wb") as out:
        async for chunk in body:
            written += len(chunk)
            if written > limit:
                raise UploadRefused(f"{kind}: larger than the limit of {limit} bytes", 413)
            out.write(chunk)
    if written == 0:
        raise UploadRefused(f"{kind}: the file is empty", 415)


def _checked_suffix(kind: str, path: Path, given_name: str, limits: Limits) -> str:
    with path.open("rb") as handle:
        head = handle.read(_HEAD)
    if kind == "deck":
        problem = sniff_deck(head)
        if problem:
            raise UploadRefused(f"deck {path.stem}.pptx: {problem}", 415)
        deck = path.rename(path.with_name(f"{path.stem}.pptx"))
        try:
            check_container(deck, limits)  # the zip's entries, sizes and ratios, as prepare
        finally:
            deck.rename(path)
        return ".pptx"
    problem = sniff_audio(head)
    if problem:
        raise UploadRefused(f"voice recording: {problem}", 415)
    given = PurePosixPath(given_name).suffix.lower()
    if given in AUDIO_SUFFIXES:
        return given
    return next((suffix for matches, suffix in _SIGNATURES if matches(head)), ".mp3")


# --- voices: those already used, and each person's last -----------------------------------


def voices_used(session: Session, limit: int = RECENT_VOICES) -> list[str]:
    """The voice recordings of the newest runs, newest first, each once."""
    from airflow.models.dagrun import DagRun

    voice = DagRun.conf["voice_url"].as_string()
    rows = session.execute(
        select(voice)
        .where(DagRun.dag_id == DAG_ID)
        .order_by(DagRun.run_after.desc(), DagRun.id.desc())
        .limit(_VOICE_LOOKBACK)
    )
    found = dict.fromkeys(url for (url,) in rows if isinstance(url, str) and url)
    return list(found)[:limit]


def _voice_memory(area: str, user_id: str) -> str:
    digest = hashlib.sha256(f"deck2video-voice\0{user_id}".encode()).hexdigest()[:32]
    return storage.join(area, "people", f"{digest}.json")


def remembered_voice(area: str, user_id: str) -> str | None:
    try:
        found = json.loads(storage.read_bytes(_voice_memory(area, user_id), max_bytes=4096))
    except (Deck2VideoError, ValueError):
        return None
    voice = found.get("voice_url") if isinstance(found, dict) else None
    return voice if isinstance(voice, str) else None


def remember_voice(area: str, user_id: str, voice_url: str) -> None:
    storage.write_bytes(_voice_memory(area, user_id), json.dumps({"voice_url": voice_url}).encode())
