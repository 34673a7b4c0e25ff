"""The lexicon matcher: whole words, longest first, exact case before any case, in linear time."""

from __future__ import annotations

import random
import re

import pytest

from deck2video.lexicon import Lexicon, WholeWords


def _by_regex(text: str, words: dict[str, str], *, ignore_case: bool) -> str:
    """What one regular-expression alternation (the matcher this replaces) makes of ``text``."""
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE if ignore_case else 0)
    spoken = {w.lower() if ignore_case else w: s for w, s in words.items()}
    return pattern.sub(lambda m: f"<{spoken[m[0].lower() if ignore_case else m[0]]}>", text)


@pytest.mark.parametrize("ignore_case", [False, True])
def test_whole_words_finds_what_the_alternation_found(ignore_case: bool) -> None:
    rng = random.Random(21)
    alphabet = "aAbB .,_#-é1"
    for _ in range(300):
        words = {
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))): str(k)
            for k in range(rng.randint(1, 6))
        }
        if ignore_case:  # loose entries are written in lower case
            words = {w.lower(): s for w, s in words.items()}
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        found = WholeWords(words, ignore_case=ignore_case).sub(text, lambda s: f"<{s}>")
        assert found == _by_regex(text, words, ignore_case=ignore_case), (text, words)


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("New York and new york", "<NY> and <ny>"),  # the exact entry first, then any case
        ("New Yorker", "New Yorker"),  # whole words only
        ("a New York-based firm", "a <NY>-based firm"),
        ("C# and c#", "<see sharp> and <see sharp>"),
        ("U.S.A. not U.S.", "<usa> not <us>"),  # the longest entry at a start wins
    ],
)
def test_lexicon_applies_exact_entries_then_loose_ones(text: str, spoken: str) -> None:
    lexicon = Lexicon(
        {"New York": "NY", "new york": "ny", "c#": "see sharp", "u.s.a.": "usa", "u.s.": "us"}
    )
    assert lexicon.apply(text, lambda s: f"<{s}>") == spoken
    assert dict(lexicon) == {
        "New York": "NY",
        "new york": "ny",
        "c#": "see sharp",
        "u.s.a.": "usa",
        "u.s.": "us",
    }
    assert Lexicon.of(lexicon) is lexicon
    assert not Lexicon.of(None)
