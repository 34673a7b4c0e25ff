"""OpenVoice V2 tone-colour conversion with random weights in the released layout."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from deck2video.errors import InputError, ProcessingError
from deck2video.speech import convert
from deck2video.speech.audio import SAMPLE_RATE, read_wav, write_wav
from tests.speech.conftest import TINY_CONFIG, tone

# --- loading ------------------------------------------------------------------------------------


def test_random_weights_have_the_released_v2_layout(v2_converter) -> None:
    state = v2_converter.model.state_dict()
    # Shapes of the released checkpoint: 513 spectrogram bins in, 256-value embeddings, a
    # 16-layer posterior WaveNet conditioned through one fused layer, HiFi-GAN from 512 channels.
    assert tuple(state["enc_q.pre.weight"].shape) == (192, 513, 1)
    assert tuple(state["enc_q.enc.cond_layer.weight_v"].shape) == (2 * 192 * 16, 256, 1)
    assert tuple(state["flow.flows.6.post.weight"].shape) == (96, 192, 1)
    assert tuple(state["dec.conv_pre.weight"].shape) == (512, 192, 7)
    assert tuple(state["dec.ups.3.weight_v"].shape) == (64, 32, 4)
    assert tuple(state["ref_enc.proj.weight"].shape) == (256, 128)
    assert not any(k.startswith(("enc_p.", "emb_g.")) for k in state)  # no text encoder
    params = sum(p.numel() for p in v2_converter.model.parameters())
    assert 32_000_000 < params < 34_000_000


def test_load_converter_reads_the_framing_and_caches_per_folder(v2_weights, v2_converter) -> None:
    conv = v2_converter
    assert (conv.version, conv.sampling_rate, conv.hop_length) == ("v2", 22050, 256)
    assert (conv.filter_length, conv.win_length, conv.gin_channels) == (1024, 1024, 256)
    assert conv.device == "cpu"
    digest = hashlib.sha256((v2_weights / "checkpoint.pth").read_bytes()).hexdigest()
    assert conv.checkpoint_sha256 == digest
    assert set(conv.base_embeddings) == {"en-us"}
    assert tuple(conv.base_embeddings["en-us"].shape) == (1, 256, 1)
    assert convert.load_converter(str(v2_weights)) is conv
    assert not conv.model.training


def test_base_speakers_beside_the_converter_folder_are_found(tmp_path, tiny_weights) -> None:
    # The upstream download keeps converter/ and base_speakers/ side by side.
    folder = tmp_path / "converter"
    folder.mkdir()
    for name in ("config.json", "checkpoint.pth"):
        (folder / name).symlink_to(tiny_weights / name)
    shutil.copytree(tiny_weights / "base_speakers", tmp_path / "base_speakers")
    assert set(convert.load_converter(folder).base_embeddings) == {"en-us", "es"}


# --- loading errors -----------------------------------------------------------------------------


def _copy_weights(src: Path, dst: Path, *, config: dict | None = None) -> Path:
    dst.mkdir()
    (dst / "checkpoint.pth").symlink_to(src / "checkpoint.pth")
    text = json.dumps(config) if config else (src / "config.json").read_text()
    (dst / "config.json").write_text(text)
    return dst


def _load_error(folder: Path) -> str:
    with pytest.raises(ProcessingError) as caught:
        convert.load_converter(folder)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_weights_folder(tmp_path) -> None:
    message = _load_error(tmp_path / "nowhere")
    assert message == f"converter weights {tmp_path / 'nowhere'}: no such directory"


@pytest.mark.parametrize("name", ["checkpoint.pth", "config.json"])
def test_missing_weights_file(tmp_path, tiny_weights, name) -> None:
    folder = _copy_weights(tiny_weights, tmp_path / "w")
    (folder / name).unlink()
    assert _load_error(folder) == f"converter weights {folder}: {name} is missing"


def test_corrupt_checkpoint(tmp_path, tiny_weights) -> None:
    folder = _copy_weights(tiny_weights, tmp_path / "w")
    (folder / "checkpoint.pth").unlink()
    (folder / "checkpoint.pth").write_bytes(b"<html>404 Not Found</html>")
    message = _load_error(folder)
    assert (
        message
        == f"converter checkpoint {folder / 'checkpoint.pth'}: not a PyTorch checkpoint file"
    )


def test_truncated_checkpoint(tmp_path, tiny_weights) -> None:
    folder = _copy_weights(tiny_weights, tmp_path / "w")
    (folder / "checkpoint.pth").unlink()
    data = (tiny_weights / "checkpoint.pth").read_bytes()
    (folder / "checkpoint.pth").write_bytes(data[: len(data) // 2])  # an interrupted download
    message = _load_error(folder)
    assert message.startswith(f"converter checkpoint {folder / 'checkpoint.pth'}: unreadable (")


class _NotATensor:
    pass


def test_checkpoint_with_arbitrary_objects_is_not_unpickled(tmp_path, tiny_weights) -> None:
    folder = _copy_weights(tiny_weights, tmp_path / "w")
    (folder / "checkpoint.pth").unlink()
    torch.save({"model": {"x": _NotATensor()}}, folder / "checkpoint.pth")
    message = _load_error(folder)
    assert "holds objects other than tensors" in message


def test_config_that_does_not_match_the_checkpoint(tmp_path, tiny_weights) -> None:
    config = json.loads(json.dumps(TINY_CONFIG))
    config["model"]["upsample_initial_channel"] = 64  # the checkpoint was made with 32
    folder = _copy_weights(tiny_weights, tmp_path / "w", config=config)
    message = _load_error(folder)
    assert message.startswith(
        f"converter checkpoint {folder / 'checkpoint.pth'}: does not match {folder / 'config.json'}"
    )
    assert (
        "differ in shape, e.g. dec.conv_pre.weight is 32x16x7 in the checkpoint, 64x16x7" in message
    )


def test_text_to_speech_config_is_refused(tmp_path, tiny_weights) -> None:
    config = json.loads(json.dumps(TINY_CONFIG))
    config["data"]["n_speakers"] = 10
    folder = _copy_weights(tiny_weights, tmp_path / "w", config=config)
    assert "data.n_speakers is 10" in _load_error(folder)


def test_config_that_is_not_json(tmp_path, tiny_weights) -> None:
    folder = _copy_weights(tiny_weights, tmp_path / "w")
    (folder / "config.json").write_text("{sampling_rate: 22050")
    assert _load_error(folder).startswith(
        f"converter config {folder / 'config.json'}: not valid JSON"
    )


def test_find_weights_prefers_the_environment(tmp_path) -> None:
    assert convert.find_weights({convert.WEIGHTS_ENV: str(tmp_path)}) == tmp_path
    found = convert.find_weights({})
    assert found is None or found == convert.DEFAULT_WEIGHTS_DIR


# --- embeddings ---------------------------------------------------------------------------------


def test_extract_embedding_from_the_reference_recording(v2_converter, reference_24k) -> None:
    embedding = convert.extract_embedding(v2_converter, reference_24k)
    assert tuple(embedding.shape) == (1, 256, 1)
    assert embedding.dtype == torch.float32 and embedding.device.type == "cpu"
    assert torch.isfinite(embedding).all() and embedding.abs().sum() > 0
    again = convert.extract_embedding(v2_converter, read_wav(reference_24k))
    assert torch.allclose(embedding, again, atol=1e-4)  # a path or its samples: same voice


def test_pauses_do_not_change_the_embedding(tiny_converter, reference_24k) -> None:
    speech = read_wav(reference_24k)
    gap = np.zeros(2 * SAMPLE_RATE, dtype=np.float32)
    half = speech.size // 2
    padded = np.concatenate([gap, speech[:half], gap, speech[half:], gap])
    plain = convert.extract_embedding(tiny_converter, speech)
    with_pauses = convert.extract_embedding(tiny_converter, padded)
    assert torch.allclose(plain, with_pauses, atol=0.05)


def test_too_little_speech_is_an_input_error(tiny_converter, reference_24k, tmp_path) -> None:
    short = tmp_path / "short.wav"
    speech = read_wav(reference_24k)
    write_wav(short, np.concatenate([speech[: SAMPLE_RATE * 3 // 2], np.zeros(5 * SAMPLE_RATE)]))
    with pytest.raises(InputError, match=r"^reference voice short.wav: only 1\.\d s of speech; "):
        convert.extract_embedding(tiny_converter, short)
    with pytest.raises(InputError, match="only 0.0 s of speech"):
        convert.extract_embedding(tiny_converter, np.zeros(5 * SAMPLE_RATE, dtype=np.float32))


def test_unreadable_reference_is_an_input_error(tiny_converter, tmp_path) -> None:
    bad = tmp_path / "voice.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(InputError, match="^reference voice voice.wav: not a readable audio file"):
        convert.extract_embedding(tiny_converter, bad)


def test_embedding_cache_key_names_recording_and_checkpoint() -> None:
    recording, checkpoint = "a" * 64, "0123456789abcdef" * 4
    key = convert.embedding_cache_key(recording, checkpoint)
    assert key == f"embedding-{'a' * 16}-0123456789abcdef.npy"
    assert convert.embedding_cache_key(recording, "f" * 64) != key
    with pytest.raises(ValueError):
        convert.embedding_cache_key("../../etc", checkpoint)


def test_embedding_round_trips_through_bytes_and_files(tmp_path) -> None:
    embedding = torch.randn(1, 256, 1)
    assert torch.equal(
        convert.embedding_from_bytes(convert.embedding_to_bytes(embedding)), embedding
    )
    path = convert.save_embedding(tmp_path / "voice" / "embedding-x.npy", embedding)
    assert torch.equal(convert.load_embedding(path, gin_channels=256), embedding)
    assert [p.name for p in path.parent.iterdir()] == ["embedding-x.npy"]  # no temp file left


def test_bad_stored_embeddings_are_refused(tmp_path) -> None:
    with pytest.raises(ProcessingError, match="^speaker embedding: not a .npy speaker embedding"):
        convert.embedding_from_bytes(b"garbage")
    path = convert.save_embedding(tmp_path / "e.npy", torch.randn(1, 128, 1))
    with pytest.raises(
        ProcessingError, match=r"not a speaker embedding of 256 values \(got \(1, 128, 1\)\)"
    ):
        convert.load_embedding(path, gin_channels=256)
    nan = convert.embedding_to_bytes(torch.full((1, 4, 1), float("nan")))
    with pytest.raises(ProcessingError, match="non-finite"):
        convert.embedding_from_bytes(nan)


# --- conversion ---------------------------------------------------------------------------------


def test_convert_gives_24k_audio_of_the_input_length(v2_converter) -> None:
    base = tone(0.3)
    source = v2_converter.base_embeddings["en-us"]
    target = torch.randn(1, 256, 1)
    out = convert.convert(v2_converter, base, source, target)
    assert out.dtype == np.float32 and out.shape == base.shape
    assert np.isfinite(out).all() and np.abs(out).max() <= 1.0
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
    with pytest.raises(ProcessingError, match="^target embedding: not a speaker embedding of 32"):
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
    assert base.calls == [convert.CALIBRATION_TEXT]  # its own timbre, learnt once
    out = voiced.synthesize("Hello there.", speed=1.0)
    assert out.shape == base.synthesize("Hello there.", speed=1.0).shape
    again = convert.ConvertedBackend(base, tiny_converter, target)
    assert torch.equal(again.source, voiced.source)
    assert base.calls.count(convert.CALIBRATION_TEXT) == 1  # cached per process


def test_backend_with_a_base_speaker_file_uses_it(tiny_converter) -> None:
    base = ToneBackend()
    base.embedding_name = "es"
    assert convert.source_embedding(tiny_converter, base) is tiny_converter.base_embeddings["es"]
    assert base.calls == []
