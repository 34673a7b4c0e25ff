"""A job as its pages show it, read from its folder through the package (local or S3 storage).

Nothing here imports Airflow: the job's folder, manifest and per-slide speech results are all
it needs. Slides are named by the deck's own (PowerPoint) numbers, which is what a user reads on
the slide; the job's files keep their positional names (``0001.png``), resolved here.

The files a page may fetch are the few :data:`JOB_FILES` kinds of a known job and slide, each
mapped to its URL by :class:`deck2video.job.JobFolder`; anything else is unknown (404), so no
path a browser sends can reach outside a job folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from deck2video import storage
from deck2video.config import JobSettings
from deck2video.errors import Deck2VideoError
from deck2video.job import JobFolder, Store, load_manifest
from deck2video.job.layout import JOB_ID
from deck2video.manifest import Manifest, SlideRecord
from deck2video.params import params_from_settings
from deck2video_ui.quality_words import QualityView, job_quality, slide_quality

# kind -> content type; file_url says which of the job's files each kind is. Slide files are
# per PowerPoint slide number.
JOB_FILES: dict[str, str] = {
    "video": "video/mp4",
    "captions": "text/vtt; charset=utf-8",
    "slide": "image/png",
    "step": "image/png",  # a still of a slide's click build, by slide and step number
    "audio": "audio/wav",
}


@dataclass(frozen=True)
class CueView:
    start: float  # seconds in the video
    end: float
    text: str


# Slides shown in full on one job page: each costs two storage reads (notes, speech result),
# so a page of a 500-slide deck stays bounded; the outline of all of them is the manifest's.
SLIDES_PER_PAGE = 50


@dataclass(frozen=True)
class SlideOutline:
    """What the manifest alone says of a slide: enough for chapters and re-takes."""

    number: int  # the deck's own slide number
    title: str
    start: float | None  # in the video
    take: int
    takes: tuple[int, ...] = ()  # the takes that can be played and chosen again


@dataclass(frozen=True)
class StepView:
    step: int  # 1: before the first click; the last is the slide as it ends
    start: float | None  # when it appears in the video


@dataclass(frozen=True)
class SlideView:
    number: int  # the deck's own slide number
    position: int  # among the narrated slides: names the job's files
    title: str
    hidden: bool
    notes: str
    spoken: tuple[str, ...]  # what the engine was given, after pronunciation rules
    cues: tuple[CueView, ...]
    start: float | None  # the slide's interval in the video
    end: float | None
    duration: float | None  # narration seconds
    synthesized: bool | None  # False: from the cache; None: not spoken yet
    take: int
    spoken_yet: bool  # its audio exists
    quality: QualityView = field(default_factory=QualityView)
    steps: tuple[StepView, ...] = ()  # its click build's stills; none for a single still
    fonts: tuple[str, ...] = ()  # each face not drawn as asked, and glyphs no font has
    font_problems: int = 0  # substitutes and missing glyphs among them
    takes: tuple[int, ...] = ()  # every take that can be played, the current one among them
    skipped: bool = False  # a row for a hidden slide, which the video leaves out

    @property
    def spoken_differs(self) -> bool:
        """Whether what the engine was given reads otherwise than the notes (numbers spelled
        out, a lexicon's word): only then does the review show it."""
        return bool(self.spoken) and _plain(" ".join(self.spoken)) != _plain(self.notes)

    @property
    def captions_differ(self) -> bool:
        return bool(self.cues) and _plain(" ".join(c.text for c in self.cues)) != _plain(self.notes)


_MARKUP = re.compile(r"\[[A-Za-z]+(?:\s+[0-9.]+)?\]")


def _plain(text: str) -> str:
    """Text as a reader compares it: without [PAUSE]-style markers, spacing or case."""
    return " ".join(_MARKUP.sub(" ", text).split()).casefold()


def skipped_slide(number: int) -> SlideView:
    """A hidden slide's row: its number only (the manifest keeps no more of it)."""
    return SlideView(
        number, 0, "", True, "", (), (), None, None, None, None, 1, False, skipped=True
    )


@dataclass(frozen=True)
class JobView:
    job_id: str
    deck_name: str
    status: str
    stage: str | None
    reason: str | None
    created: str
    updated: str
    slides: tuple[SlideView, ...]
    slides_total: int | None
    video_seconds: float | None
    has_video: bool
    quality: QualityView
    language: str
    version: str  # changes whenever the job's files do: busts the browser's cache
    warnings: tuple[str, ...] = ()  # what prepare changed or dropped (e.g. a link out removed)
    conf: Mapping[str, Any] = field(default_factory=dict)  # the inputs and settings that made it
    outline: tuple[SlideOutline, ...] = ()  # every narrated slide, from the manifest
    page: int = 1  # which SLIDES_PER_PAGE slides ``slides`` holds
    pages: int = 1

    @property
    def takes(self) -> dict[int, int]:
        """Re-takes in the current video: PowerPoint slide number -> take."""
        return {s.number: s.take for s in self.outline if s.take != 1}


def job_folder(store: Store, job_id: str) -> JobFolder | None:
    """The folder of ``job_id`` under this deployment's store, or None for a malformed id."""
    return store.job(job_id) if JOB_ID.fullmatch(job_id or "") else None


def load_summary(job: JobFolder) -> JobView | None:
    """The job's manifest as a view, without its slides' files: what the jobs list shows."""
    manifest = manifest_of(job)
    return None if manifest is None else summary_of(job, manifest)


def summary_of(job: JobFolder, manifest: Manifest) -> JobView:
    """:func:`load_summary` of a manifest already read."""
    return _view(job, manifest, slides=())


def load_job(job: JobFolder, page: int = 1) -> JobView | None:
    """Everything one page of the job shows: the manifest (one read), then the files of the
    ``page``-th SLIDES_PER_PAGE slides only; None when the job has no manifest (yet)."""
    manifest = manifest_of(job)
    if manifest is None:
        return None
    first = (page - 1) * SLIDES_PER_PAGE
    shown = manifest.slides[first : first + SLIDES_PER_PAGE]
    slides = [_slide_view(job, manifest, record) for record in shown]
    view = _view(job, manifest, ())
    return replace(view, slides=_with_skipped(slides, manifest, page == view.pages), page=page)


def _with_skipped(slides: list[SlideView], manifest: Manifest, last_page: bool) -> tuple:
    """The page's slides with a row for each slide of the deck the video leaves out (hidden)
    among them, and after the last one on the last page."""
    if not slides:
        return ()
    total = int(manifest.deck.get("slides_total") or 0)
    low = 1 if slides[0].position == 1 else slides[0].number
    high = max(total, slides[-1].number) if last_page else slides[-1].number
    narrated = {s.number for s in slides}
    rows = slides + [skipped_slide(n) for n in range(low, high + 1) if n not in narrated]
    return tuple(sorted(rows, key=lambda row: row.number))


def file_url(
    job: JobFolder, manifest: Manifest, kind: str, slide: int | None, step: int | None = None
) -> str | None:
    """The storage URL behind one of a page's file links, or None when there is no such file.

    ``slide`` is the PowerPoint number, for the per-slide kinds only; ``step`` is for ``step``
    only.
    """
    if kind not in JOB_FILES or (slide is None) != (kind in ("video", "captions")):
        return None
    if (step is None) != (kind != "step"):
        return None
    if kind == "video":
        return job.video
    if kind == "captions":
        return job.captions_vtt
    record = next((s for s in manifest.slides if s.source_index == slide), None)
    if record is None:
        return None
    if kind == "step":
        return step_url(job, record, step or 0)
    return job.slide(record.number) if kind == "slide" else job.audio(record.number)


_AUDIO_KEY = re.compile(r"[0-9a-f]{64}")


def take_keys(record: SlideRecord) -> dict[int, str]:
    """Take -> audio cache key, for every take of the slide a video had (the current one too)."""
    found = {
        int(t): k for t, k in record.take_keys.items() if t.isdigit() and _AUDIO_KEY.fullmatch(k)
    }
    if record.audio_key and _AUDIO_KEY.fullmatch(record.audio_key):
        found.setdefault(record.take, record.audio_key)
    return dict(sorted(found.items()))


def take_url(job: JobFolder, manifest: Manifest, slide: int, take: int) -> str | None:
    """Where a take of a slide's narration is kept: the shared audio cache, by its key (the
    job's own audio file holds the current take only)."""
    record = next((s for s in manifest.slides if s.source_index == slide), None)
    key = take_keys(record).get(take) if record is not None else None
    return job.store.cache.audio(key).files["wav"] if key else None


def step_url(job: JobFolder, record: SlideRecord, step: int) -> str | None:
    """A build step's still: the last step is the slide's own still."""
    if not 1 <= step <= record.steps:
        return None
    return job.slide(record.number) if step == record.steps else job.step(record.number, step)


def manifest_of(job: JobFolder) -> Manifest | None:
    """The job's manifest, or None when it has none."""
    try:
        return load_manifest(job)
    except Deck2VideoError:  # no manifest (yet): the run failed before prepare made one
        return None


def _view(job: JobFolder, manifest: Manifest, slides: tuple[SlideView, ...]) -> JobView:
    assembled = manifest.stages.get("assemble")
    video_seconds = assembled.detail.get("video_seconds") if assembled else None
    return JobView(
        job_id=manifest.job_id,
        deck_name=str(manifest.deck.get("name") or manifest.job_id),
        status=manifest.status,
        stage=manifest.stage,
        reason=manifest.reason,
        created=manifest.created,
        updated=manifest.updated,
        slides=slides,
        slides_total=len(manifest.slides) or None,
        video_seconds=video_seconds,
        has_video=bool(assembled and assembled.status == "done"),
        quality=job_quality(manifest.quality),
        language=str(manifest.settings.get("language") or "en"),
        version=re.sub(r"[^0-9A-Za-z]", "", manifest.updated),
        warnings=tuple(str(w) for w in manifest.warnings),
        conf=_job_conf(manifest),
        outline=tuple(
            SlideOutline(s.source_index, s.title, s.start, s.take, tuple(take_keys(s)))
            for s in manifest.slides
        ),
        pages=max(1, -(-len(manifest.slides) // SLIDES_PER_PAGE)),
    )


def _job_conf(manifest: Manifest) -> dict[str, Any]:
    """The run conf that makes this job again: its own inputs and settings, from its manifest
    (not from any run, whose conf another user may have written)."""
    conf: dict[str, Any] = {
        "deck_url": manifest.deck.get("url"),
        "voice_url": manifest.voice.get("url"),
    }
    if manifest.lexicon.get("url"):
        conf["lexicon_url"] = manifest.lexicon["url"]
    if manifest.settings:
        conf.update(params_from_settings(JobSettings.from_dict(manifest.settings)))
    return conf


def _slide_view(job: JobFolder, manifest: Manifest, record: SlideRecord) -> SlideView:
    result = _speech_result(job, record.number)
    offset = record.start or 0.0
    cues = tuple(
        CueView(round(offset + start, 3), round(offset + end, 3), str(text))
        for start, end, text in result.get("cues", [])
    )
    return SlideView(
        number=record.source_index,
        position=record.number,
        title=record.title,
        hidden=record.hidden,
        notes=_text(job.notes(record.number)),
        spoken=tuple(str(s) for s in result.get("spoken", [])),
        cues=cues,
        start=record.start,
        end=record.end,
        duration=record.duration if record.duration is not None else result.get("duration"),
        synthesized=(
            record.synthesized if record.synthesized is not None else result.get("synthesized")
        ),
        take=int(result.get("take", record.take)),
        spoken_yet=bool(result),
        quality=slide_quality(record.quality, manifest.quality, record.start),
        steps=_steps(record),
        takes=tuple(take_keys(record)),
        **_slide_fonts(manifest.fonts, record.number),
    )


def _steps(record: SlideRecord) -> tuple[StepView, ...]:
    if record.steps <= 1:
        return ()
    starts = list(record.step_starts) + [None] * record.steps  # None until assembled
    return tuple(StepView(n, starts[n - 1]) for n in range(1, record.steps + 1))


# How the review page names each kind of face (deck2video.fontreport).
_FONT_KINDS = {
    "metric": "metric-compatible",
    "embedded": "the deck's embedded font",
    "substitute": "a substitute: text may reflow",
}


def _slide_fonts(report: Mapping[str, Any], number: int) -> dict[str, Any]:
    """The slide's faces that were not drawn as asked, one line each, and how many of them
    are problems (a substitute or a missing glyph)."""
    for slide in report.get("slides", []):
        if slide.get("number") != number:
            continue
        lines, problems = [], 0
        for use in slide.get("faces", []):
            if use.get("kind") in _FONT_KINDS:
                lines.append(f"{use['asked']} → {use['got']} ({_FONT_KINDS[use['kind']]})")
                problems += use.get("kind") == "substitute"
        if slide.get("missing"):
            codes = " ".join(f"U+{ord(c):04X}" for c in slide["missing"][:8])
            lines.append(f"no font draws {codes}")
            problems += 1
        return {"fonts": tuple(lines), "font_problems": problems}
    return {}


def _speech_result(job: JobFolder, number: int) -> dict[str, Any]:
    """What the slide's speak task reported; empty until it has run."""
    try:
        found = json.loads(storage.read_bytes(job.speech_result(number)))
    except (Deck2VideoError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _text(url: str) -> str:
    try:
        return storage.read_bytes(url).decode("utf-8", errors="replace")
    except Deck2VideoError:
        return ""
