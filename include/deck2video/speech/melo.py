"""MeloTTS: the GPU image's text-to-speech backend (six languages, five English accents).

``melo`` is imported only when a model is loaded: the CPU worker and the tests import this
module without it. The image downloads every checkpoint and BERT model at build time, so a
load reads local files only (``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deck2video.audio import SAMPLE_RATE, resample
from deck2video.config import LANGUAGE_VOICES, LANGUAGES, Deployment
from deck2video.errors import InputError, ProcessingError
from deck2video.fingerprint import model_fingerprint

__all__ = ["LANGUAGES", "MeloBackend", "MeloVoice", "split_for_model", "voice_for"]

# Latin-script text: MeloTTS's own splitter leaves pieces up to 256 characters whole.
LATIN_MAX_CHARS = 250
# Chinese, Japanese and Korean pack far more sound into a character; the models' BERT
# features and attention are happiest with sentence-sized inputs.
CJK_MAX_CHARS = 100
_CJK = frozenset({"ZH", "JP", "KR"})
# Chinese and Japanese join sentences without a space.
_UNSPACED = frozenset({"ZH", "JP"})


@dataclass(frozen=True)
class MeloVoice:
    language: str  # MeloTTS model: EN, ES, FR, ZH, JP or KR
    speaker: str  # the speaker's key in that model's spk2id
    max_chars: int  # the longest text handed to the model at once
    joiner: str = " "  # between sentences packed into one piece ("" in Chinese and Japanese)


VOICES: dict[str, MeloVoice] = {
    language: MeloVoice(
        model,
        speaker,
        max_chars=CJK_MAX_CHARS if model in _CJK else LATIN_MAX_CHARS,
        joiner="" if model in _UNSPACED else " ",
    )
    for language, (model, speaker) in LANGUAGE_VOICES.items()
}
# Other spellings people use for the same choices.
_ALIASES = {"en-uk": "en-gb", "en-br": "en-gb", "jp": "ja", "kr": "ko", "cn": "zh", "zh-cn": "zh"}


def voice_for(language: str) -> MeloVoice:
    """The MeloTTS model and speaker for a language setting ("en-GB", "ja", "es-MX", ...)."""
    tag = language.strip().replace("_", "-").lower()
    tag = _ALIASES.get(tag, tag)
    primary = _ALIASES.get(tag.split("-")[0], tag.split("-")[0])
    # An unlisted region falls back to its language: es-MX speaks ES, en-NZ the default English.
    voice = VOICES.get(tag) or VOICES.get(primary)
    if voice is None:
        raise InputError(
            f"setting language: {language!r} is not spoken by backend melo "
            f"(choose from {', '.join(LANGUAGES)})"
        )
    return voice


class MeloBackend:
    """One MeloTTS model and speaker; ``synthesize`` returns 24 kHz float32 mono."""

    name = "melo"

    def __init__(
        self, tts: Any, voice: MeloVoice, speaker: str, speaker_id: int, model_version: str
    ) -> None:
        self._tts = tts
        self.voice = voice
        self.speaker = speaker
        self._speaker_id = speaker_id
        self._rate = int(tts.hps.data.sampling_rate)
        self.model_version = model_version
        # The OpenVoice converter ships this voice's embedding as base_speakers/ses/<name>.pth.
        self.embedding_name = speaker.lower().replace("_", "-")

    @classmethod
    def load(
        cls,
        language: str = "en",
        *,
        device: str | None = None,
        models_dir: str | os.PathLike[str] | None = None,
    ) -> MeloBackend:
        """Load the model for ``language`` (see :func:`voice_for`).

        Model files come from ``models_dir`` (or the deployment's ``melo_dir``) when given,
        else from the Hugging Face cache the image filled at build time.
        """
        voice = voice_for(language)
        try:
            from melo.api import TTS
        except ImportError:
            raise ProcessingError(
                "backend melo: MeloTTS is not installed (the GPU speech image has it)"
            ) from None
        deployment = Deployment.from_env()
        config, checkpoint = _model_files(voice.language, models_dir or deployment.melo_dir)
        device = device or deployment.melo_device
        try:
            tts = TTS(
                language=voice.language,
                device=device,
                config_path=str(config),
                ckpt_path=str(checkpoint),
            )
        except (OSError, RuntimeError, KeyError, AssertionError) as exc:
            raise ProcessingError(
                f"backend melo: cannot load the {voice.language} model from {checkpoint} ({exc})"
            ) from None
        speaker, speaker_id = _speaker(tts, voice)
        version = f"melotts-{voice.language}-{speaker}-{model_fingerprint(config, checkpoint)}"
        return cls(tts, voice, speaker, speaker_id, version)

    def synthesize(self, text: str, *, speed: float) -> np.ndarray:
        if not speed > 0:
            raise InputError(f"setting speed: {speed} must be greater than 0")
        parts = []
        for piece in split_for_model(text, self.voice.max_chars, joiner=self.voice.joiner):
            audio = self._tts.tts_to_file(piece, self._speaker_id, None, speed=speed, quiet=True)
            parts.append(np.asarray(audio, dtype=np.float32).reshape(-1))
        if not parts:
            return np.zeros(0, dtype=np.float32)
        return resample(np.concatenate(parts), self._rate, SAMPLE_RATE)


def _model_files(language: str, models_dir: str | os.PathLike[str] | None) -> tuple[Path, Path]:
    if models_dir:
        folder = Path(models_dir) / language
        files = folder / "config.json", folder / "checkpoint.pth"
        for path in files:
            if not path.is_file():
                raise ProcessingError(f"backend melo: model file {path} is missing")
        return files
    try:
        from huggingface_hub import hf_hub_download
        from melo.download_utils import LANG_TO_HF_REPO_ID
    except ImportError as exc:
        raise ProcessingError(f"backend melo: {exc.name} is not installed") from None
    repo = LANG_TO_HF_REPO_ID[language]
    try:
        # Offline in the image (HF_HUB_OFFLINE=1): this finds the build-time download.
        config = Path(hf_hub_download(repo_id=repo, filename="config.json"))
        checkpoint = Path(hf_hub_download(repo_id=repo, filename="checkpoint.pth"))
    except Exception as exc:  # huggingface_hub raises many kinds; all mean "not available"
        raise ProcessingError(
            f"backend melo: the {language} model ({repo}) is not in the local model cache "
            f"({type(exc).__name__})"
        ) from None
    return config, checkpoint


def _speaker(tts: Any, voice: MeloVoice) -> tuple[str, int]:
    speakers = dict(tts.hps.data.spk2id)
    if voice.speaker in speakers:
        return voice.speaker, int(speakers[voice.speaker])
    if len(speakers) == 1:  # single-voice models: whatever its one speaker is called
        (name, number), *_ = speakers.items()
        return name, int(number)
    raise ProcessingError(
        f"backend melo: the {voice.language} model has no speaker {voice.speaker} "
        f"(it has {', '.join(sorted(speakers))})"
    )


# --- text chunking ------------------------------------------------------------------------------

# A sentence ends at . ! ? ; (followed by a space) or at their full-width forms (no space needed).
_SENTENCE_END = re.compile(r"(?<=[.!?;…])\s+|(?<=[。！？；])\s*")
_CLAUSE_END = re.compile(r"(?<=[,:])\s+|(?<=[，、：])\s*")
_SPEAKABLE = re.compile(r"\w")


def split_for_model(text: str, max_chars: int, *, joiner: str = " ") -> list[str]:
    """Cut ``text`` into pieces of at most ``max_chars``, at sentence ends where possible,
    else at clause breaks, else between words, else (unspaced scripts) anywhere; consecutive
    short sentences are packed together so the model hears some context."""
    text = " ".join(text.split())
    pieces = []
    for sentence in _split_keep(text, _SENTENCE_END):
        pieces.extend(_fit(sentence, max_chars, joiner))
    return [p for p in _pack(pieces, max_chars, joiner) if _SPEAKABLE.search(p)]


def _split_keep(text: str, pattern: re.Pattern[str]) -> list[str]:
    return [part for part in pattern.split(text) if part.strip()]


def _fit(sentence: str, max_chars: int, joiner: str) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    clauses = _split_keep(sentence, _CLAUSE_END)
    if len(clauses) > 1:
        return _pack([p for c in clauses for p in _fit(c, max_chars, joiner)], max_chars, joiner)
    words = sentence.split(" ")
    if len(words) > 1:
        return _pack([p for w in words for p in _fit(w, max_chars, joiner)], max_chars, " ")
    return [sentence[i : i + max_chars] for i in range(0, len(sentence), max_chars)]


def _pack(parts: list[str], max_chars: int, joiner: str) -> list[str]:
    packed: list[str] = []
    for part in parts:
        if packed and len(packed[-1]) + len(joiner) + len(part) <= max_chars:
            packed[-1] += joiner + part
        else:
            packed.append(part)
    return packed
