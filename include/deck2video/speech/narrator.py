"""The speaking stack of a job, built in one place: a base backend, the presenter's voice when
this deployment has converter weights (else, where asked, the base voice matched to the
presenter's pitch and formants), and the pronunciation rules with the job's lexicon.

Everything here loads once per process (models take seconds; a slide a fraction of that).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from deck2video.pronounce import PronouncingBackend
from deck2video.speech import load_backend
from deck2video.speech.convert import ConvertedBackend
from deck2video.speech.embedding import embedding_from_bytes
from deck2video.speech.match import Match, MatchedBackend
from deck2video.speech.weights import Converter, find_weights, load_converter

# Given the converter, the presenter's embedding as .npy bytes (computed once per recording).
TargetEmbedding = Callable[[Converter], bytes]


def find_converter() -> Converter | None:
    """This deployment's voice converter, loaded once per process; None: no cloning here."""
    weights = find_weights()
    return None if weights is None else load_converter(weights, "auto")


def build_narrator(
    backend: str,
    language: str,
    *,
    converter: Converter | None,
    target_embedding: TargetEmbedding,
    lexicon: Mapping[str, str],
    match: Match | None = None,
) -> PronouncingBackend:
    """The backend that speaks a job's slides: base TTS, re-voiced by ``converter`` towards the
    presenter when given, else moved by ``match`` when given (never both: a converter gives the
    presenter's timbre already), hearing the text as the pronunciation rules and lexicon spell
    it."""
    spoken = load_backend(backend, language)
    if converter is None and match is not None:
        spoken = MatchedBackend(spoken, match)
    if converter is not None:
        target = embedding_from_bytes(
            target_embedding(converter), gin_channels=converter.gin_channels
        )
        spoken = ConvertedBackend(spoken, converter, target)
    return PronouncingBackend(spoken, language, lexicon)
