"""Loading OpenVoice V2 converter weights (random, in the released layout) and their errors."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch

from deck2video.errors import ProcessingError
from deck2video.speech import weights
from tests.support.openvoice_weights import TINY_CONFIG

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
    assert weights.load_converter(str(v2_weights)) is conv
    assert not conv.model.training


def test_base_speakers_beside_the_converter_folder_are_found(tmp_path, tiny_weights) -> None:
    # The upstream download keeps converter/ and base_speakers/ side by side.
    folder = tmp_path / "converter"
    folder.mkdir()
    for name in ("config.json", "checkpoint.pth"):
        (folder / name).symlink_to(tiny_weights / name)
    shutil.copytree(tiny_weights / "base_speakers", tmp_path / "base_speakers")
    assert set(weights.load_converter(folder).base_embeddings) == {"en-us", "es"}


# --- loading errors -----------------------------------------------------------------------------


def _copy_weights(src: Path, dst: Path, *, config: dict | None = None) -> Path:
    dst.mkdir()
    (dst / "checkpoint.pth").symlink_to(src / "checkpoint.pth")
    text = json.dumps(config) if config else (src / "config.json").read_text()
    (dst / "config.json").write_text(text)
    return dst


def _load_error(folder: Path) -> str:
    with pytest.raises(ProcessingError) as caught:
        weights.load_converter(folder)
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
    assert weights.find_weights({"DECK2VIDEO_OPENVOICE_DIR": str(tmp_path)}) == tmp_path
    found = weights.find_weights({})
    assert found is None or found == weights.DEFAULT_WEIGHTS_DIR
