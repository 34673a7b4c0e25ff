"""Narration quality in words a producer reads at a glance: "voice: close", "audio: clean",
"pace: fast", "long silence at 0:42". The measured numbers stay at hand (a word's hover text and
a details row) for whoever wants them.

The words are judged against the run's own thresholds (``JobQuality.thresholds``, from
config.QualitySettings), so a word and the quality check never disagree. A job whose voice was
not cloned (no converter configured) says so once, for the job; its slides are not each flagged
for not sounding like the presenter: every one of them is the same engine's voice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deck2video.config import QualitySettings
from deck2video.manifest import VOICE_BASE, VOICE_CONVERTED, JobQuality, SlideQuality

_DEFAULTS = QualitySettings()
CLEAN_DNSMOS = 3.0  # DNSMOS over this is clean speech (config's help: "clean speech over 3")
SOMEWHAT_CLOSE = 0.15  # similarity this far under the threshold is "somewhat close"
CLIPPED_SHARE = 0.001  # more samples than this at full scale is heard as clipping


@dataclass(frozen=True)
class Word:
    text: str  # "voice: close"
    tone: str  # ok | warn | bad | off: the word's colour
    numbers: str = ""  # what it is judged on, for the hover text


@dataclass(frozen=True)
class QualityView:
    """A job's or a slide's quality: the words first, then every number, labelled."""

    words: tuple[Word, ...] = ()
    numbers: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.words or self.numbers)

    @property
    def tone(self) -> str:
        """The worst word's tone: the row's mark."""
        tones = [w.tone for w in self.words]
        return next((t for t in ("bad", "warn") if t in tones), "ok")


def _threshold(job: JobQuality | None, name: str) -> float:
    found = (job.thresholds if job else {}).get(name)
    return float(found) if isinstance(found, int | float) else float(getattr(_DEFAULTS, name))


def clock(seconds: float) -> str:
    """``0:42``, ``12:05``: a moment in the video."""
    minutes, secs = divmod(round(max(0.0, seconds)), 60)
    return f"{minutes}:{secs:02d}"


def cloned(job: JobQuality | None) -> bool:
    return job is not None and job.voice == VOICE_CONVERTED


def voice_word(similarity: float | None, job: JobQuality | None) -> Word | None:
    """How close the narration sounds to the presenter's recording."""
    if job is not None and job.voice and job.voice != VOICE_CONVERTED:
        how = "base voice" if job.voice == VOICE_BASE else "base voice, pitch matched"
        numbers = f"{how}; similarity {similarity:.2f}" if similarity is not None else how
        return Word("voice: not matched (no cloning model configured)", "off", numbers)
    if similarity is None:
        return None
    wanted = _threshold(job, "min_similarity")
    numbers = f"voice similarity {similarity:.2f} (0 to 1; this run asks for {wanted:g})"
    if similarity >= wanted:
        return Word("voice: close", "ok", numbers)
    if similarity >= wanted - SOMEWHAT_CLOSE:
        return Word("voice: somewhat close", "warn", numbers)
    return Word("voice: not matched", "bad", numbers)


def audio_word(overall: float | None, p808: float | None, clipping: float,
               job: JobQuality | None) -> Word | None:  # fmt: skip
    """Whether the speech sounds clean: DNSMOS overall where it was heard, else P.808."""
    score, name = (overall, "DNSMOS overall") if overall is not None else (p808, "DNSMOS P.808")
    if clipping > CLIPPED_SHARE:
        return Word("audio: clipped", "bad", f"{clipping:.2%} of samples at full scale")
    if score is None:
        return None
    least = _threshold(job, "min_dnsmos")
    numbers = (
        f"{name} {score:.2f} (1 to 5; clean over {CLEAN_DNSMOS:g}, this run asks for {least:g})"
    )
    if score >= CLEAN_DNSMOS:
        return Word("audio: clean", "ok", numbers)
    if score >= least:
        return Word("audio: fair", "ok", numbers)
    return Word("audio: noisy", "bad", numbers)


def pace_word(words_per_minute: float | None, job: JobQuality | None) -> Word | None:
    if words_per_minute is None:
        return None
    slowest, fastest = _threshold(job, "min_wpm"), _threshold(job, "max_wpm")
    numbers = f"{words_per_minute:.0f} words per minute (this run asks {slowest:g} to {fastest:g})"
    if words_per_minute < slowest:
        return Word("pace: slow", "warn", numbers)
    if words_per_minute > fastest:
        return Word("pace: fast", "warn", numbers)
    return Word("pace: normal", "ok", numbers)


def silence_word(found: SlideQuality, job: JobQuality | None, start: float | None) -> Word | None:
    """The longest silence no [PAUSE] asked for, where it is in the video."""
    longest = _threshold(job, "max_silence_seconds")
    if found.longest_silence <= longest or found.longest_silence_at is None:
        return None
    at = (start or 0.0) + found.longest_silence_at
    numbers = (
        f"{found.longest_silence:.1f} s of silence, {found.longest_silence_at:.1f} s into the "
        f"slide's narration (this run allows {longest:g} s)"
    )
    return Word(f"long silence at {clock(at)}", "warn", numbers)


def slide_quality(
    found: SlideQuality | None, job: JobQuality | None, start: float | None = None
) -> QualityView:
    """One slide's words; its voice only where the voice was cloned (else the job says it)."""
    if found is None:
        return QualityView()
    if found.words and found.words_per_minute is None:
        words: list[Word | None] = [
            Word("no speech heard", "bad", f"{found.words} words in the notes")
        ]
    else:
        words = [
            voice_word(found.similarity, job) if cloned(job) else None,
            audio_word(found.dnsmos_ovrl, found.dnsmos_p808, found.clipping, job),
            pace_word(found.words_per_minute, job),
            silence_word(found, job, start),
        ]
    numbers = _numbers(found, _SLIDE_NUMBERS)
    if found.problems:
        numbers["below the run's thresholds"] = "; ".join(found.problems)
    return QualityView(tuple(w for w in words if w), numbers)


def job_quality(found: JobQuality | None) -> QualityView:
    """The job's words: which voice spoke (said once), its audio and pace over all slides, and
    how many slides a person should listen to."""
    if found is None:
        return QualityView()
    words = [
        voice_word(found.similarity, found),
        audio_word(found.dnsmos_ovrl, found.dnsmos_p808, found.clipping, found),
        pace_word(found.words_per_minute, found),
    ]
    flagged = _flagged_slides(found)
    if flagged:
        names = ", ".join(str(n) for n in flagged[:6]) + (" …" if len(flagged) > 6 else "")
        slides = "slide" if len(flagged) == 1 else "slides"
        words.append(Word(f"listen to {slides} {names}", "warn", "; ".join(found.warnings)))
    numbers = _numbers(found, _JOB_NUMBERS)
    if found.worst is not None:
        numbers["least clean slide"] = f"{found.worst.slide}: {found.worst.title}"
    numbers["checked"] = (
        f"{'passed' if found.passed else 'below the thresholds'} ({found.mode}), "
        f"{found.slides_scored} slides scored"
    )
    return QualityView(tuple(w for w in words if w), numbers)


def _flagged_slides(found: JobQuality) -> list[int]:
    """The PowerPoint numbers the warnings name (``slide 4: ...``), in order, once each."""
    numbers: list[int] = []
    for warning in found.warnings:
        head = warning.split(":", 1)[0].removeprefix("slide ").strip()
        if head.isdigit() and int(head) not in numbers:
            numbers.append(int(head))
    return numbers


# The numbers behind the words, labelled for a reader, in this order; absent ones are left out.
_SLIDE_NUMBERS = (
    ("similarity", "voice similarity", "{:.2f}"),
    ("dnsmos_ovrl", "DNSMOS overall", "{:.2f}"),
    ("dnsmos_p808", "DNSMOS P.808", "{:.2f}"),
    ("dnsmos_sig", "DNSMOS signal", "{:.2f}"),
    ("dnsmos_bak", "DNSMOS background", "{:.2f}"),
    ("words_per_minute", "words per minute", "{:.0f}"),
    ("longest_silence", "longest unasked silence (s)", "{:.1f}"),
    ("clipping", "clipped share", "{:.2%}"),
)
_JOB_NUMBERS = (
    ("voice", "voice that spoke", "{}"),
    ("similarity", "voice similarity", "{:.2f}"),
    ("base_similarity", "base voice similarity", "{:.2f}"),
    ("dnsmos_ovrl", "DNSMOS overall", "{:.2f}"),
    ("dnsmos_p808", "DNSMOS P.808", "{:.2f}"),
    ("words_per_minute", "words per minute", "{:.0f}"),
)


def _numbers(found: Any, names: tuple[tuple[str, str, str], ...]) -> dict[str, str]:
    shown = {}
    for name, label, form in names:
        value = getattr(found, name)
        if value is not None:
            shown[label] = form.format(value)
    return shown
