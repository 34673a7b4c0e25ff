"""Speaker notes -> what is spoken: normalised, sentence-sized Speech chunks and Pause segments.

Each Speech chunk is synthesized and captioned on its own, so chunks should be whole sentences:
long enough to sound natural, short enough for one caption. Markers in the notes:
``[SILENCE]`` alone means "show the slide without narration"; ``[PAUSE 1.5]`` (or ``[PAUSE]``,
one second) inserts silence at that point; ``[CLICK]`` moves the slide's build to its next step
where the next sentence starts. Clicks change only timing, never what is spoken: they are taken
out before anything else (:func:`click_points` says where they were).

Notes are untrusted text, so every step here runs in time linear in their length: no pattern
can backtrack over a long run of spaces or marks, and no loop re-slices what is left.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Speech:
    text: str  # one sentence-sized chunk to synthesize and caption


@dataclass(frozen=True)
class Pause:
    seconds: float


Segment = Speech | Pause

DEFAULT_PAUSE_SECONDS = 1.0
MAX_PAUSE_SECONDS = 60.0  # a typo like [PAUSE 500] should not stall the video for minutes
MAX_CHUNK_CHARS = 250  # longer sentences are split so captions and TTS stay manageable
MIN_CHUNK_CHARS = 20  # shorter fragments ("Thanks.", "1.") are merged with a neighbour

# The argument is bounded: an unclosed "[pause" must not make every later one scan to the end.
_MARKER = re.compile(r"\[\s*(silence|pause)\b([^\[\]]{0,40})\]", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_CLICK = re.compile(r"\[\s{0,40}click\s{0,40}\]", re.IGNORECASE)

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_TRANSLATE = {
    **_ZERO_WIDTH,
    **dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b\u2032"), "'"),
    **dict.fromkeys(map(ord, "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033"), '"'),
    **dict.fromkeys(map(ord, "\v\f\r\u2028\u2029\x85"), "\n"),
    **dict.fromkeys(map(ord, "\t\u00a0\u2007\u2009\u202f\u3000"), " "),
}
# Bullet glyphs are never spoken: at a line start they go, inside a line they separate items.
_BULLET_GLYPHS = "•▪◦‣●○■□▫◆◇►▸▹➢➤✓✔·"
_LEADING_BULLET = re.compile(rf"^(?:[{_BULLET_GLYPHS}]\s*|[-–—*+]\s+)+")
_INNER_BULLET = re.compile(rf"\s*[{_BULLET_GLYPHS.replace('·', '')}]\s*")  # l·l is Catalan
_LINE_PUNCTUATED = re.compile(r"[.!?…:;,][\"')\]]*$")
_WORD = re.compile(r"\S+")
_CLOSERS = "\"')]"
_TERMINATORS = ".!?…"
_SPEAKABLE = re.compile(r"\w")

# Abbreviations after which a full stop does not end a sentence (compared lower-case, no dots).
_ABBREVIATIONS = frozenset({
    "dr", "mr", "mrs", "ms", "prof", "sr", "jr", "st", "mt", "vs", "cf", "eg", "ie", "approx",
    "fig", "figs", "vol", "dept", "inc", "ltd", "co", "corp",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
})  # fmt: skip
# These end sentences as words ("the answer is no.") but not before a number ("No. 5", "p. 12").
_NUMBER_ABBREVIATIONS = frozenset({"no", "nos", "p", "pp"})
_INITIALS = re.compile(r"^\(?(?:[A-Za-z]\.){2,}$|^\(?[A-Z]\.$")  # U.S. e.g. J.


def narrate(notes: str, silence_seconds: float = 1.0) -> list[Segment]:
    """Turn a slide's notes into the segments to speak, in order.

    Notes with nothing speakable (empty, whitespace, bullets only, ``[SILENCE]``) become a single
    ``Pause(silence_seconds)`` so that the slide still gets its moment on screen.
    """
    notes = without_clicks(notes)
    segments: list[Segment] = []
    position = 0
    for marker in _MARKER.finditer(notes):
        segments += [Speech(chunk) for chunk in chunk_text(notes[position : marker.start()])]
        seconds = _marker_seconds(marker, silence_seconds)
        if seconds > 0:
            segments.append(Pause(seconds))
        position = marker.end()
    segments += [Speech(chunk) for chunk in chunk_text(notes[position:])]
    segments = _merge_pauses(segments)
    if not any(isinstance(s, Speech) for s in segments):
        return segments or [Pause(silence_seconds)]
    return segments


def is_silent(notes: str) -> bool:
    """True when the notes contain nothing to speak (only markers, bullets or whitespace)."""
    return not any(isinstance(s, Speech) for s in narrate(notes))


def without_clicks(notes: str) -> str:
    """The notes less their ``[CLICK]`` markers (a space each, so no two words join)."""
    return _CLICK.sub(" ", notes)


def click_points(notes: str) -> list[int]:
    """For each ``[CLICK]`` marker in order, how many spoken chunks come before it.

    Counted part by part (linear in the notes), so a short sentence that :func:`narrate` merges
    across a marker may shift that click by one sentence.
    """
    points, spoken = [], 0
    for part in _CLICK.split(notes)[:-1]:
        spoken += sum(isinstance(segment, Speech) for segment in narrate(part))
        points.append(spoken)
    return points


def _marker_seconds(marker: re.Match[str], silence_seconds: float) -> float:
    if marker.group(1).lower() == "silence":
        return silence_seconds
    number = _NUMBER.search(marker.group(2))
    if number is None:
        return DEFAULT_PAUSE_SECONDS
    return min(float(number.group().replace(",", ".")), MAX_PAUSE_SECONDS)


def _merge_pauses(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for segment in segments:
        if isinstance(segment, Pause) and merged and isinstance(merged[-1], Pause):
            merged[-1] = Pause(merged[-1].seconds + segment.seconds)
        else:
            merged.append(segment)
    return merged


def normalise(text: str) -> list[str]:
    """Clean notes into lines of plain speakable text, each ending in punctuation."""
    text = unicodedata.normalize("NFC", text).translate(_TRANSLATE)
    lines = []
    for raw in text.split("\n"):
        # Spaces are collapsed first, so that no pattern meets a long run of them.
        line = _LEADING_BULLET.sub("", " ".join(raw.split()))
        line = _INNER_BULLET.sub(", ", line)
        line = " ".join(line.split()).strip(" ,")
        if not _SPEAKABLE.search(line):
            continue
        # A line without final punctuation (a bullet, a heading) still ends a sentence.
        if not _LINE_PUNCTUATED.search(line):
            line += "."
        lines.append(line)
    return lines


def chunk_text(text: str) -> list[str]:
    """Split text into sentence-sized chunks, merging fragments and splitting run-on sentences."""
    sentences = [s for line in normalise(text) for s in split_sentences(line)]
    pieces = [p for s in sentences for p in _split_long(s, MAX_CHUNK_CHARS)]
    return _merge_short(pieces)


def split_sentences(line: str) -> list[str]:
    """Split one line at sentence ends, keeping abbreviations and decimals (3.14) intact.

    A sentence ends with a word ending in ``.``, ``!``, ``?`` or ``…`` (closing quotes or
    brackets may follow) that is followed by another word; each word is looked at once.
    """
    sentences = []
    start = 0
    words = list(_WORD.finditer(line))
    for word, following in zip(words, [*words[1:], None], strict=True):
        if following is not None and _ends_sentence(word.group(), following.group()):
            sentences.append(line[start : word.end()].strip())
            start = word.end()
    rest = line[start:].strip()
    if rest:
        sentences.append(rest)
    return [s for s in sentences if _SPEAKABLE.search(s)]


def _ends_sentence(word: str, following: str) -> bool:
    """Whether ``word`` (then ``following``) ends a sentence."""
    closed = word.rstrip(_CLOSERS)
    body = closed.rstrip(_TERMINATORS)
    mark = closed[len(body) :]
    if not mark:
        return False
    if mark != ".":  # ! ? … and "..." always end a sentence
        return True
    stop = body + "."  # the word with its full stop
    bare = body.lstrip("(").lower()
    if _INITIALS.match(stop) or bare in _ABBREVIATIONS:
        return False
    if bare in _NUMBER_ABBREVIATIONS and following[:1].isdigit():
        return False
    return not following[:1].islower()  # "etc. and so on" continues the sentence


def _split_long(sentence: str, limit: int) -> list[str]:
    """Split a sentence longer than ``limit`` at clause punctuation, else between words."""
    if len(sentence) <= limit:
        return [sentence]
    clauses = re.split(r"(?<=[,;:])\s+|\s+(?=[—–]\s)", sentence)
    words = [w for clause in clauses for w in _pack(clause.split(), limit)]
    return _pack_joined(words, limit)


def _pack(words: list[str], limit: int) -> list[str]:
    """Greedily join words into strings of at most ``limit`` chars (hard-cutting giant words)."""
    out: list[str] = []
    current = ""
    for word in words:
        if len(word) > limit:
            if current:
                out.append(current)
                current = ""
            cut = (len(word) - 1) // limit * limit  # what is left is 1..limit long
            out += [word[i : i + limit] for i in range(0, cut, limit)]
            word = word[cut:]
        if current and len(current) + 1 + len(word) > limit:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        out.append(current)
    return out


def _pack_joined(parts: list[str], limit: int) -> list[str]:
    """Join consecutive clause pieces back together while they fit in ``limit``."""
    out: list[str] = []
    for part in parts:
        if out and len(out[-1]) + 1 + len(part) <= limit:
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    return out


def _merge_short(pieces: list[str]) -> list[str]:
    """Attach fragments under MIN_CHUNK_CHARS to the next piece (the last one to the previous)."""
    out: list[str] = []
    carry = ""
    for piece in pieces:
        if carry and len(carry) + 1 + len(piece) > MAX_CHUNK_CHARS:
            out.append(carry)  # too long to merge: a short chunk beats an over-long one
        elif carry:
            piece = f"{carry} {piece}"
        carry = ""
        if len(piece) < MIN_CHUNK_CHARS:
            carry = piece
        else:
            out.append(piece)
    if carry:
        if out and len(out[-1]) + 1 + len(carry) <= MAX_CHUNK_CHARS:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out
