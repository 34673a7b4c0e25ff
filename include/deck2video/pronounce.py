"""Pronunciation control: turn written English into what a narrator would say.

TTS front ends guess at "$1.5M", "2024", "U.S." or "e.g." and often guess wrong (or differently
per backend), so the text is spelled out before it reaches the engine. Captions keep the written
form: apply :func:`expand_for_speech` to the text handed to the backend, not to the cue text.

A user lexicon comes first and wins: its replacements are protected from every later rule.

Lexicon file format (UTF-8 text; one file can serve several languages)::

    # comment lines start with '#'; blank lines are ignored
    nginx = engine x            # entries before any section apply to every language
    SQL = sequel
    [en]                        # this section applies to English (en, en-us, en-gb, ...)
    Kubernetes = koo-ber-net-eez
    [en-gb]                     # a regional section overrides its language's entries
    schedule = shed-yool
    [fr]
    SQL = esse cu elle

Each entry is ``written = spoken``, or ``written<TAB>spoken`` (so a TSV exported from a
spreadsheet works). An entry written in lower case matches any capitalisation; one with a
capital letter matches that exact spelling ("US" but not "us"). Matches are whole words.

Over 400 lines: most of it is the tables of spoken forms (numbers, currencies, units,
abbreviations); the matching of a lexicon lives in :mod:`deck2video.lexicon`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deck2video.config import Limits
from deck2video.errors import InputError
from deck2video.lexicon import Lexicon

if TYPE_CHECKING:  # speech imports this module: the protocol is for the type checker only
    from deck2video.speech import Backend

__all__ = [
    "PronouncingBackend",
    "cardinal",
    "expand_for_speech",
    "load_lexicon",
    "ordinal",
    "year",
]

# Bump whenever a built-in rule changes what is said for some text: it is part of the model
# version of a PronouncingBackend, so cached audio spoken under the old rules is not reused.
RULES_VERSION = 1

# --- number words -------------------------------------------------------------------------------

_ONES = [
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen"),
]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
# Past this, a "number" is an identifier (an order number, a phone number): read its digits.
_MAX_CARDINAL = 10**15 - 1

_IRREGULAR_ORDINALS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def cardinal(n: int) -> str:
    """American English: 1234 -> "one thousand two hundred thirty-four" (no "and")."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n > _MAX_CARDINAL:
        return digits(str(n))
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {cardinal(rest)}" if rest else "")
    for size, name in _SCALES:
        if n >= size:
            high, rest = divmod(n, size)
            return f"{cardinal(high)} {name}" + (f" {cardinal(rest)}" if rest else "")
    raise AssertionError(n)  # unreachable: every n >= 1000 has a scale


def ordinal(n: int) -> str:
    """1 -> "first", 22 -> "twenty-second", 100 -> "one hundredth"."""
    words = cardinal(n)
    head, sep, last = max(words.rpartition(" "), words.rpartition("-"), key=lambda p: len(p[0]))
    if last in _IRREGULAR_ORDINALS:
        last = _IRREGULAR_ORDINALS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def digits(text: str) -> str:
    """Read a digit string one digit at a time: "007" -> "zero zero seven"."""
    return " ".join(_ONES[int(d)] for d in text if d.isdigit())


def year(n: int) -> str:
    """Read a year the way people say it: 1999 -> "nineteen ninety-nine", 2024 -> "twenty
    twenty-four", 2005 -> "two thousand five", 1905 -> "nineteen oh five"."""
    high, low = divmod(n, 100)
    if n < 1000 or 2000 <= n <= 2009:
        return cardinal(n)
    if low == 0:
        return f"{cardinal(high)} hundred"
    if low < 10:
        return f"{cardinal(high)} oh {cardinal(low)}"
    return f"{cardinal(high)} {cardinal(low)}"


def _plural(words: str) -> str:
    """ "nineteen ninety" -> "nineteen nineties" (for decades: 1990s, 80s)."""
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def _decimal(integer: str, fraction: str) -> str:
    """ "3", "14" -> "three point one four"; digits after the point are read one by one."""
    return f"{_integer(integer)} point {digits(fraction)}"


def _integer(text: str) -> str:
    """A written integer, commas allowed; leading zeros make it an identifier ("007")."""
    plain = text.replace(",", "")
    if len(plain) > 1 and plain.startswith("0"):
        return digits(plain)
    return cardinal(int(plain))


# --- currencies ---------------------------------------------------------------------------------

# symbol -> (one unit, many units, one hundredth, many hundredths); "" = no minor unit named.
_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "", ""),
    "₹": ("rupee", "rupees", "paisa", "paise"),
}
_SCALE_SUFFIXES = {
    "k": "thousand",
    "thousand": "thousand",
    "m": "million",
    "mn": "million",
    "million": "million",
    "b": "billion",
    "bn": "billion",
    "billion": "billion",
    "t": "trillion",
    "tn": "trillion",
    "trillion": "trillion",
}
_NUMBER = r"\d{1,3}(?:,\d{3})+|\d+"
_AMOUNT = rf"(?P<int>{_NUMBER})(?:\.(?P<frac>\d+))?"  # 1,234.56
_CURRENCY_RE = re.compile(
    rf"(?<![\w.])(?P<sign>-)?(?P<symbol>[$€£¥₹])\s?{_AMOUNT}"
    # "$5m" / "$2bn" (a letter right after the digits) or "$1.5 million" (a word)
    r"(?:(?P<letter>mn|bn|tn|[kKmMbBtT])\b|\s?(?P<word>thousand|million|billion|trillion)\b)?"
)


def _say_currency(match: re.Match[str]) -> str:
    one, many, minor_one, minor_many = _CURRENCIES[match["symbol"]]
    integer, fraction = match["int"], match["frac"]
    sign = "minus " if match["sign"] else ""
    if match["letter"] or match["word"]:
        scale = _SCALE_SUFFIXES[(match["letter"] or match["word"]).lower()]
        fraction = (fraction or "").rstrip("0")
        amount = _decimal(integer, fraction) if fraction else _integer(integer)
        return f"{sign}{amount} {scale} {many}"
    whole = int(integer.replace(",", ""))
    if fraction is None or (len(fraction) != 2 and fraction.strip("0")) or not minor_many:
        # Not a two-digit minor amount ($2.5, ¥3.14): say the number, then the currency.
        amount = _decimal(integer, fraction) if fraction else _integer(integer)
        unit = one if whole == 1 and not fraction else many
        return f"{sign}{amount} {unit}"
    cents = int(fraction.ljust(2, "0")[:2])
    parts = []
    if whole or not cents:
        parts.append(f"{_integer(integer)} {one if whole == 1 else many}")
    if cents:
        parts.append(f"{cardinal(cents)} {minor_one if cents == 1 else minor_many}")
    return sign + " and ".join(parts)


# --- other patterns -----------------------------------------------------------------------------

_PERCENT_RE = re.compile(rf"(?<![\w.])(?P<sign>[-+])?{_AMOUNT}\s?%")
_ORDINAL_RE = re.compile(r"(?<![\w.])(?P<n>\d+)(?P<suffix>st|nd|rd|th)\b", re.IGNORECASE)
_DECADE_RE = re.compile(r"(?<![\w.])(?:'|’)?(?P<n>\d{2}|1\d{3}|20\d{2})'?s\b")
_YEAR_RANGE_RE = re.compile(r"(?<![\w.])(?P<a>1[1-9]\d{2}|20\d{2})[-–](?P<b>1[1-9]\d{2}|20\d{2})\b")
_RANGE_RE = re.compile(rf"(?<![\w.])(?P<a>{_NUMBER})\s?–\s?(?P<b>{_NUMBER})(?![\d.,]\d)")
_YEAR_RE = re.compile(r"(?<![\w.,$€£¥₹])(?P<n>1[1-9]\d{2}|20\d{2})(?![\w%]|[.,]\d)")
_TIME_RE = re.compile(r"(?<![\w.:])(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?![\d:])")
_TIMES_RE = re.compile(rf"(?<![\w.]){_AMOUNT}x\b")
_SCALED_RE = re.compile(rf"(?<![\w.]){_AMOUNT}(?P<letter>[kK]|M|B|bn)\b")
_NUMBER_RE = re.compile(rf"(?<![\w.])(?P<sign>-(?=\d))?{_AMOUNT}(?!\d)")


def _say_amount(match: re.Match[str]) -> str:
    """The unsigned number in an _AMOUNT match."""
    integer, fraction = match["int"], match["frac"]
    return _decimal(integer, fraction) if fraction else _integer(integer)


def _say_number(match: re.Match[str]) -> str:
    return ("minus " if match["sign"] else "") + _say_amount(match)


def _say_percent(match: re.Match[str]) -> str:
    sign = {"-": "minus ", "+": "plus "}.get(match["sign"] or "", "")
    return f"{sign}{_say_amount(match)} percent"


def _say_decade(match: re.Match[str]) -> str:
    n = int(match["n"])
    if n < 100:  # '90s -> nineties, 20s -> twenties
        return _plural(cardinal(n)) if n % 10 == 0 and n >= 20 else match[0]
    return _plural(year(n)) if n % 10 == 0 else match[0]


def _say_time(match: re.Match[str]) -> str:
    hours, minutes = int(match["h"]), int(match["m"])
    if minutes == 0:
        return f"{cardinal(hours)} o'clock" if 1 <= hours <= 12 else f"{cardinal(hours)} hundred"
    if minutes < 10:
        return f"{cardinal(hours)} oh {cardinal(minutes)}"
    return f"{cardinal(hours)} {cardinal(minutes)}"


# --- abbreviations ------------------------------------------------------------------------------

# Written form -> spoken form. Matched case-sensitively and as whole words, so "US" (the
# country) is expanded but "us" (the pronoun) is not.
ABBREVIATIONS: dict[str, str] = {
    "U.S.A.": "U S A",
    "USA": "U S A",
    "U.S.": "U S",
    "US": "U S",
    "U.K.": "U K",
    "UK": "U K",
    "EU": "E U",
    "e.g.": "for example",
    "E.g.": "For example",
    "i.e.": "that is",
    "I.e.": "That is",
    "etc.": "et cetera",
    "vs.": "versus",
    "vs": "versus",
    "Dr.": "Doctor",
    "Mr.": "Mister",
    "Mrs.": "Missus",
    "Ms.": "Miz",
    "Prof.": "Professor",
    "Jr.": "Junior",
    "Sr.": "Senior",
    "Inc.": "Incorporated",
    "Ltd.": "Limited",
    "approx.": "approximately",
    "a.m.": "A M",
    "p.m.": "P M",
    "&": "and",
}
# "No. 5" / "no. 5" -> "number 5": only before a number ("No." alone is the word no).
_NUMBER_ABBREVIATION_RE = re.compile(r"(?<!\w)(?P<no>[Nn])o\.\s?(?=\d)")
_HASH_NUMBER_RE = re.compile(r"(?<![\w&])#(?=\d)")


def _whole_word_pattern(words: list[str], *, flags: int = 0) -> re.Pattern[str]:
    """One alternation, longest first, so "U.S.A." wins over "U.S."; edges are non-word."""
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", flags)


_ABBREVIATION_RE = _whole_word_pattern(list(ABBREVIATIONS))


def _say_abbreviation(match: re.Match[str]) -> str:
    spoken = ABBREVIATIONS[match[0]]
    # "... and so on, etc." at the very end: the abbreviation's dot was also the full stop.
    if match[0].endswith(".") and not match.string[match.end() :].strip():
        spoken += "."
    return spoken


# --- lexicon ------------------------------------------------------------------------------------

# While the other rules run, each lexicon replacement is parked as one private-use character
# (no digits or letters in it for a later rule to rewrite) and put back at the end.
_PARK_BASE = 0xF0000
_PARKED_RE = re.compile("[\U000f0000-\U000ffffd]")


def _apply_lexicon(text: str, lexicon: Lexicon, parked: list[str]) -> str:
    def park(spoken: str) -> str:
        parked.append(spoken)
        return chr(_PARK_BASE + len(parked) - 1)

    return lexicon.apply(text, park)


def _unpark(text: str, parked: list[str]) -> str:
    return _PARKED_RE.sub(lambda m: parked[ord(m[0]) - _PARK_BASE], text)


# --- the public entry points --------------------------------------------------------------------

_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    # Order matters: currency and percent see the whole amount before the plain number rule.
    (_CURRENCY_RE, _say_currency),
    (_PERCENT_RE, _say_percent),
    (_TIMES_RE, lambda m: f"{_say_amount(m)} times"),
    (_TIME_RE, _say_time),
    (_ORDINAL_RE, lambda m: ordinal(int(m["n"]))),
    (_DECADE_RE, _say_decade),
    (_YEAR_RANGE_RE, lambda m: f"{year(int(m['a']))} to {year(int(m['b']))}"),
    (_RANGE_RE, lambda m: f"{m['a']} to {m['b']}"),
    (_NUMBER_ABBREVIATION_RE, lambda m: "number " if m["no"] == "n" else "Number "),
    (_HASH_NUMBER_RE, lambda m: "number "),
    (_SCALED_RE, lambda m: f"{_say_amount(m)} {_SCALE_SUFFIXES[m['letter'].lower()]}"),
    (_YEAR_RE, lambda m: year(int(m["n"]))),
    (_NUMBER_RE, _say_number),
    (_ABBREVIATION_RE, _say_abbreviation),
)


def expand_for_speech(
    text: str, language: str = "en", lexicon: Mapping[str, str] | None = None
) -> str:
    """Spell out what the TTS engine should say for ``text``.

    Pass a :class:`~deck2video.lexicon.Lexicon` to apply the same lexicon to many texts: a
    plain mapping is compiled on every call.

    The lexicon applies in every language; the built-in rules (numbers, currencies,
    percentages, times, abbreviations) are English and run only for ``en`` / ``en-*``; other
    languages' engines normalise their own numbers.
    """
    parked: list[str] = []
    if lexicon:
        text = _apply_lexicon(text, Lexicon.of(lexicon), parked)
    if _primary(language) == "en":
        for pattern, say in _RULES:
            text = pattern.sub(say, text)
    return _unpark(text, parked)


def load_lexicon(
    path_or_text: str | os.PathLike[str],
    language: str = "en",
    *,
    name: str | None = None,
    limits: Limits = Limits(),  # noqa: B008 (frozen, immutable)
) -> dict[str, str]:
    """Entries of a lexicon (format in the module docstring) that apply to ``language``.

    A path (``pathlib.Path`` or other ``os.PathLike``) is read as a file; a ``str`` is the
    lexicon's text itself. ``name`` is how error messages refer to it (default: the file name,
    or just "lexicon"). Entries without a section come first, then the language's section ("en"),
    then the regional one ("en-gb"); a later scope overrides an earlier one.

    A lexicon is untrusted text that will be spoken: errors give line numbers, never the text;
    control characters are refused; ``limits`` bounds its entries and their length.
    """
    if isinstance(path_or_text, os.PathLike):
        path = Path(path_or_text)
        name = name or path.name
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise InputError(f"lexicon {path}: no such file") from None
        except UnicodeDecodeError:
            raise InputError(f"lexicon {name}: not UTF-8 text") from None
    else:
        text = path_or_text
    sections = _parse_lexicon(text, f"lexicon {name}" if name else "lexicon", limits)
    wanted = _normalise_language(language)
    scopes = ["*", _primary(wanted)] + ([wanted] if wanted != _primary(wanted) else [])
    merged: dict[str, str] = {}
    for scope in scopes:
        merged.update(sections.get(scope, {}))
    return merged


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def sniff_text(head: bytes) -> str | None:
    """What is wrong with a file whose first bytes are ``head``, to be a lexicon (None:
    nothing): it must be UTF-8 text without control characters."""
    for cut in range(4):  # the head may end inside a multi-byte character
        try:
            text = head[: len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        return "not UTF-8 text"
    if _CONTROL_RE.search(text):
        return "not a text file (it holds control characters)"
    return None


_SECTION_RE = re.compile(r"^\[\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)\s*\]$")


def _parse_lexicon(text: str, where: str, limits: Limits) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {"*": {}}
    current = "*"
    count = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if _CONTROL_RE.search(raw):
            raise InputError(f"{where} line {number}: control characters (not a text lexicon)")
        if not line or line.startswith("#"):
            continue
        section = _SECTION_RE.match(line)
        if section:
            current = _normalise_language(section[1])
            sections.setdefault(current, {})
            continue
        written, spoken = _split_entry(raw)
        if not written or not spoken:
            raise InputError(f"{where} line {number}: expected 'written = spoken'")
        longest = max(len(written), len(spoken))
        if longest > limits.max_lexicon_entry_chars:
            raise InputError(
                f"{where} line {number}: {longest} characters, more than the limit of "
                f"{limits.max_lexicon_entry_chars} ({Limits.variable('max_lexicon_entry_chars')})"
            )
        entries = sections[current]
        if written in entries:
            raise InputError(f"{where} line {number}: defined twice")
        entries[written] = spoken
        count += 1
        if count > limits.max_lexicon_entries:
            raise InputError(
                f"{where}: more than {limits.max_lexicon_entries} entries "
                f"({Limits.variable('max_lexicon_entries')})"
            )
    return sections


def _split_entry(line: str) -> tuple[str, str]:
    if "\t" in line:
        written, _, spoken = line.partition("\t")
    elif "=" in line:
        written, _, spoken = line.partition("=")
    else:
        return "", ""
    # Spaces collapsed first (linear), then a trailing " # comment" cut off.
    spoken = " ".join(spoken.split()).split(" #", 1)[0]
    return " ".join(written.split()), spoken


def _normalise_language(language: str) -> str:
    return language.strip().replace("_", "-").lower()


def _primary(language: str) -> str:
    return _normalise_language(language).split("-")[0]


class PronouncingBackend:
    """A TTS backend (the ``deck2video.speech.Backend`` protocol) that hears the expanded text.

    Wrap the backend rather than the text so that callers keep the written text for captions
    and the audio cache key changes with the rules and the lexicon (via ``model_version``).
    """

    def __init__(
        self, base: Backend, language: str = "en", lexicon: Mapping[str, str] | None = None
    ) -> None:
        self.base = base
        self.name = base.name
        self.language = language
        self.lexicon = Lexicon.of(lexicon)
        # The OpenVoice converter looks for the base voice's embedding under this name.
        self.embedding_name = getattr(base, "embedding_name", None)
        described = json.dumps([_primary(language), sorted(self.lexicon.items())])
        digest = hashlib.sha256(described.encode()).hexdigest()[:12]
        self.model_version = f"{base.model_version}+pronounce{RULES_VERSION}-{digest}"

    def spoken_form(self, text: str) -> str:
        """What the engine hears for ``text``: the rules and the lexicon applied."""
        return expand_for_speech(text, self.language, self.lexicon)

    def synthesize(self, text: str, *, speed: float) -> Any:
        return self.base.synthesize(self.spoken_form(text), speed=speed)
