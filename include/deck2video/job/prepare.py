"""The prepare step: check the input URLs against the storage roots, fetch the inputs into a
scratch folder (judging each by its first bytes and size before copying it), check the deck and
its narration against the limits, render the slides, and only then store the inputs, notes and
slides in the job folder. It decides the job's id, so it is the one step that takes input URLs.

A refused URL leaves nothing in storage; a refused input leaves only the job's manifest, which
says why.

About 400 lines: each check is a small function, kept beside the one ordered sequence that
calls them so the order (nothing stored before every check passed) reads in one place.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from deck2video import storage
from deck2video.builds import BuildPlan
from deck2video.config import Deployment, JobSettings, Limits
from deck2video.deck import Deck, Slide, open_deck, sniff_deck, strip_external
from deck2video.errors import InputError
from deck2video.fingerprint import visual_fingerprint
from deck2video.fontreport import FontReport
from deck2video.fonts import FontRender, check_fonts, font_set_for
from deck2video.job import steps
from deck2video.job.budget import check_job_seconds, estimate, narration_lexicon
from deck2video.job.cache import CACHE_VERSION, get_or_put
from deck2video.job.layout import JobFolder, Store, numbered
from deck2video.job.state import load_manifest, save_manifest, stage, stage_done
from deck2video.lexicon import Lexicon
from deck2video.manifest import Manifest, SlideRecord
from deck2video.narration import is_silent, narrate
from deck2video.procs import scratch
from deck2video.pronounce import load_lexicon, sniff_text
from deck2video.render import render_slides
from deck2video.roots import Roots
from deck2video.voice import AUDIO_SUFFIXES, sniff_audio

# How much of a file its type is judged by.
_HEAD_BYTES = 64


@dataclass(frozen=True)
class SlidePlan:
    number: int  # position among the shown slides: names the job's files
    title: str
    source_index: int  # the deck's own (PowerPoint) slide number: what a user sees
    take: int = 1  # the take in the job's current video: a re-take stays until replaced
    estimate: float | None = None  # narration seconds estimated from the notes


@dataclass(frozen=True)
class JobPlan:
    job_id: str
    job_url: str
    out_url: str  # this run's output, checked; the manifest does not keep it
    slides: tuple[SlidePlan, ...]


@dataclass(frozen=True)
class Fetched:
    """An input copied into the scratch folder, or refused before it was (``refusal``)."""

    url: str
    path: Path | None
    sha256: str  # of the content; of its URL and size when refused unread
    refusal: str | None = None

    def checked(self) -> Path:
        if self.path is None:
            raise InputError(self.refusal or f"{self.url}: not fetched")
        return self.path


def job_id_for(deck_name: str, *parts: str) -> str:
    """Stable id: a readable deck name plus a hash of the content and settings."""
    stem = re.sub(r"[^a-z0-9]+", "-", PurePosixPath(deck_name).stem.lower()).strip("-")[:40]
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    return f"{stem or 'deck'}-{digest}"


def prepare(
    deck_url: str,
    voice_url: str,
    *,
    out_url: str,
    root_url: str | None = None,
    settings: JobSettings | None = None,
    limits: Limits | None = None,
    lexicon_url: str | None = None,
    roots: Roots | None = None,
) -> JobPlan:
    """Fetch and validate the inputs, render the slides, and write the job's manifest.

    ``lexicon_url`` names an optional pronunciation lexicon (see :mod:`deck2video.pronounce`).
    ``roots`` says where the URLs may point (default: what this deployment allows a service,
    :meth:`Roots.for_service`).
    """
    deployment = Deployment.from_env()
    settings = settings or JobSettings()
    limits = limits or deployment.limits
    store = Store(root_url or deployment.root_url)
    urls = check_urls(
        roots or Roots.for_service(deployment),
        store,
        deck_url=deck_url,
        voice_url=voice_url,
        lexicon_url=lexicon_url,
        out_url=out_url,
    )
    deck_name = PurePosixPath(storage.parse(deck_url).key).name
    voice_suffix = PurePosixPath(storage.parse(voice_url).key).suffix.lower()

    with scratch("prepare") as work:
        given = {"deck_url": deck_url, "voice_url": voice_url, "lexicon_url": lexicon_url}
        deck, voice, lexicon = _fetch_inputs(urls, given, work, limits)
        settings_json = json.dumps(settings.to_dict(), sort_keys=True)
        lexicon_sha = lexicon.sha256 if lexicon else ""
        job = store.job(
            job_id_for(deck_name, deck.sha256, voice.sha256, settings_json, lexicon_sha)
        )
        existing = _load_if_prepared(job)
        if existing is not None:
            return _plan(existing, job, out_url)

        manifest = Manifest(
            job_id=job.job_id,
            settings=settings.to_dict(),
            root_url=store.url,
            deck={"url": deck_url, "name": deck_name, "sha256": deck.sha256},
            voice={"url": voice_url, "sha256": voice.sha256, "suffix": voice_suffix},
            lexicon={"url": lexicon_url, "sha256": lexicon.sha256} if lexicon else {},
        )
        with stage(job, manifest, "prepare", "processing_slides") as record:
            deck_path = deck.checked()
            _check_voice(voice, voice_url, voice_suffix)
            own_lexicon = (
                load_lexicon(lexicon.checked(), settings.language, name=lexicon_url, limits=limits)
                if lexicon
                else {}
            )
            opened = open_deck(deck_path, limits)
            manifest.warnings += list(opened.warnings)
            to_render = _without_external_links(opened, deck_path, deployment, manifest, work)
            shown = opened.shown(settings.include_hidden)
            lexicon_entries = narration_lexicon(settings, own_lexicon, deployment)
            estimates = _check_narration(opened, shown, settings, lexicon_entries, limits)
            record.detail["narration_estimate_seconds"] = round(sum(estimates), 1)
            build_plan = steps.plan(to_render, shown, settings, f"deck {deck_name}")
            record.detail["render_cached"] = _render_into_job(
                to_render, job, settings, limits, deployment,
                build_plan=build_plan, source_indexes=[s.index for s in shown], work=work,
            )  # fmt: skip
            _record_fonts(job, manifest, deck_name, deployment, expected=len(shown))
            _store_notes(job, manifest, opened, shown, estimates)
            steps.record(manifest, build_plan)
            _store_inputs(job, manifest, deck, voice, lexicon)
    manifest.set_status("synthesizing_audio", stage="prepare")
    save_manifest(job, manifest)
    return _plan(manifest, job, out_url)


def check_urls(
    roots: Roots,
    store: Store,
    *,
    deck_url: str,
    voice_url: str,
    out_url: str,
    lexicon_url: str | None = None,
) -> dict[str, str]:
    """Each URL, normalised, once it passed the roots (before anything is read or written)."""
    roots = roots.guarding(store.url)
    checked = {
        "deck_url": roots.check_read("deck_url", deck_url),
        "voice_url": roots.check_read("voice_url", voice_url),
        "out_url": roots.check_write("out_url", out_url),
    }
    if lexicon_url:
        checked["lexicon_url"] = roots.check_read("lexicon_url", lexicon_url)
    if not checked["out_url"].endswith(".mp4"):
        raise InputError(f"out_url {out_url}: must name an .mp4 file")
    return checked


def _fetch_inputs(
    urls: dict[str, str], given: dict[str, str | None], work: Path, limits: Limits
) -> tuple[Fetched, Fetched, Fetched | None]:
    """Deck, voice and lexicon in the scratch folder, each judged before it is copied, from
    their checked ``urls``; messages name the URLs as ``given``. The deck keeps the user's file
    name: stage errors name the file they were given."""
    given_deck, given_voice = given["deck_url"], given["voice_url"]
    # Only the lexicon is optional.
    assert given_deck is not None
    assert given_voice is not None
    deck_name = PurePosixPath(storage.parse(given_deck).key).name
    voice_suffix = PurePosixPath(storage.parse(given_voice).key).suffix.lower()
    deck = _fetch(
        urls["deck_url"],
        work / "deck" / deck_name,
        limits.max_deck_bytes,
        sniff_deck,
        f"deck {given['deck_url']}",
    )
    voice = _fetch(
        urls["voice_url"],
        work / f"voice{voice_suffix or '.bin'}",
        limits.max_voice_bytes,
        sniff_audio,
        f"voice recording {given['voice_url']}",
    )
    lexicon = None
    if "lexicon_url" in urls:
        lexicon = _fetch(
            urls["lexicon_url"],
            work / "lexicon.txt",
            limits.max_lexicon_bytes,
            sniff_text,
            f"lexicon {given['lexicon_url']}",
        )
    return deck, voice, lexicon


def _fetch(
    url: str, dest: Path, max_bytes: int, sniff: Callable[[bytes], str | None], what: str
) -> Fetched:
    """Copy an input into the scratch folder once its size and first bytes pass; a refused one
    is not copied at all, but still gets an id (its manifest records the refusal)."""
    size = storage.size(url)

    def refused(problem: str) -> Fetched:
        digest = hashlib.sha256(f"refused\0{url}\0{size}".encode()).hexdigest()
        return Fetched(url, None, digest, f"{what}: {problem}")

    if size > max_bytes:
        return refused(f"larger than the {_mib(max_bytes)} limit")
    problem = sniff(storage.read_head(url, _HEAD_BYTES))
    if problem:
        return refused(problem)
    try:
        return Fetched(url, dest, storage.fetch(url, dest, max_bytes=max_bytes))
    except InputError:  # longer than its listed size said (a /proc file, a growing file)
        return refused(f"larger than the {_mib(max_bytes)} limit")


def _check_voice(voice: Fetched, voice_url: str, suffix: str) -> None:
    if suffix not in AUDIO_SUFFIXES:
        raise InputError(
            f"voice recording {voice_url}: {suffix or 'no extension'} is not an "
            f"audio format ({', '.join(AUDIO_SUFFIXES)})"
        )
    voice.checked()


def _mib(size: int) -> str:
    return f"{size / 2**20:g} MiB"


def _without_external_links(
    deck: Deck, path: Path, deployment: Deployment, manifest: Manifest, work: Path
) -> Path:
    """The deck to render: refused when it links outside itself, or (as the deployment says)
    stripped of those links, with a warning for each."""
    if not deck.external:
        return path
    if deployment.external_links == "refuse":
        first = deck.external[0]
        raise InputError(
            f"deck {deck.name}: {first.where} links to an outside {first.kind} "
            f"({len(deck.external)} such link(s)); links out of a deck are refused "
            "(DECK2VIDEO_EXTERNAL_LINKS=strip removes them instead)"
        )
    manifest.warnings += [
        f"{link.where}: a link to an outside {link.kind} was removed" for link in deck.external
    ]
    (work / "stripped").mkdir()
    return strip_external(path, work / "stripped" / path.name, deck.external)


def _check_narration(
    deck: Deck,
    shown: list[Slide],
    settings: JobSettings,
    lexicon: Lexicon,
    limits: Limits,
) -> list[float]:
    """Every shown slide's narration, estimated from its text against the limits; the job's
    total is checked after each slide, so a deck over it stops at the first slide past it."""
    estimates: list[float] = []
    for slide in shown:
        segments = narrate(slide.notes, settings.silence_seconds)
        seconds = estimate(
            f"deck {deck.name}: slide {slide.index}",
            segments,
            settings=settings,
            lexicon=lexicon,
            limits=limits,
        )
        estimates.append(round(seconds, 2))
        check_job_seconds(f"deck {deck.name}", sum(estimates), limits, measured=False)
    return estimates


def _store_notes(
    job: JobFolder, manifest: Manifest, deck: Deck, shown: list[Slide], estimates: list[float]
) -> None:
    """The shown slides into the manifest, and each one's notes into the job folder."""
    manifest.deck.update(slides_total=len(deck.slides), slides_shown=len(shown))
    manifest.slides = [
        SlideRecord(
            number=n,
            source_index=slide.index,
            title=slide.title,
            hidden=slide.hidden,
            silent=is_silent(slide.notes),
            notes_sha256=hashlib.sha256(slide.notes.encode()).hexdigest(),
            estimate=seconds,
        )
        for n, (slide, seconds) in enumerate(zip(shown, estimates, strict=True), start=1)
    ]
    for n, slide in enumerate(shown, start=1):
        storage.write_bytes(job.notes(n), slide.notes.encode())


def _store_inputs(
    job: JobFolder, manifest: Manifest, deck: Fetched, voice: Fetched, lexicon: Fetched | None
) -> None:
    """The inputs into the job folder: last, once everything about them was checked."""
    storage.upload(deck.checked(), job.deck)
    storage.upload(voice.checked(), job.voice_input(manifest.voice["suffix"]))
    if lexicon is not None:
        storage.upload(lexicon.checked(), job.lexicon)


def _load_if_prepared(job: JobFolder) -> Manifest | None:
    """A job with the same id already rendered the same deck: reuse it as it is."""
    if not storage.exists(job.manifest):
        return None
    manifest = load_manifest(job)
    return manifest if stage_done(manifest, "prepare") else None


def _plan(manifest: Manifest, job: JobFolder, out_url: str) -> JobPlan:
    return JobPlan(
        job_id=manifest.job_id,
        job_url=job.url,
        out_url=out_url,
        slides=tuple(
            SlidePlan(s.number, s.title, s.source_index, s.take, s.estimate)
            for s in manifest.slides
        ),
    )


def _render_into_job(
    deck_path: Path,
    job: JobFolder,
    settings: JobSettings,
    limits: Limits,
    deployment: Deployment,
    *,
    build_plan: BuildPlan,
    source_indexes: list[int],
    work: Path,
) -> bool:
    """Render the slides (a still per build step), or copy them from the render cache when
    only the notes changed.

    Returns whether the cache served them.
    """
    font_set = font_set_for(deployment)
    key = hashlib.sha256(
        "\0".join(
            (
                CACHE_VERSION,
                visual_fingerprint(deck_path),
                settings.resolution,
                str(settings.include_hidden),
                steps.render_key(settings),
                font_set.fingerprint(),
            )
        ).encode()
    ).hexdigest()
    fonts = FontRender(font_set, limits)

    def render() -> dict[str, Path | bytes]:
        images = render_slides(
            steps.deck_to_render(deck_path, build_plan, work),
            work / "slides",
            expected=build_plan.pages,
            include_hidden=settings.include_hidden,
            width=settings.width,
            height=settings.height,
            timeout=limits.soffice_timeout,
            limits=limits,
            fonts=fonts,
        )
        report = steps.fonts_per_slide(fonts.report or FontReport(), build_plan, source_indexes)
        stills = {numbered(n, ".png"): image for n, image in enumerate(images, start=1)}
        fonts_json = json.dumps(report.to_dict(), ensure_ascii=False).encode()
        return {**stills, "fonts.json": fonts_json, "complete": str(build_plan.pages).encode()}

    entry = job.store.cache.slides(key, build_plan.pages)
    copy_to = steps.job_targets(job, build_plan)
    copy_to["fonts.json"] = job.fonts_report
    return get_or_put(entry, render, copy_to=copy_to).hit


def _record_fonts(
    job: JobFolder, manifest: Manifest, deck_name: str, deployment: Deployment, *, expected: int
) -> None:
    """The render's font report into the manifest and the log; fails the job in fail mode."""
    report = FontReport.from_dict(json.loads(storage.read_bytes(job.fonts_report)))
    manifest.fonts = {**report.to_dict(), "summary": report.summary()}
    manifest.warnings += [*report.warnings, *report.problems()]
    check_fonts(report, deck_name, deployment.font_check)
