"""Judging the measures: which slides DNSMOS P.835 hears, which thresholds a slide misses, and
the job's figures and summary line."""

from __future__ import annotations

from collections.abc import Sequence

from deck2video.config import QualitySettings
from deck2video.manifest import (
    VOICE_CONVERTED,
    JobQuality,
    SlideQuality,
    SlideRecord,
    WorstSlide,
)

# P.808 scores above P.835's overall: by 0.3 (silence) to 1.0 (white noise) on the audio the tests
# make, 0.55 on Piper. A slide whose P.808 is at least this far above the run's DNSMOS threshold
# passes it; any other is heard by P.835 too, and judged on that.
P835_SCREEN_MARGIN = 1.0
# Slides heard by P.835 whatever their P.808 (the first, middle and last spoken ones): the
# job's signal and background figures come from them.
P835_SAMPLE = 3
# Fewer words than this give no meaningful rate ("Thank you."): recorded, not judged.
MIN_RATE_WORDS = 8


def needs_p835(slides: Sequence[SlideRecord], thresholds: QualitySettings) -> list[int]:
    """The slide numbers P.835 should hear: each whose P.808 does not clear the DNSMOS
    threshold by :data:`P835_SCREEN_MARGIN`, and the first, middle and last scored ones."""
    scored = [(s.number, s.quality.dnsmos_p808) for s in slides
              if s.quality is not None and s.quality.dnsmos_p808 is not None]  # fmt: skip
    picks = {scored[round(i * (len(scored) - 1) / max(1, P835_SAMPLE - 1))][0]
             for i in range(P835_SAMPLE)} if scored else set()  # fmt: skip
    screen = thresholds.min_dnsmos + P835_SCREEN_MARGIN
    picks |= {number for number, p808 in scored if p808 < screen}
    return sorted(picks)


def problems(
    measured: SlideQuality, thresholds: QualitySettings, *, cloned: bool = True
) -> list[str]:
    """Each threshold this slide misses, as one line with its score and the threshold.
    Without cloning (``cloned`` False) every slide is the same voice, not the presenter's: its
    distance is the job's to say once (:func:`summarise`), not each slide's."""
    found = []
    if measured.words and measured.words_per_minute is None:
        found.append(f"no speech, where the notes have {measured.words} words")
    if measured.words_per_minute is not None and measured.similarity is None:
        found.append("no voice: the speaker encoder hears none in the narration")
    similar = measured.similarity
    if cloned and similar is not None and similar < thresholds.min_similarity:
        found.append(f"voice similarity {similar:.2f} < {thresholds.min_similarity:g}")
    if measured.dnsmos_ovrl is not None and measured.dnsmos_ovrl < thresholds.min_dnsmos:
        found.append(f"DNSMOS overall {measured.dnsmos_ovrl:.2f} < {thresholds.min_dnsmos:g}")
    rate = measured.words_per_minute
    if rate is not None and measured.words >= MIN_RATE_WORDS:
        if rate < thresholds.min_wpm:
            found.append(f"{rate:.0f} words/min < {thresholds.min_wpm:g}")
        elif rate > thresholds.max_wpm:
            found.append(f"{rate:.0f} words/min > {thresholds.max_wpm:g}")
    silent_through = measured.words and measured.words_per_minute is None  # said above
    if measured.longest_silence > thresholds.max_silence_seconds and not silent_through:
        found.append(
            f"{measured.longest_silence:.1f} s of silence at {measured.longest_silence_at:.1f} s "
            f"that no [PAUSE] asked for > {thresholds.max_silence_seconds:g} s"
        )
    return found


def summarise(
    slides: Sequence[SlideRecord],
    durations: dict[int, float],
    thresholds: QualitySettings,
    base_similarity: float | None = None,
    voice: str | None = None,
) -> JobQuality:
    """The job's quality from its slides' (``slide.quality`` set; ``durations`` by slide
    number weight the means), with every problem named by PowerPoint slide number. ``voice``
    says which voice spoke; any but "converted" is judged on similarity once, for the job."""
    scored = [s for s in slides if s.quality is not None]
    weights = {s.number: max(durations.get(s.number, 0.0), 1e-3) for s in scored}

    def mean(name: str) -> float | None:
        values = [(getattr(s.quality, name), weights[s.number]) for s in scored]
        values = [(v, w) for v, w in values if v is not None]
        if not values:
            return None
        return round(sum(v * w for v, w in values) / sum(w for _, w in values), 4)

    measured = [(s, _measured(s)) for s in scored]
    words = sum(q.words for _, q in measured if q.words_per_minute is not None)
    speech = sum(q.speech_seconds for _, q in measured if q.words_per_minute is not None)
    warnings = [f"slide {s.source_index}: {p}" for s, q in measured for p in q.problems]
    similar = mean("similarity")
    cloned = voice in (None, VOICE_CONVERTED)
    if not cloned and similar is not None and similar < thresholds.min_similarity:
        warnings.insert(0, _far_voice(voice, similar, thresholds.min_similarity))
    return JobQuality(
        mode=thresholds.quality_mode,
        thresholds={k: v for k, v in thresholds.to_dict().items() if k != "quality_mode"},
        passed=not warnings,
        slides_scored=len(scored),
        similarity=similar,
        base_similarity=base_similarity,
        dnsmos_p808=mean("dnsmos_p808"),
        dnsmos_sig=mean("dnsmos_sig"),
        dnsmos_bak=mean("dnsmos_bak"),
        dnsmos_ovrl=mean("dnsmos_ovrl"),
        dnsmos_slides=sum(1 for _, q in measured if q.dnsmos_ovrl is not None),
        words_per_minute=round(words / speech * 60, 1) if speech else None,
        longest_silence=max((q.longest_silence for _, q in measured), default=0.0),
        clipping=mean("clipping") or 0.0,
        worst=_lowest(scored, "dnsmos_ovrl"),
        least_similar=_lowest(scored, "similarity"),
        warnings=warnings,
        voice=voice,
    )


def _measured(slide: SlideRecord) -> SlideQuality:
    """The quality of a slide known to be scored."""
    assert slide.quality is not None
    return slide.quality


def _far_voice(voice: str | None, similar: float, minimum: float) -> str:
    return (
        f"voice: no converter is configured, and the {voice} is far from the presenter's "
        f"(similarity {similar:.2f} < {minimum:g}; DECK2VIDEO_OPENVOICE_DIR enables cloning)"
    )


def _lowest(slides: Sequence[SlideRecord], name: str) -> WorstSlide | None:
    rated = [s for s in slides if getattr(s.quality, name) is not None]
    if not rated:
        return None
    worst = min(rated, key=lambda s: getattr(s.quality, name))
    quality = _measured(worst)
    return WorstSlide(
        slide=worst.source_index,
        title=worst.title,
        dnsmos_ovrl=quality.dnsmos_ovrl,
        similarity=quality.similarity,
        problems=list(quality.problems),
    )


def summary_line(quality: JobQuality) -> str:
    """``similarity 0.61 (matched base voice; base voice 0.45), DNSMOS 3.31, 163 words/min;
    worst: slide 7 (DNSMOS 1.20)``."""
    spoken = [quality.voice] if quality.voice is not None else []
    if quality.base_similarity is not None:
        spoken.append(f"base voice {quality.base_similarity:.2f}")
    parts = [
        f"similarity {_number(quality.similarity)}" + (f" ({'; '.join(spoken)})" if spoken else ""),
        f"DNSMOS {_number(quality.dnsmos_ovrl)} (P.808 {_number(quality.dnsmos_p808)})",
        f"{quality.words_per_minute:.0f} words/min"
        if quality.words_per_minute is not None
        else "rate -",
    ]
    line = ", ".join(parts)
    if quality.worst is not None:
        worst = quality.worst
        line += f"; worst: slide {worst.slide} (DNSMOS {_number(worst.dnsmos_ovrl)})"
    if quality.warnings:
        verdict = "failed" if quality.mode == "fail" else "warnings"
        line += f"; {len(quality.warnings)} {verdict} (mode {quality.mode})"
    return line


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
