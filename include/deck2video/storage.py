"""Read and write by URL: a local path or ``file://`` URL, or ``s3://bucket/key``.

S3 works against any S3-compatible endpoint (MinIO, AWS). The endpoint comes from
``DECK2VIDEO_S3_ENDPOINT_URL`` (else boto3's own ``AWS_ENDPOINT_URL``), credentials from the usual
AWS variables. botocore's "standard" retry mode retries throttling and connection errors with
exponential backoff, so callers do not wrap calls in retry loops of their own.

Writes are whole-or-nothing: locally a temporary file is renamed into place; on S3 an object only
becomes visible once its (multipart) upload completes.

Over 400 lines: every operation has a local and an S3 branch side by side, so the two stay
alike; the module is the whole storage seam.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from deck2video.config import Deployment, storage_environment
from deck2video.errors import InputError, ProcessingError
from deck2video.procs import scratch


@dataclass(frozen=True)
class Location:
    """A parsed URL: ``bucket`` is None for local paths."""

    bucket: str | None
    key: str  # S3 key, or an absolute local path

    @property
    def is_s3(self) -> bool:
        return self.bucket is not None


@dataclass(frozen=True)
class ObjectInfo:
    url: str
    size: int
    modified: datetime
    etag: str = ""  # S3's entity tag (changes with the content); empty for local files


def parse(url: str) -> Location:
    """Parse and sanity-check a storage URL; path tricks (``..``) are refused."""
    if not url or not isinstance(url, str):
        raise InputError(f"storage URL {url!r}: empty")
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        key = parsed.path.lstrip("/")
        if not parsed.netloc:
            raise InputError(f"storage URL {url!r}: no bucket")
        _refuse_traversal(url, key)
        return Location(parsed.netloc, key)
    if parsed.scheme == "file":
        path = unquote(parsed.path)
    elif parsed.scheme in ("", "local") or len(parsed.scheme) == 1:  # "C:" never, but be lenient
        path = url
    else:
        raise InputError(f"storage URL {url!r}: scheme {parsed.scheme!r} is not file:// or s3://")
    _refuse_traversal(url, path)
    return Location(None, str(Path(path).absolute()))


def join(base: str, *parts: str) -> str:
    """Join key parts onto a base URL (parts are validated, never absolute)."""
    for part in parts:
        _refuse_traversal(part, part)
        if part.startswith("/"):
            raise InputError(f"storage key part {part!r}: must be relative")
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts if p)])


def _refuse_traversal(url: str, key: str) -> None:
    if ".." in PurePosixPath(key).parts or "\x00" in key:
        raise InputError(f"storage URL {url!r}: '..' and NUL are not allowed in keys")


@functools.cache
def _s3_client(endpoint: str | None, credentials: tuple[tuple[str, str], ...]) -> Any:
    """One client per endpoint and set of credentials (``credentials`` is the cache key: the
    client itself reads them from the environment)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 6, "mode": "standard"},
        connect_timeout=10,
        read_timeout=120,
        s3={"addressing_style": "path"},
    )
    # A session of its own: boto3's default one keeps the first credentials it resolved, so a
    # process that changes them (the tests, talking to two S3 servers) would sign with old ones.
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=endpoint or None, config=config)


def s3_client() -> Any:
    storage = tuple(sorted(storage_environment().items()))
    return _s3_client(Deployment.from_env().s3_endpoint_url, storage)


# The codes of a missing object, as S3 servers and botocore spell them (a HEAD gets "404").
_NOT_FOUND = ("404", "NoSuchKey", "NotFound")


def _s3_error(url: str, error: Exception) -> Exception:
    code = _error_code(error)
    if code in _NOT_FOUND:
        return InputError(f"{url}: no such object")
    if code in ("NoSuchBucket",):
        return InputError(f"{url}: no such bucket")
    if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return InputError(f"{url}: access denied ({code})")
    return ProcessingError(f"{url}: storage error: {error}")


def exists(url: str) -> bool:
    loc = parse(url)
    if not loc.is_s3:
        return Path(loc.key).is_file()
    from botocore.exceptions import ClientError

    try:
        s3_client().head_object(Bucket=loc.bucket, Key=loc.key)
        return True
    except ClientError as error:
        if _error_code(error) in _NOT_FOUND:
            return False
        raise _s3_error(url, error) from error


def size(url: str) -> int:
    loc = parse(url)
    if not loc.is_s3:
        try:
            return Path(loc.key).stat().st_size
        except FileNotFoundError:
            raise InputError(f"{url}: no such file") from None
    try:
        return s3_client().head_object(Bucket=loc.bucket, Key=loc.key)["ContentLength"]
    except Exception as error:
        raise _s3_error(url, error) from error


def download(url: str, dest: Path) -> Path:
    """Copy the object at ``url`` to the local file ``dest``."""
    loc = parse(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not loc.is_s3:
        if not Path(loc.key).is_file():
            raise InputError(f"{url}: no such file")
        shutil.copyfile(loc.key, dest)
        return dest
    try:
        s3_client().download_file(loc.bucket, loc.key, str(dest))
    except Exception as error:
        dest.unlink(missing_ok=True)
        raise _s3_error(url, error) from error
    return dest


def upload(src: Path, url: str) -> str:
    """Store the local file ``src`` at ``url``, whole or not at all."""
    loc = parse(url)
    if not loc.is_s3:
        target = Path(loc.key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; a published video is for others to read
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return url
    try:
        s3_client().upload_file(str(src), loc.bucket, loc.key)
    except Exception as error:
        raise _s3_error(url, error) from error
    return url


def read_bytes(url: str, *, max_bytes: int | None = None) -> bytes:
    """The whole object; with ``max_bytes``, a larger one is refused without reading it all."""
    if max_bytes is not None:
        data = b"".join(stream(url, 0, max_bytes + 1))
        if len(data) > max_bytes:
            raise InputError(f"{url}: larger than the limit of {max_bytes} bytes")
        return data
    loc = parse(url)
    if not loc.is_s3:
        try:
            return Path(loc.key).read_bytes()
        except FileNotFoundError:
            raise InputError(f"{url}: no such file") from None
    try:
        return s3_client().get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read()
    except Exception as error:
        raise _s3_error(url, error) from error


def read_range(url: str, start: int, length: int) -> bytes:
    """``length`` bytes of an object from offset ``start`` (fewer at its end): for streaming
    a video to a player that seeks, without reading the whole object."""
    if start < 0 or length <= 0:
        raise ValueError(f"read_range {url}: start {start}, length {length}")
    return b"".join(stream(url, start, length))


def read_head(url: str, size: int) -> bytes:
    """The first ``size`` bytes of an object (fewer if it is shorter), without fetching more:
    what a file's type is judged by before it is copied anywhere."""
    return b"".join(stream(url, 0, size))


def fetch(url: str, dest: Path, *, max_bytes: int) -> str:
    """Copy the object at ``url`` to the local file ``dest``, hashing as it streams; one that
    turns out larger than ``max_bytes`` (whatever its listed size said) is refused and removed.

    Returns the SHA-256 of the bytes copied.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest, copied = hashlib.sha256(), 0
    try:
        with dest.open("wb") as out:
            for chunk in stream(url, 0, max_bytes + 1):
                copied += len(chunk)
                if copied > max_bytes:
                    raise InputError(f"{url}: larger than the limit of {max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return digest.hexdigest()


_CHUNK = 1024 * 1024


def stream(url: str, start: int, length: int) -> Iterator[bytes]:
    """Up to ``length`` (> 0) bytes of an object from offset ``start``, in pieces of at most
    1 MiB, from one ranged GET (or one open file): the whole range never sits in memory."""
    loc = parse(url)
    if not loc.is_s3:
        try:
            with open(loc.key, "rb") as handle:
                handle.seek(start)
                while length > 0 and (chunk := handle.read(min(_CHUNK, length))):
                    length -= len(chunk)
                    yield chunk
        except FileNotFoundError:
            raise InputError(f"{url}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{url}: a folder, not a file") from None
        return
    try:
        body = s3_client().get_object(
            Bucket=loc.bucket, Key=loc.key, Range=f"bytes={start}-{start + length - 1}"
        )
    except Exception as error:
        if _error_code(error) == "InvalidRange":  # past the end (an empty object has no byte 0)
            return
        raise _s3_error(url, error) from error
    with contextlib.closing(body["Body"]) as pieces:
        yield from pieces.iter_chunks(_CHUNK)


def _error_code(error: Exception) -> str:
    from botocore.exceptions import ClientError

    return error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""


# --- conditional writes: concurrent runs of one job share its manifest --------------------------


class Conflict(Exception):
    """Someone else wrote the object since it was read: read it again and retry."""


def read_versioned(url: str) -> tuple[bytes, str] | None:
    """The object and a version token for :func:`write_if`, or None when it does not exist."""
    loc = parse(url)
    if not loc.is_s3:
        try:
            data = Path(loc.key).read_bytes()
        except FileNotFoundError:
            return None
        return data, hashlib.sha256(data).hexdigest()
    try:
        found = s3_client().get_object(Bucket=loc.bucket, Key=loc.key)
    except Exception as error:
        if _error_code(error) in _NOT_FOUND:
            return None
        raise _s3_error(url, error) from error
    return found["Body"].read(), found["ETag"]


def write_if(url: str, data: bytes, version: str | None) -> str:
    """Write ``data`` only if the object is still at ``version`` (None: only if it does not
    exist yet); raises :class:`Conflict` otherwise. Returns the new version.

    S3 checks the condition itself (If-Match / If-None-Match, which AWS S3, MinIO and moto
    honour); locally the folder is locked while the current content is compared and replaced.
    """
    loc = parse(url)
    if not loc.is_s3:
        with _folder_lock(Path(loc.key).parent):
            current = read_versioned(url)
            if (current[1] if current else None) != version:
                raise Conflict(url)
            write_bytes(url, data)
        return hashlib.sha256(data).hexdigest()
    condition = {"IfMatch": version} if version else {"IfNoneMatch": "*"}
    try:
        written = s3_client().put_object(Bucket=loc.bucket, Key=loc.key, Body=data, **condition)
    except Exception as error:
        if _error_code(error) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
            raise Conflict(url) from None
        if version and _error_code(error) in _NOT_FOUND:
            raise Conflict(url) from None
        raise _s3_error(url, error) from error
    return written["ETag"]


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on a local folder (flock works on a folder's own descriptor), so no
    lock file is left beside the data."""
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def write_bytes(url: str, data: bytes) -> str:
    loc = parse(url)
    if not loc.is_s3:
        with tempfile.NamedTemporaryFile(delete=False) as tmp:
            tmp.write(data)
        try:
            return upload(Path(tmp.name), url)
        finally:
            Path(tmp.name).unlink(missing_ok=True)
    try:
        s3_client().put_object(Bucket=loc.bucket, Key=loc.key, Body=data)
    except Exception as error:
        raise _s3_error(url, error) from error
    return url


def copy(src_url: str, dst_url: str) -> str:
    """Copy an object; server-side when both ends are on S3."""
    src, dst = parse(src_url), parse(dst_url)
    if src.is_s3 and dst.is_s3:
        try:
            s3_client().copy({"Bucket": src.bucket, "Key": src.key}, dst.bucket, dst.key)
        except Exception as error:
            raise _s3_error(src_url, error) from error
        return dst_url
    with scratch("copy") as tmp:
        return upload(download(src_url, tmp / "object"), dst_url)


def list_objects(prefix_url: str) -> list[ObjectInfo]:
    """Every object under a prefix (recursively), with size and last-modified time (UTC)."""
    loc = parse(prefix_url)
    if not loc.is_s3:
        root = Path(loc.key)
        if not root.is_dir():
            return []
        return [
            ObjectInfo(
                str(p),
                p.stat().st_size,
                datetime.fromtimestamp(p.stat().st_mtime, tz=UTC),
            )
            for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".part")
        ]
    prefix = loc.key.rstrip("/") + "/" if loc.key else ""
    found: list[ObjectInfo] = []
    try:
        for page in (
            s3_client().get_paginator("list_objects_v2").paginate(Bucket=loc.bucket, Prefix=prefix)
        ):
            for obj in page.get("Contents", []):
                url = f"s3://{loc.bucket}/{obj['Key']}"
                found.append(ObjectInfo(url, obj["Size"], obj["LastModified"], obj.get("ETag", "")))
    except Exception as error:
        raise _s3_error(prefix_url, error) from error
    return found


def delete(url: str) -> None:
    loc = parse(url)
    if not loc.is_s3:
        Path(loc.key).unlink(missing_ok=True)
        return
    try:
        s3_client().delete_object(Bucket=loc.bucket, Key=loc.key)
    except Exception as error:
        raise _s3_error(url, error) from error
