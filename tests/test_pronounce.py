"""Pronunciation control: what the narrator says for numbers, money, abbreviations, lexicons."""

from __future__ import annotations

from pathlib import Path

import pytest

from deck2video.errors import InputError
from deck2video.pronounce import (
    PronouncingBackend,
    cardinal,
    expand_for_speech,
    load_lexicon,
    ordinal,
    year,
)


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (40, "forty"),
        (42, "forty-two"),
        (100, "one hundred"),
        (105, "one hundred five"),
        (999, "nine hundred ninety-nine"),
        (10_000, "ten thousand"),
        (12_345, "twelve thousand three hundred forty-five"),
        (1_000_001, "one million one"),
        (2_500_000_000, "two billion five hundred million"),
        (-3, "minus three"),
    ],
)
def test_cardinal(n: int, words: str) -> None:
    assert cardinal(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (5, "fifth"),
        (12, "twelfth"),
        (20, "twentieth"),
        (21, "twenty-first"),
        (100, "one hundredth"),
        (123, "one hundred twenty-third"),
    ],
)
def test_ordinal(n: int, words: str) -> None:
    assert ordinal(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1999, "nineteen ninety-nine"),
        (2024, "twenty twenty-four"),
        (2000, "two thousand"),
        (2007, "two thousand seven"),
        (2010, "twenty ten"),
        (1900, "nineteen hundred"),
        (1905, "nineteen oh five"),
        (1066, "ten sixty-six"),
    ],
)
def test_year(n: int, words: str) -> None:
    assert year(n) == words


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        # numbers
        ("We have 3 offices.", "We have three offices."),
        ("We sold 12,345 units.", "We sold twelve thousand three hundred forty-five units."),
        ("Over 250000 users", "Over two hundred fifty thousand users"),
        ("Pi is 3.14.", "Pi is three point one four."),
        ("It fell to -5 today", "It fell to minus five today"),
        ("Agent 007", "Agent zero zero seven"),
        ("10x faster", "ten times faster"),
        ("5k users and 2.5M downloads", "five thousand users and two point five million downloads"),
        ("Items 1, 2, 3", "Items one, two, three"),
        ("A 16:9 slide", "A 16:9 slide".replace("16:9", "sixteen:nine")),
        # ordinals
        ("the 1st, 2nd, 3rd and 22nd", "the first, second, third and twenty-second"),
        ("our 100th customer", "our one hundredth customer"),
        # years and decades
        (
            "Founded in 1999, public in 2024.",
            "Founded in nineteen ninety-nine, public in twenty twenty-four.",
        ),
        ("Since 2005", "Since two thousand five"),
        ("In the 1990s and the '80s", "In the nineteen nineties and the eighties"),
        ("From 2019-2024", "From twenty nineteen to twenty twenty-four"),
        ("10–20 people", "ten to twenty people"),
        # currencies
        ("Raised $1.5 million.", "Raised one point five million dollars."),
        ("Costs €20.", "Costs twenty euros."),
        ("Only £3.50!", "Only three pounds and fifty pence!"),
        ("Just $0.99", "Just ninety-nine cents"),
        ("$1 each", "one dollar each"),
        ("$1.01", "one dollar and one cent"),
        ("$2.5 per unit", "two point five dollars per unit"),
        ("$5M ARR", "five million dollars ARR"),
        ("a $2bn market", "a two billion dollars market"),
        ("$10k budget", "ten thousand dollars budget"),
        ("$1,200,000", "one million two hundred thousand dollars"),
        ("¥100", "one hundred yen"),
        ("-$5 loss", "minus five dollars loss"),
        # percentages
        ("Up 12%.", "Up twelve percent."),
        ("Margins of 3.5 %", "Margins of three point five percent"),
        ("+3% and -2.5%", "plus three percent and minus two point five percent"),
        # times
        ("at 10:30 or 9:05", "at ten thirty or nine oh five"),
        ("by 10:00", "by ten o'clock"),
        # abbreviations
        ("Sold in the US and the U.S.A.", "Sold in the U S and the U S A."),
        ("Let us go.", "Let us go."),
        ("the U.K. and the EU", "the U K and the E U"),
        ("fruit, e.g. apples", "fruit, for example apples"),
        ("E.g. apples", "For example apples"),
        ("one, i.e. this", "one, that is this"),
        ("apples, pears, etc.", "apples, pears, et cetera."),
        ("apples, etc. and more", "apples, et cetera and more"),
        ("Python vs. Java vs Go", "Python versus Java versus Go"),
        ("Dr. Smith and Mr. Jones", "Doctor Smith and Mister Jones"),
        ("R&D & sales", "R&D and sales"),
        ("No. 5 and no. 7", "Number five and number seven"),
        ("No. We won't.", "No. We won't."),
        ("We're #1", "We're number one"),
        ("approx. 40 people", "approximately forty people"),
        # left alone
        ("version v1.2", "version v1.2"),
        ("", ""),
    ],
)
def test_expand_for_speech_english(written: str, spoken: str) -> None:
    assert expand_for_speech(written) == spoken


def test_other_languages_only_get_the_lexicon() -> None:
    text = "Le SQL coûte 20 € en 2024."
    assert expand_for_speech(text, "fr") == text
    assert expand_for_speech(text, "fr", {"SQL": "esse cu elle"}) == (
        "Le esse cu elle coûte 20 € en 2024."
    )


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        # lower-case entries match any capitalisation; capitalised ones match exactly
        ("nginx, Nginx and NGINX", "engine x, engine x and engine x"),
        ("SQL but not sql", "sequel but not sql"),
        # whole words only
        ("nginxes are not nginx", "nginxes are not engine x"),
        # entries may contain punctuation
        ("We use C# and Node.js", "We use see sharp and node J S"),
        # the lexicon comes first and wins over the built-in rules
        ("the US team", "the you ess team"),
        ("In Q3 2024", "In third quarter twenty twenty-four"),
        # its replacements are not rewritten by the built-in rules
        ("See K8s", "See kates 8"),
    ],
)
def test_lexicon_entries(written: str, spoken: str) -> None:
    lexicon = {
        "nginx": "engine x",
        "SQL": "sequel",
        "C#": "see sharp",
        "Node.js": "node J S",
        "US": "you ess",
        "Q3": "third quarter",
        "K8s": "kates 8",
    }
    assert expand_for_speech(written, "en", lexicon) == spoken


LEXICON = """\
# Pronunciations for our product decks
nginx = engine x
SQL = sequel   # not "S Q L"
[en]
Kubernetes\tkoo-ber-net-eez
[en-gb]
schedule = shed-yool
[fr]
SQL = esse cu elle
"""


@pytest.mark.parametrize(
    ("language", "entries"),
    [
        ("en", {"nginx": "engine x", "SQL": "sequel", "Kubernetes": "koo-ber-net-eez"}),
        ("en-US", {"nginx": "engine x", "SQL": "sequel", "Kubernetes": "koo-ber-net-eez"}),
        (
            "en_GB",
            {
                "nginx": "engine x",
                "SQL": "sequel",
                "Kubernetes": "koo-ber-net-eez",
                "schedule": "shed-yool",
            },
        ),
        ("fr", {"nginx": "engine x", "SQL": "esse cu elle"}),
        ("de", {"nginx": "engine x", "SQL": "sequel"}),
    ],
)
def test_load_lexicon_sections(language: str, entries: dict[str, str]) -> None:
    assert load_lexicon(LEXICON, language) == entries


def test_load_lexicon_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.txt"
    path.write_text("\ufeffnginx = engine x\n", encoding="utf-8")  # a BOM from Notepad
    assert load_lexicon(path) == {"nginx": "engine x"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Line numbers only: a lexicon's text never appears in a message.
        ("nginx engine x\n", r"^lexicon line 1: expected 'written = spoken'$"),
        ("# c\n = spoken\n", r"^lexicon line 2: expected 'written = spoken'$"),
        ("nginx =\n", r"^lexicon line 1: expected 'written = spoken'$"),
        ("[en]\nSQL = a\nSQL = b\n", r"^lexicon line 3: defined twice$"),
        ("a = b\nKEY=\x00secret\n", r"^lexicon line 2: control characters \(not a text lexicon\)$"),
        (f"nginx = {'x' * 201}\n", r"^lexicon line 1: 201 characters, more than the limit of 200 "),
        ("".join(f"w{i} = s\n" for i in range(5001)), r"^lexicon: more than 5000 entries "),
    ],
)
def test_load_lexicon_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as refused:
        load_lexicon(text)
    assert "secret" not in str(refused.value)
    assert "nginx" not in str(refused.value)


def test_load_lexicon_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_lexicon(tmp_path / "missing.txt")
    binary = tmp_path / "words.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match=r"^lexicon words.txt: not UTF-8 text$"):
        load_lexicon(binary)


class EchoBackend:
    name = "echo"
    model_version = "echo-1"
    embedding_name = "en-us"

    def __init__(self) -> None:
        self.heard: list[tuple[str, float]] = []

    def synthesize(self, text: str, *, speed: float) -> str:
        self.heard.append((text, speed))
        return text


def test_pronouncing_backend_speaks_the_expanded_text() -> None:
    base = EchoBackend()
    backend = PronouncingBackend(base, "en-us", {"SQL": "sequel"})
    assert backend.synthesize("SQL costs $5.", speed=1.5) == "sequel costs five dollars."
    assert base.heard == [("sequel costs five dollars.", 1.5)]
    assert backend.spoken_form("SQL costs $5.") == "sequel costs five dollars."  # what pages show
    assert (backend.name, backend.embedding_name) == ("echo", "en-us")


def test_pronouncing_backend_version_follows_language_and_lexicon() -> None:
    base = EchoBackend()
    plain = PronouncingBackend(base, "en").model_version
    assert plain.startswith("echo-1+pronounce")
    assert PronouncingBackend(base, "en-gb").model_version == plain  # same rules for all English
    assert PronouncingBackend(base, "fr").model_version != plain
    assert PronouncingBackend(base, "en", {"SQL": "sequel"}).model_version != plain
