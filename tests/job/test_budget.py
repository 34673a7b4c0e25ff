"""job/budget.py on hostile lexicons and long decks: bounded time, refused as soon as it is over."""

from __future__ import annotations

import time

import pytest

from bench.lexicon_bench import worst_lexicon, worst_notes
from deck2video.config import JobSettings, Limits
from deck2video.deck import Deck, Slide
from deck2video.errors import InputError
from deck2video.job.budget import estimate
from deck2video.job.prepare import _check_narration
from deck2video.lexicon import Lexicon
from deck2video.narration import narrate
from deck2video.pronounce import load_lexicon

# The regular-expression alternation this replaced took about 20 s per slide on this lexicon
# (bench/lexicon_bench.py); the trie about 0.3 s. A bound far above the one and far below the
# other holds on a busy machine and still fails if the cost grows with the entries again.
SECONDS_PER_WORST_SLIDE = 5.0


def test_a_worst_case_lexicon_costs_bounded_time_per_slide() -> None:
    limits, settings = Limits(), JobSettings()
    lexicon = load_lexicon(worst_lexicon(limits), settings.language, limits=limits)
    assert len(lexicon) == limits.max_lexicon_entries
    segments = narrate(worst_notes(limits), settings.silence_seconds)
    started = time.perf_counter()
    seconds = estimate("slide 1", segments, settings=settings, lexicon=lexicon, limits=limits)
    assert time.perf_counter() - started < SECONDS_PER_WORST_SLIDE
    assert seconds > 0


def _deck(*notes: str) -> Deck:
    slides = tuple(Slide(n, False, f"Slide {n}", text) for n, text in enumerate(notes, start=1))
    return Deck(slides, 9_144_000, 6_858_000, name="long.pptx")


def test_the_job_total_is_checked_after_each_slide() -> None:
    # Slide 2 takes the job over its total; slide 3 would be refused for another reason, so the
    # refusal seen shows that the estimate stopped at slide 2.
    sentence = "A sentence that takes a while to say out loud. " * 40  # ~75 s each
    blow_up = Lexicon({"boom": "b" * 199})
    deck = _deck(sentence, sentence, "boom " * 100 + ".")
    settings = JobSettings()
    limits = Limits(max_job_narration_seconds=100)
    with pytest.raises(InputError, match=r"^deck long.pptx: narration estimated at \d+ s in all"):
        _check_narration(deck, deck.shown(), settings, blow_up, limits)
    with pytest.raises(InputError, match="slide 3: a sentence becomes"):
        _check_narration(deck, deck.shown(), settings, blow_up, Limits())


def test_a_slide_is_refused_at_the_first_sentence_past_its_limit() -> None:
    settings, limits = JobSettings(), Limits(max_slide_narration_seconds=10)
    segments = narrate("Short one. " * 30 + "boom " * 100 + ".", settings.silence_seconds)
    blow_up = Lexicon({"boom": "b" * 199})
    with pytest.raises(InputError, match=r"^slide 4: narration estimated at \d+ s, more than"):
        estimate("slide 4", segments, settings=settings, lexicon=blow_up, limits=limits)
