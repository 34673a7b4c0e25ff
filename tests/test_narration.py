"""narration: notes -> Speech/Pause segments (markers, normalisation, sentence chunks)."""

from __future__ import annotations

import re

import pytest

from deck2video import samples
from deck2video.narration import (
    MAX_CHUNK_CHARS,
    Pause,
    Speech,
    chunk_text,
    click_points,
    is_silent,
    narrate,
    normalise,
    split_sentences,
)


@pytest.mark.parametrize(
    "notes",
    ["", "   ", "\n\t\n", "[SILENCE]", "[silence]", "  [Silence]  \n", "[ SILENCE ]", "•\n- \n*"],
)
def test_nothing_to_say_becomes_one_silence(notes: str) -> None:
    assert narrate(notes, silence_seconds=2.5) == [Pause(2.5)]
    assert is_silent(notes)


@pytest.mark.parametrize(
    ("notes", "silent"),
    [
        ("Hello there, everyone.", False),
        ("[PAUSE 2]", True),
        ("[SILENCE] but then words", False),
        ("\u200b\u200b", True),
        ("—", True),
    ],
)
def test_is_silent(notes: str, silent: bool) -> None:
    assert is_silent(notes) is silent


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        (
            "First part of the talk. [PAUSE 1.5] Second part of the talk.",
            [Speech("First part of the talk."), Pause(1.5), Speech("Second part of the talk.")],
        ),
        (
            "Let us wait a moment [PAUSE] and carry on afterwards.",
            [Speech("Let us wait a moment."), Pause(1.0), Speech("and carry on afterwards.")],
        ),
        ("[pause 2]Starting after a pause.", [Pause(2.0), Speech("Starting after a pause.")]),
        ("[PAUSE 2s] [PAUSE 0,5]", [Pause(2.5)]),  # adjacent pauses merge; comma decimals
        ("Ends with a pause here. [PAUSE 0]", [Speech("Ends with a pause here.")]),
        ("Way too long a pause. [PAUSE 9999]", [Speech("Way too long a pause."), Pause(60.0)]),
        (
            "Before the quiet part. [SILENCE] After the quiet part.",
            [Speech("Before the quiet part."), Pause(3.0), Speech("After the quiet part.")],
        ),
    ],
)
def test_pause_markers_become_pauses_in_order(notes: str, expected: list) -> None:
    assert narrate(notes, silence_seconds=3.0) == expected


@pytest.mark.parametrize(
    ("notes", "lines"),
    [
        ("  many    spaces\there  ", ["many spaces here."]),
        (
            "• first point\n▪ second point\n◦ third\n‣ fourth",
            ["first point.", "second point.", "third.", "fourth."],
        ),
        ("- dash item\n– en dash item\n* star item", ["dash item.", "en dash item.", "star item."]),
        ("1. numbered stays\n2) also stays", ["1. numbered stays.", "2) also stays."]),
        ("-5 degrees outside", ["-5 degrees outside."]),
        ("Fast • cheap • good", ["Fast, cheap, good."]),
        ("\u201cQuoted\u201d and \u2018single\u2019 it\u2019s", ["\"Quoted\" and 'single' it's."]),
        ("zero\u200bwidth\u200d joiner\ufeff", ["zerowidth joiner."]),
        ("no\u00a0break space", ["no break space."]),
        ("Line one\vline two\r\nline three", ["Line one.", "line two.", "line three."]),
        (
            "Heading without stop\n\nParagraph ends properly!",
            ["Heading without stop.", "Paragraph ends properly!"],
        ),
        ("Intro line:\nKeeps its colon", ["Intro line:", "Keeps its colon."]),
        ("Café Zürich — naïve façade, 4 €", ["Café Zürich — naïve façade, 4 €."]),
        ("Cafe\u0301 decomposed", ["Café decomposed."]),  # NFC: one code point for é
    ],
)
def test_normalise(notes: str, lines: list[str]) -> None:
    assert normalise(notes) == lines


@pytest.mark.parametrize(
    ("line", "sentences"),
    [
        (
            "One sentence. Another one! A third? Yes…",
            ["One sentence.", "Another one!", "A third?", "Yes…"],
        ),
        ("Pi is about 3.14 and e is 2.718. Good.", ["Pi is about 3.14 and e is 2.718.", "Good."]),
        ("Ask Dr. Smith, e.g. by mail. Then wait.", ["Ask Dr. Smith, e.g. by mail.", "Then wait."]),
        ("The U.S. office, i.e. Boston. Fine.", ["The U.S. office, i.e. Boston.", "Fine."]),
        ("Apples, pears, etc. and more. Done.", ["Apples, pears, etc. and more.", "Done."]),
        ("See No. 5 on p. 12 today. Next.", ["See No. 5 on p. 12 today.", "Next."]),
        ("The answer is no. Next question.", ["The answer is no.", "Next question."]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("Wait... what happened?", ["Wait...", "what happened?"]),
        ("J. R. R. Tolkien wrote books.", ["J. R. R. Tolkien wrote books."]),
    ],
)
def test_split_sentences(line: str, sentences: list[str]) -> None:
    assert split_sentences(line) == sentences


def test_short_fragments_merge_with_neighbours() -> None:
    assert chunk_text("Hi. Thanks for coming to this talk today. Bye.") == [
        "Hi. Thanks for coming to this talk today. Bye."
    ]
    assert chunk_text("1. Open the slide deck\n2. Render every slide") == [
        "1. Open the slide deck.",
        "2. Render every slide.",
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        ", ".join(f"clause number {i} of a very long sentence" for i in range(20)) + ".",
        " ".join(["word"] * 200) + ".",
        "x" * 700,
        "; ".join(["semicolon separated part"] * 30),
    ],
)
def test_long_sentences_are_hard_split(sentence: str) -> None:
    chunks = chunk_text(sentence)
    assert len(chunks) > 1
    assert all(0 < len(c) <= MAX_CHUNK_CHARS for c in chunks)
    # Nothing is lost or reordered: only whitespace may change at the cuts.
    assert re.sub(r"\s", "", "".join(chunks)) == re.sub(r"\s", "", normalise(sentence)[0])


def test_clause_split_prefers_commas() -> None:
    sentence = ", ".join(f"clause number {i} of a very long sentence" for i in range(20)) + "."
    for chunk in chunk_text(sentence)[:-1]:
        assert chunk.endswith(",")


@pytest.mark.parametrize("spec", samples.DEMO_SLIDES, ids=lambda s: s.title)
def test_demo_notes_give_valid_segments(spec: samples.SampleSlide) -> None:
    segments = narrate(spec.notes)
    assert segments
    for segment in segments:
        if isinstance(segment, Speech):
            assert segment.text.strip() == segment.text
            assert re.search(r"\w", segment.text)
            assert len(segment.text) <= MAX_CHUNK_CHARS
            assert "•" not in segment.text
            assert "\u201c" not in segment.text
            assert not re.search(r"\s{2,}", segment.text)
        else:
            assert segment.seconds > 0


def test_long_demo_note_keeps_its_words_in_order() -> None:
    long_note = max((s.notes for s in samples.DEMO_SLIDES), key=len)
    segments = narrate(long_note)
    speech = [s.text for s in segments if isinstance(s, Speech)]
    assert len(speech) >= 10
    assert Pause(0.5) in segments
    assert any("3.14" in text for text in speech)
    assert any("U.S. office" in text for text in speech)

    def words(text: str) -> list[str]:
        return re.findall(r"\w+", text)

    spoken = [w for text in speech for w in words(text)]
    assert spoken == words(re.sub(r"\[PAUSE[^\]]*\]", " ", long_note))


def test_splitting_is_linear_in_the_length_of_the_notes() -> None:
    """A megabyte of "a. " took 29 s when each sentence end rescanned the line (quadratic); a
    generous bound here, the figure itself is in the report."""
    import time

    for hostile in ("a. " * 350_000, "x" * 1_000_000 + ".", "[pause " * 150_000, "a" + " " * 10**6):
        started = time.process_time()
        chunks = chunk_text(hostile) if not hostile.startswith("[") else narrate(hostile)
        assert chunks
        assert time.process_time() - started < 10, hostile[:10]


def test_click_markers_are_never_spoken_and_change_nothing_that_is() -> None:
    marked = "Here is the plan. [CLICK] First, we gather. [click] Then we build.[ CLICK ]Done!"
    plain = "Here is the plan. First, we gather. Then we build. Done!"
    assert narrate(marked) == narrate(plain)
    assert "click" not in " ".join(s.text for s in narrate(marked) if isinstance(s, Speech))
    assert narrate("[CLICK]") == [Pause(1.0)]


@pytest.mark.parametrize(
    ("notes", "points"),
    [
        ("No markers here.", []),
        ("[CLICK] Start at once. And go on.", [0]),
        ("One sentence here. [CLICK] Two sentences there. [PAUSE 2] [CLICK] Three.", [1, 2]),
        ("A first sentence ends here. [CLICK]", [1]),
        ("[CLICK][CLICK] Both before anything was said.", [0, 0]),
    ],
)
def test_click_points_count_the_chunks_spoken_before_each_marker(notes: str, points) -> None:
    assert click_points(notes) == points


def test_click_points_are_linear_in_the_number_of_markers() -> None:
    notes = "Some words to say here. [CLICK] " * 20_000
    assert click_points(notes)[-1] == 20_000
