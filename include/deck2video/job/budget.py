"""What narration will cost, checked against the limits before any synthesis, and measured after.

Speaker notes and lexicons are untrusted: ``[PAUSE 60]`` a hundred times is a 100-minute video,
one lexicon entry can turn each word into a page. So prepare estimates every slide from its text
(as it will be spoken: numbers and lexicon entries spelled out) and refuses a deck over a limit
before rendering it; speak checks its slide again before synthesis and measures the audio after;
assemble measures the whole. A breach is an :class:`InputError` naming the slide and the limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from deck2video.config import Deployment, JobSettings, Limits
from deck2video.errors import InputError
from deck2video.lexicon import Lexicon
from deck2video.narration import Pause, Segment, Speech
from deck2video.pronounce import expand_for_speech, load_lexicon

# Faster than any voice reads at speed 1.0, so an estimate is a floor: a slide refused on its
# estimate would surely have been over the limit once spoken.
ESTIMATE_CHARS_PER_SECOND = 25.0


def estimate(
    label: str,
    segments: Sequence[Segment],
    *,
    settings: JobSettings,
    lexicon: Mapping[str, str],
    limits: Limits,
) -> float:
    """The slide's narration from its text, in seconds: it will be at least this long once
    spoken. Refuses what is over a per-slide limit as soon as the sentences read so far are."""
    pauses = sum(s.seconds for s in segments if isinstance(s, Pause))
    if pauses > limits.max_pause_seconds:
        raise InputError(
            f"{label}: [PAUSE] markers add up to {pauses:g} s, more than the limit of "
            f"{limits.max_pause_seconds:g} s per slide ({Limits.variable('max_pause_seconds')})"
        )
    spoken_chars = 0
    lexicon = Lexicon.of(lexicon)  # compiled once for all the slide's sentences
    for segment in segments:
        if isinstance(segment, Speech):
            spoken = len(expand_for_speech(segment.text, settings.language, lexicon))
            if spoken > limits.max_expanded_chars:
                raise InputError(
                    f"{label}: a sentence becomes {spoken} characters once numbers and the "
                    f"lexicon are spelled out, more than the limit of {limits.max_expanded_chars} "
                    f"({Limits.variable('max_expanded_chars')})"
                )
            spoken_chars += spoken
            check_slide_seconds(
                label, _seconds(pauses, spoken_chars, settings), limits, measured=False
            )
    return _seconds(pauses, spoken_chars, settings)


def _seconds(pauses: float, spoken_chars: int, settings: JobSettings) -> float:
    return pauses + spoken_chars / (ESTIMATE_CHARS_PER_SECOND * settings.speed)


def check_slide_seconds(label: str, seconds: float, limits: Limits, *, measured: bool) -> None:
    _check_seconds(label, seconds, limits, "max_slide_narration_seconds", "", measured=measured)


def check_job_seconds(what: str, seconds: float, limits: Limits, *, measured: bool) -> None:
    _check_seconds(what, seconds, limits, "max_job_narration_seconds", " in all", measured=measured)


def _check_seconds(
    what: str, seconds: float, limits: Limits, limit: str, scope: str, *, measured: bool
) -> None:
    allowed = getattr(limits, limit)
    if seconds > allowed:
        per = "per slide" if limit == "max_slide_narration_seconds" else "per job"
        raise InputError(
            f"{what}: narration {'is' if measured else 'estimated at'} {seconds:.0f} s{scope}, "
            f"more than the limit of {allowed:g} s {per} ({Limits.variable(limit)})"
        )


def narration_lexicon(
    settings: JobSettings, job_lexicon: dict[str, str], deployment: Deployment
) -> Lexicon:
    """The deployment's lexicon, then the job's own (which wins), compiled once for the job."""
    entries: dict[str, str] = {}
    if deployment.lexicon:
        entries.update(
            load_lexicon(Path(deployment.lexicon), settings.language, limits=deployment.limits)
        )
    entries.update(job_lexicon)
    return Lexicon(entries)
