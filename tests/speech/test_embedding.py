"""Speaker embeddings: from a reference recording, stored as bytes, keyed for the cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deck2video.audio import SAMPLE_RATE, read_wav, write_wav
from deck2video.errors import InputError, ProcessingError
from deck2video.speech import embedding

# --- embeddings ---------------------------------------------------------------------------------


def test_extract_embedding_from_the_reference_recording(v2_converter, reference_24k) -> None:
    found = embedding.extract_embedding(v2_converter, reference_24k)
    assert tuple(found.shape) == (1, 256, 1)
    assert found.dtype == torch.float32
    assert found.device.type == "cpu"
    assert torch.isfinite(found).all()
    assert found.abs().sum() > 0
    again = embedding.extract_embedding(v2_converter, read_wav(reference_24k))
    assert torch.allclose(found, again, atol=1e-4)  # a path or its samples: same voice


def test_pauses_do_not_change_the_embedding(tiny_converter, reference_24k) -> None:
    speech = read_wav(reference_24k)
    gap = np.zeros(2 * SAMPLE_RATE, dtype=np.float32)
    half = speech.size // 2
    padded = np.concatenate([gap, speech[:half], gap, speech[half:], gap])
    plain = embedding.extract_embedding(tiny_converter, speech)
    with_pauses = embedding.extract_embedding(tiny_converter, padded)
    assert torch.allclose(plain, with_pauses, atol=0.05)


def test_too_little_speech_is_an_input_error(tiny_converter, reference_24k, tmp_path) -> None:
    short = tmp_path / "short.wav"
    speech = read_wav(reference_24k)
    write_wav(short, np.concatenate([speech[: SAMPLE_RATE * 3 // 2], np.zeros(5 * SAMPLE_RATE)]))
    with pytest.raises(InputError, match=r"^reference voice short.wav: only 1\.\d s of speech; "):
        embedding.extract_embedding(tiny_converter, short)
    with pytest.raises(InputError, match=r"only 0.0 s of speech"):
        embedding.extract_embedding(tiny_converter, np.zeros(5 * SAMPLE_RATE, dtype=np.float32))


def test_unreadable_reference_is_an_input_error(tiny_converter, tmp_path) -> None:
    bad = tmp_path / "voice.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(InputError, match=r"^reference voice voice.wav: not a readable audio file"):
        embedding.extract_embedding(tiny_converter, bad)


def test_embedding_cache_key_names_recording_and_checkpoint() -> None:
    recording, checkpoint = "a" * 64, "0123456789abcdef" * 4
    key = embedding.embedding_cache_key(recording, checkpoint)
    assert key == f"embedding-{'a' * 16}-0123456789abcdef.npy"
    assert embedding.embedding_cache_key(recording, "f" * 64) != key
    with pytest.raises(ValueError, match="expected lower-case hex"):
        embedding.embedding_cache_key("../../etc", checkpoint)


def test_embedding_round_trips_through_bytes() -> None:
    voice = torch.randn(1, 256, 1)
    stored = embedding.embedding_to_bytes(voice)
    assert torch.equal(embedding.embedding_from_bytes(stored), voice)
    assert torch.equal(embedding.embedding_from_bytes(stored, gin_channels=256), voice)


def test_bad_stored_embeddings_are_refused() -> None:
    with pytest.raises(ProcessingError, match=r"^speaker embedding: not a .npy speaker embedding"):
        embedding.embedding_from_bytes(b"garbage")
    narrow = embedding.embedding_to_bytes(torch.randn(1, 128, 1))
    with pytest.raises(
        ProcessingError, match=r"not a speaker embedding of 256 values \(got \(1, 128, 1\)\)"
    ):
        embedding.embedding_from_bytes(narrow, gin_channels=256)
    nan = embedding.embedding_to_bytes(torch.full((1, 4, 1), float("nan")))
    with pytest.raises(ProcessingError, match="non-finite"):
        embedding.embedding_from_bytes(nan)
