"""A user lexicon, ready to apply in time linear in the text, whatever its entries.

One regular-expression alternation of thousands of long entries tries every entry at every
position of the text: a hostile lexicon (5,000 entries of 200 characters that all match far into
the notes before failing) costs tens of seconds a sentence. Here the entries are a trie walked
from each word start: a walk is at most the longest entry long (``max_lexicon_entry_chars``), so
a text costs at most its length times that bound, however many entries there are.

Matches are whole words (not preceded or followed by a word character, as ``\\w`` means it);
at each word start the longest entry wins; matching resumes after a match. An entry written in
lower case matches any capitalisation; one with a capital letter matches that exact spelling,
and exact entries are applied first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

__all__ = ["Lexicon", "WholeWords"]

_END = ""  # the trie key that marks an entry's last character (no character is "")


def _is_word(char: str) -> bool:
    """What ``\\w`` matches in a str pattern: letters, digits and the underscore."""
    return char.isalnum() or char == "_"


def _fold(char: str) -> str:
    """One character, lower-cased when that keeps it one character (as the trie holds it)."""
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char


class WholeWords:
    """Literal words (or phrases) found as whole words, longest first, in one pass."""

    def __init__(self, words: Mapping[str, str], *, ignore_case: bool) -> None:
        self._ignore_case = ignore_case
        self._root: dict[str, dict] = {}
        for written, spoken in words.items():
            node = self._root
            for char in written.lower() if ignore_case else written:
                node = node.setdefault(_fold(char) if ignore_case else char, {})
            node[_END] = spoken  # type: ignore[assignment]  # the end marker holds the spoken form

    def sub(self, text: str, replace: Callable[[str], str]) -> str:
        """``text`` with each match replaced by ``replace(spoken form of the matched entry)``."""
        if not self._root:
            return text
        pieces: list[str] = []
        copied = i = 0
        while i < len(text):
            if i == 0 or not _is_word(text[i - 1]):
                found = self._longest_at(text, i)
                if found is not None:
                    end, spoken = found
                    pieces += (text[copied:i], replace(spoken))
                    copied = i = end
                    continue
            i += 1
        pieces.append(text[copied:])
        return "".join(pieces)

    def _longest_at(self, text: str, start: int) -> tuple[int, str] | None:
        """The end and spoken form of the longest entry that is a whole word at ``start``."""
        node = self._root
        found = None
        for end in range(start + 1, len(text) + 1):
            char = text[end - 1]
            node = node.get(_fold(char) if self._ignore_case else char)  # type: ignore[assignment]
            if node is None:
                break
            if _END in node and (end == len(text) or not _is_word(text[end])):
                found = (end, node[_END])
        return found  # type: ignore[return-value]


class Lexicon(Mapping[str, str]):
    """A lexicon's entries (a read-only mapping) and their compiled matchers, built once."""

    def __init__(self, entries: Mapping[str, str]) -> None:
        self._entries = dict(entries)
        # Exact-case entries first: "SQL = sequel" must win over a looser "sql = s q l".
        self._exact = WholeWords(
            {w: s for w, s in self._entries.items() if w != w.lower()}, ignore_case=False
        )
        self._loose = WholeWords(
            {w: s for w, s in self._entries.items() if w == w.lower()}, ignore_case=True
        )

    @classmethod
    def of(cls, entries: Mapping[str, str] | None) -> Lexicon:
        """``entries`` compiled, unless they already are."""
        return entries if isinstance(entries, Lexicon) else cls(entries or {})

    def apply(self, text: str, replace: Callable[[str], str]) -> str:
        """``text`` with each entry's match replaced by ``replace(its spoken form)``."""
        return self._loose.sub(self._exact.sub(text, replace), replace)

    def __getitem__(self, written: str) -> str:
        return self._entries[written]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
