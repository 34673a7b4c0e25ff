"""Where a user-named URL may point: the storage roots a deployment allows for reading (decks,
voice recordings, lexicons) and for writing (published videos and captions).

This is the one check: the trigger-time conf check (:func:`deck2video.params.check_conf`), the
inbox sidecars, the CLI and the job steps all call it. A URL is normalised first, so that no
spelling of a path escapes its root: ``..`` and empty (``//``) segments and percent-encoded
dots, slashes and NUL are refused outright; a local path is compared by its real path (symbolic
links resolved), an input that is itself a symbolic link or not a regular file is refused, and so
is an output that is a link or a folder. Inside the job store, ``jobs/`` and ``cache/`` belong to
the pipeline: no user URL may name them, whatever the roots.

Errors name the field and the allowed roots, and nothing read from any file.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import unquote, urlparse

from deck2video.config import Deployment
from deck2video.errors import InputError

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# Percent-encoded dot, slash, backslash or NUL: after one round of decoding (file:// URLs) they
# can only be a second layer meant to get past a check.
_ENCODED_TRICK = re.compile(r"%(?:2[eEfF]|5[cC]|00)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The job store's own areas: a user URL there could read another job's inputs or overwrite
# its results and the caches every job shares.
RESERVED_AREAS = ("jobs", "cache")


@dataclass(frozen=True)
class Roots:
    """URL prefixes a run may read from and write to; ``None`` means anywhere."""

    read: tuple[str, ...] | None
    write: tuple[str, ...] | None
    reserved: tuple[str, ...] = ()

    @classmethod
    def anywhere(cls) -> Roots:
        """A person's own files (the CLI's default): no roots, only the URL rules."""
        return cls(read=None, write=None)

    @classmethod
    def only(cls, prefixes: str | Iterable[str]) -> Roots:
        """The same prefixes for reading and writing (the CLI's ``--roots``)."""
        listed = parse_list(prefixes)
        return cls(read=listed, write=listed)

    @classmethod
    def for_service(cls, deployment: Deployment) -> Roots:
        """What a shared service (Airflow) allows: the configured roots, else the job root and
        the inbox for reading, the job root and the outbox for writing."""
        read = parse_list(deployment.read_roots or [deployment.root_url, deployment.inbox])
        write = parse_list(deployment.write_roots or [deployment.root_url, deployment.outbox])
        return cls(read=read, write=write).guarding(deployment.root_url)

    @classmethod
    def for_person(cls, deployment: Deployment, given: str | None = None) -> Roots:
        """What the CLI allows: ``--roots`` if given, else the configured roots, else anywhere."""
        if given:
            return cls.only(given).guarding(deployment.root_url)
        return cls(
            read=parse_list(deployment.read_roots) if deployment.read_roots else None,
            write=parse_list(deployment.write_roots) if deployment.write_roots else None,
        ).guarding(deployment.root_url)

    def guarding(self, store_url: str) -> Roots:
        """These roots, with the job store's own areas (``jobs/``, ``cache/``) kept out."""
        store = _as_prefix(normalise(store_url, "storage root"))
        areas = tuple(f"{store}{area}/" for area in RESERVED_AREAS)
        return replace(self, reserved=tuple(dict.fromkeys(self.reserved + areas)))

    def check_read(self, field: str, url: str) -> str:
        """The normalised URL of an input, or an InputError naming ``field``."""
        found = normalise(url, field)
        if self.read is not None:
            _refuse_link_or_special(field, url, found)
            _require_under(field, url, found, self.read, "reading")
            self._refuse_reserved(field, url, found)
        return found

    def check_write(self, field: str, url: str) -> str:
        """The normalised URL of an output, or an InputError naming ``field``."""
        found = normalise(url, field)
        _refuse_link_or_folder(field, url, found)
        if self.write is not None:
            _require_under(field, url, found, self.write, "writing")
        self._refuse_reserved(field, url, found)
        return found

    def check_folder(self, field: str, url: str, *, writing: bool) -> str:
        """The normalised URL of a folder (an inbox, an outbox) files are read from or written
        to, or an InputError naming ``field``."""
        found = normalise(url, field)
        prefixes = self.write if writing else self.read
        if prefixes is not None:
            _require_under(field, url, found, prefixes, "writing" if writing else "reading")
        self._refuse_reserved(field, url, found)
        return found

    def _refuse_reserved(self, field: str, url: str, found: str) -> None:
        if any(_is_under(found, area) for area in self.reserved):
            raise InputError(
                f"{field} {url}: inside the job store's own {', '.join(RESERVED_AREAS)} folders"
            )


def parse_list(prefixes: str | Iterable[str]) -> tuple[str, ...]:
    """Comma-separated (or listed) URL prefixes, each normalised to end with ``/``."""
    items = prefixes.split(",") if isinstance(prefixes, str) else list(prefixes)
    found = tuple(_as_prefix(normalise(item.strip(), "root")) for item in items if item.strip())
    if not found:
        raise InputError(f"roots {prefixes!r}: no URL prefix given")
    return tuple(dict.fromkeys(found))


def normalise(url: str, field: str) -> str:
    """``s3://bucket/key`` or a local real path, refusing every ambiguous spelling."""
    if not isinstance(url, str) or not url:
        raise InputError(f"{field}: no URL given")
    if _CONTROL.search(url):
        raise InputError(f"{field} {url!r}: control characters are not allowed")
    if url != url.strip():  # urlparse strips it, so the check and the I/O would disagree
        raise InputError(f"{field} {url!r}: leading or trailing whitespace is not allowed")
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        return _normalise_s3(field, url, parsed.netloc, url[len("s3://") + len(parsed.netloc) :])
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost") or parsed.query or parsed.fragment:
            raise InputError(f"{field} {url}: a file:// URL names a local path only")
        return _normalise_local(field, url, unquote(parsed.path))
    if url.startswith("/"):
        return _normalise_local(field, url, url)
    raise InputError(
        f"{field} {url}: not an s3://bucket/key URL, a file:// URL or an absolute path"
    )


def _normalise_s3(field: str, url: str, bucket: str, path: str) -> str:
    if not _BUCKET.match(bucket):
        raise InputError(f"{field} {url}: {bucket!r} is not an S3 bucket name")
    if "?" in path or "#" in path or "\\" in path:
        raise InputError(f"{field} {url}: '?', '#' and '\\' are not allowed in S3 keys")
    key = path[1:] if path.startswith("/") else path
    _refuse_tricky_segments(field, url, key)
    return f"s3://{bucket}/{key}"


def _normalise_local(field: str, url: str, path: str) -> str:
    _refuse_tricky_segments(field, url, path.lstrip("/"), allow_empty=True)
    return os.path.realpath(path)


def _refuse_tricky_segments(field: str, url: str, key: str, *, allow_empty: bool = False) -> None:
    if _ENCODED_TRICK.search(key):
        raise InputError(f"{field} {url}: percent-encoded '.', '/', '\\' or NUL is not allowed")
    segments = key.split("/")
    if any(s in (".", "..") for s in segments):
        raise InputError(f"{field} {url}: '.' and '..' segments are not allowed")
    if not allow_empty and "" in segments[:-1]:
        raise InputError(f"{field} {url}: empty segments ('//') are not allowed")


def _as_prefix(normalised: str) -> str:
    return normalised if normalised.endswith("/") else f"{normalised}/"


def _is_under(found: str, prefix: str) -> bool:
    return found == prefix.rstrip("/") or found.startswith(prefix)


def _require_under(
    field: str, url: str, found: str, prefixes: tuple[str, ...], purpose: str
) -> None:
    if not any(_is_under(found, prefix) for prefix in prefixes):
        raise InputError(
            f"{field} {url}: not under a root allowed for {purpose} ({', '.join(prefixes)})"
        )


def _refuse_link_or_special(field: str, url: str, found: str) -> None:
    """An input must be a plain file: a link could be swapped to point anywhere, and a device
    or /proc file has no honest size."""
    if found.startswith("s3://"):
        return
    _refuse_link(field, url)
    try:
        mode = os.stat(found).st_mode
    except FileNotFoundError:
        return  # reported as missing when it is read
    if not stat.S_ISREG(mode):
        raise InputError(f"{field} {url}: not a regular file")


def _refuse_link_or_folder(field: str, url: str, found: str) -> None:
    if found.startswith("s3://"):
        if found.endswith("/"):
            raise InputError(f"{field} {url}: names a folder, not a file")
        return
    _refuse_link(field, url)
    if os.path.isdir(found):
        raise InputError(f"{field} {url}: names a folder, not a file")


def _refuse_link(field: str, url: str) -> None:
    """Refuse a local path that is a symbolic link as the user spelled it (the normalised
    path has every link resolved already): a link could be swapped to point anywhere."""
    path = unquote(urlparse(url).path) if url.startswith("file:") else url
    if os.path.islink(path):
        raise InputError(f"{field} {url}: a symbolic link (name the file itself)")
