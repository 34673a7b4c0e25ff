"""Every URL of a job and of the shared caches, in one place.

```
<root>/jobs/<job_id>/                 JobFolder
  input/deck.pptx  input/voice.<ext>  input/lexicon.txt
  manifest.json
  slides/0001.png  slides/0001-step1.png ...  slides/fonts.json
  notes/0001.txt  audio/0001.wav  audio/0001.json
  voice/reference.wav  voice/<embedding>.npy
  output/video.mp4  output/captions.vtt  output/captions.srt  output/quality.json
<root>/cache/                         Caches
  slides/<key>/0001.png ... complete
  audio/<key>.wav  audio/<key>.json
  voice/<key>.npy
  quality/<key>.json
  segments/video/<key>.h264 <key>.json  a still's encoded unit, then its size and SHA-256
  segments/audio/<key>.aac <key>.json   a slide's encoded sound, the same
```

Slides are numbered by their position among the shown slides, four digits, so that names sort
in presentation order. Nothing else in the package builds a job or cache path by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from deck2video import storage
from deck2video.errors import InputError
from deck2video.job.cache import Entry

JOBS = "jobs"
_SEGMENT_SUFFIXES = {"video": ".h264", "audio": ".aac"}
CACHE = "cache"
# What job_id_for makes (a deck-name stem and a hex digest): anything else names no job. Used
# with fullmatch, so no trailing newline or other character slips through.
JOB_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,80}")


def numbered(number: int, suffix: str) -> str:
    """``numbered(7, ".png")`` -> ``0007.png``."""
    return f"{number:04d}{suffix}"


@dataclass(frozen=True)
class Store:
    """A storage root: every job's folder and the caches they share."""

    url: str

    def __post_init__(self) -> None:
        storage.parse(self.url)  # refuse a malformed root before anything is written
        object.__setattr__(self, "url", self.url.rstrip("/"))

    def job(self, job_id: str) -> JobFolder:
        """The folder of ``job_id``; an id that is not one (a path, a newline) is refused."""
        if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id):
            raise InputError(f"job id {job_id!r}: not a job id")
        return JobFolder(storage.join(self.url, JOBS, job_id))

    @property
    def cache(self) -> Caches:
        return Caches(storage.join(self.url, CACHE))


@dataclass(frozen=True)
class JobFolder:
    """One job's folder, ``<root>/jobs/<job_id>``: made from its URL at the edge (CLI, DAG
    task, speech image) and handed to every step."""

    url: str

    def __post_init__(self) -> None:
        url = self.url.rstrip("/")
        parent = PurePosixPath(storage.parse(url).key).parent
        if parent.name != JOBS:
            raise InputError(f"job URL {url}: not <root>/{JOBS}/<job_id>")
        object.__setattr__(self, "url", url)

    @classmethod
    def at(cls, url: str | JobFolder) -> JobFolder:
        return url if isinstance(url, JobFolder) else cls(url)

    def _at(self, *parts: str) -> str:
        return storage.join(self.url, *parts)

    @property
    def job_id(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def store(self) -> Store:
        """The root this job lives under (its caches are ``store.cache``)."""
        return Store(self.url.rsplit("/", 2)[0])

    @property
    def manifest(self) -> str:
        return self._at("manifest.json")

    @property
    def deck(self) -> str:
        return self._at("input", "deck.pptx")

    def voice_input(self, suffix: str) -> str:
        """The uploaded recording, keeping its extension (``.m4a``) for the decoder."""
        return self._at("input", f"voice{suffix}")

    @property
    def lexicon(self) -> str:
        return self._at("input", "lexicon.txt")

    def slide(self, number: int) -> str:
        return self._at("slides", numbered(number, ".png"))

    def step(self, number: int, step: int) -> str:
        """A build step's still (step 1: before the first click); the last step is ``slide``."""
        return self._at("slides", numbered(number, f"-step{step}.png"))

    @property
    def fonts_report(self) -> str:
        """What each slide's text asked of the fonts and got (deck2video.fontreport)."""
        return self._at("slides", "fonts.json")

    def notes(self, number: int) -> str:
        return self._at("notes", numbered(number, ".txt"))

    def audio(self, number: int) -> str:
        return self._at("audio", numbered(number, ".wav"))

    def speech_result(self, number: int) -> str:
        """What a speak task reports (duration, cues, cache key); it never writes the manifest."""
        return self._at("audio", numbered(number, ".json"))

    @property
    def reference(self) -> str:
        return self._at("voice", "reference.wav")

    def embedding(self, name: str) -> str:
        return self._at("voice", name)

    @property
    def video(self) -> str:
        return self._at("output", "video.mp4")

    @property
    def captions_vtt(self) -> str:
        return self._at("output", "captions.vtt")

    @property
    def captions_srt(self) -> str:
        return self._at("output", "captions.srt")

    @property
    def quality(self) -> str:
        """The narration quality report, per slide and for the job (published with the video)."""
        return self._at("output", "quality.json")


@dataclass(frozen=True)
class Caches:
    """``<root>/cache``: results keyed by content, shared by every job under the root."""

    url: str

    def slides(self, key: str, count: int) -> Entry:
        """A deck's rendered stills (``0001.png`` ...), whole once ``complete`` exists."""
        folder = storage.join(self.url, "slides", key)
        names = [numbered(n, ".png") for n in range(1, count + 1)] + ["fonts.json", "complete"]
        return Entry({name: storage.join(folder, name) for name in names})

    def audio(self, key: str) -> Entry:
        """One slide's narration (``wav``), whole once its ``info`` (duration, cues) exists."""
        return Entry(
            {
                "wav": storage.join(self.url, "audio", f"{key}.wav"),
                "info": storage.join(self.url, "audio", f"{key}.json"),
            }
        )

    def voice(self, name: str) -> Entry:
        """A speaker embedding: one file, whole as soon as it exists."""
        return Entry({"embedding": storage.join(self.url, "voice", name)})

    def segment(self, kind: str, key: str) -> Entry:
        """An encoded piece of a video (``video``: a still's unit, ``audio``: a slide's sound),
        whole once its ``marker`` (size and SHA-256) exists."""
        if kind not in _SEGMENT_SUFFIXES or not re.fullmatch(r"[0-9a-f]{64}", key):
            raise ValueError(f"segment {kind!r} {key!r}: not a segment")
        folder = storage.join(self.url, "segments", kind)
        return Entry(
            {
                "piece": storage.join(folder, key + _SEGMENT_SUFFIXES[kind]),
                "marker": storage.join(folder, f"{key}.json"),
            }
        )

    def quality(self, key: str) -> Entry:
        """One slide's measured narration quality, keyed by its audio and the reference."""
        return Entry({"scores": storage.join(self.url, "quality", f"{key}.json")})
