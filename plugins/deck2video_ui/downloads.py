"""What a job's page offers to download: its video, captions (WebVTT and SRT) and quality report,
each asked for by job id and kind and streamed through the plugin (``media.file_response``), so
the page never holds a storage URL. The file is saved under the deck's own name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from deck2video.job import JobFolder


@dataclass(frozen=True)
class Download:
    kind: str  # the route's name for it
    label: str  # what the page says
    media_type: str
    suffix: str  # of the saved file's name

    def url(self, job: JobFolder) -> str:
        """The job file behind it (never sent to the browser)."""
        return {
            "video": job.video,
            "vtt": job.captions_vtt,
            "srt": job.captions_srt,
            "quality": job.quality,
        }[self.kind]


DOWNLOADS = {
    d.kind: d
    for d in (
        Download("video", "Video (MP4)", "video/mp4", ".mp4"),
        Download("vtt", "Captions (WebVTT)", "text/vtt; charset=utf-8", ".vtt"),
        Download("srt", "Captions (SRT)", "application/x-subrip; charset=utf-8", ".srt"),
        Download("quality", "Quality report (JSON)", "application/json", ".quality.json"),
    )
}

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def _stem(deck_name: str) -> str:
    return deck_name.rsplit(".", 1)[0] if "." in deck_name[1:] else deck_name


def file_name(deck_name: str, download: Download) -> str:
    """``Quarterly review.mp4`` for ``Quarterly review.pptx``: the deck's stem, in plain
    characters (accents folded, anything else a dash), never empty or hidden."""
    plain = unicodedata.normalize("NFKD", _stem(deck_name)).encode("ascii", "ignore").decode()
    safe = _UNSAFE.sub("-", plain).strip(" .-")[:100] or "video"
    return safe + download.suffix


def disposition(deck_name: str, download: Download) -> str:
    """The Content-Disposition of a saved file: its ASCII name, and the deck's own (RFC 6266)."""
    own = quote((_stem(deck_name) or "video") + download.suffix, safe="")
    return f"attachment; filename=\"{file_name(deck_name, download)}\"; filename*=UTF-8''{own}"
