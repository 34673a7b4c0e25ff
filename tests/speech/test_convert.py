"""OpenVoice V2 tone-colour conversion with random weights in the released layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deck2video.audio import SAMPLE_RATE
from deck2video.errors import ProcessingError
from deck2video.speech import convert, embedding
from tests.support.media import tone

# --- conversion ---------------------------------------------------------------------------------


def test_convert_gives_24k_audio_of_the_input_length(v2_converter) -> None:
    base = tone(0.3)
    source = v2_converter.base_embeddings["en-us"]
    target = torch.randn(1, 256, 1)
    out = convert.convert(v2_converter, base, source, target)
    assert out.dtype == np.float32
    assert out.shape == base.shape
    assert np.isfinite(out).all()
    assert np.abs(out).max() <= 1.0
    assert np.abs(out).max() > 1e-4  # not silence


@pytest.mark.parametrize("size", [1, 300, 1023, 7777])
def test_convert_keeps_any_length(tiny_converter, size) -> None:
    base = tone(size / SAMPLE_RATE)
    assert base.size == size
    source, target = torch.randn(1, 32, 1), torch.randn(1, 32, 1)
    assert convert.convert(tiny_converter, base, source, target).shape == (size,)


def test_convert_is_repeatable_and_leaves_the_global_rng_alone(tiny_converter) -> None:
    base = tone(0.5)
    source, target = torch.randn(1, 32, 1), torch.randn(1, 32, 1)
    torch.manual_seed(1234)
    first = convert.convert(tiny_converter, base, source, target)
    after = torch.rand(1)
    torch.manual_seed(1234)
    second = convert.convert(tiny_converter, base, source, target)
    assert torch.equal(after, torch.rand(1))
    assert np.array_equal(first, second)
    other_seed = convert.convert(tiny_converter, base, source, target, seed=1)
    assert not np.array_equal(first, other_seed)


def test_convert_depends_on_the_target_voice(tiny_converter) -> None:
    base = tone(0.5)
    source = torch.randn(1, 32, 1)
    one = convert.convert(tiny_converter, base, source, torch.randn(1, 32, 1), tau=0.0)
    two = convert.convert(tiny_converter, base, source, torch.randn(1, 32, 1), tau=0.0)
    assert not np.allclose(one, two)


def test_convert_empty_audio_and_bad_embeddings(tiny_converter) -> None:
    source = torch.randn(1, 32, 1)
    assert convert.convert(tiny_converter, np.zeros(0, np.float32), source, source).size == 0
    with pytest.raises(ProcessingError, match=r"^target embedding: not a speaker embedding of 32"):
        convert.convert(tiny_converter, tone(0.1), source, torch.randn(1, 256, 1))


# --- wrapping a backend -------------------------------------------------------------------------


class ToneBackend:
    """A stand-in base voice: a tone whose length depends on the text."""

    name = "tone"
    model_version = "tone-1"
    embedding_name: str | None = None

    def __init__(self) -> None:
        self.calls: list[str] = []

    def synthesize(self, text: str, *, speed: float) -> np.ndarray:
        self.calls.append(text)
        return tone(len(text) * 0.05 / speed, frequency=180.0)


def test_converted_backend_revoices_and_names_the_converter(tiny_converter) -> None:
    base = ToneBackend()
    target = torch.randn(1, 32, 1)
    voiced = convert.ConvertedBackend(base, tiny_converter, target)
    assert voiced.name == "tone"
    assert voiced.model_version == (
        f"tone-1+openvoice-v2-{tiny_converter.checkpoint_sha256[:16]}-tau0.3"
    )
    assert base.calls == [embedding.CALIBRATION_TEXT]  # its own timbre, learnt once
    out = voiced.synthesize("Hello there.", speed=1.0)
    assert out.shape == base.synthesize("Hello there.", speed=1.0).shape
    again = convert.ConvertedBackend(base, tiny_converter, target)
    assert torch.equal(again.source, voiced.source)
    assert base.calls.count(embedding.CALIBRATION_TEXT) == 1  # cached per process


def test_backend_with_a_base_speaker_file_uses_it(tiny_converter) -> None:
    base = ToneBackend()
    base.embedding_name = "es"
    assert embedding.source_embedding(tiny_converter, base) is tiny_converter.base_embeddings["es"]
    assert base.calls == []
