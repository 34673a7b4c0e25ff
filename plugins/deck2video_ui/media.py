"""A job file as an HTTP response, streamed from storage, with byte ranges for players that seek.

Only one range per request is honoured (what media elements send); a request for several gets
the whole file, which HTTP allows. The range is one read from ``deck2video.storage``, streamed in
bounded chunks, so a long video never sits in the api-server's memory, and no storage URL or
credential reaches the browser: it sees only this response.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.responses import Response, StreamingResponse

from deck2video import storage

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class Unsatisfiable(ValueError):
    """The range lies outside the file (HTTP 416)."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range of a ``Range`` header; None means the whole file.

    As RFC 9110 says: an invalid range (last before first) is ignored, so the whole file; a
    first byte at or past the end is unsatisfiable; a last byte past the end is the end.
    Positions longer than any file's size are compared as text, never made into integers.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # several ranges, or another unit: answer with the whole file
    first, last = (_position(found) for found in match.groups())
    if first is None and last is None:
        return None
    if first is None:  # the last N bytes
        if last == 0 or size == 0:
            raise Unsatisfiable(header)
        return ByteRange(max(0, size - last), size - 1)  # type: ignore[operator]
    if last is not None and last < first:
        return None  # invalid: ignored
    if first >= size:
        raise Unsatisfiable(header)
    return ByteRange(first, size - 1 if last is None else min(last, size - 1))


# More digits than this is past the end of any file (2**63 has 19): read as "past the end".
_MAX_DIGITS = 19
_PAST_ANY_END = 2**63


def _position(digits: str) -> int | None:
    if not digits:
        return None
    significant = digits.lstrip("0") or "0"
    return _PAST_ANY_END if len(significant) > _MAX_DIGITS else int(significant)


def file_response(url: str, media_type: str, range_header: str | None) -> Response:
    """The object at ``url`` (a job file the caller resolved), whole or the range asked for."""
    size = storage.size(url)
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=60",
        "X-Content-Type-Options": "nosniff",
    }
    try:
        wanted = parse_range(range_header, size)
    except Unsatisfiable:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    if wanted is None:
        wanted, status = ByteRange(0, size - 1), 200
    else:
        status = 206
        headers["Content-Range"] = f"bytes {wanted.start}-{wanted.end}/{size}"
    headers["Content-Length"] = str(max(0, wanted.length))
    if size == 0:
        return Response(b"", status_code=200, media_type=media_type, headers=headers)
    return StreamingResponse(
        storage.stream(url, wanted.start, wanted.length),
        status_code=status,
        media_type=media_type,
        headers=headers,
    )
