"""OpenVoice V2's tone-colour converter: finding its weights and loading them once per process.

A weights folder holds ``config.json``, ``checkpoint.pth`` and optionally
``base_speakers/ses/<name>.pth`` (the embeddings of MeloTTS's base voices; the upstream download's
``converter/`` folder with ``base_speakers/`` beside it works too). Loading checks every file and
names the first thing wrong, instead of surfacing a page of torch errors.

torch and the model code (``openvoice`` from the OpenVoice repository, or the ``openvoice-cli``
package that ships the same classes) are imported only when needed, so the CPU worker can import
this module to look for weights without having them installed.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deck2video import config
from deck2video.errors import ProcessingError
from deck2video.fingerprint import file_sha256

if TYPE_CHECKING:
    import torch

CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.pth"
BASE_SPEAKERS = Path("base_speakers", "ses")
DEFAULT_WEIGHTS_DIR = Path("/opt/deck2video-models/openvoice-v2")  # where the GPU image has them

_DATA_KEYS = ("sampling_rate", "filter_length", "hop_length", "win_length")
# Text-to-speech parts of the shared VITS model; a converter never runs them, and some
# checkpoints carry them along. Everything else must match the model exactly.
_TEXT_SIDE_PREFIXES = ("enc_p.", "dp.", "sdp.", "emb_g.")


@dataclass(frozen=True, eq=False)
class Converter:
    """A loaded tone-colour converter and the audio framing it was trained with."""

    model: Any  # openvoice SynthesizerTrn, in eval mode, on ``device``
    weights_dir: Path
    device: str
    version: str  # the config's "_version_", e.g. "v2"
    sampling_rate: int
    filter_length: int
    hop_length: int
    win_length: int
    gin_channels: int
    checkpoint_sha256: str
    base_embeddings: Mapping[str, Any]  # base voice name ("en-us") -> (1, gin, 1) CPU tensor


# --- finding and loading weights ----------------------------------------------------------------


def find_weights(environ: Mapping[str, str] | None = None) -> Path | None:
    """The converter weights folder, or None when this deployment has none (no cloning).

    The deployment's ``openvoice_dir`` (``DECK2VIDEO_OPENVOICE_DIR``) names it explicitly (then
    it must be loadable: a typo should fail loudly, not silently skip cloning); otherwise the GPU
    image's folder if present.
    """
    named = config.Deployment.from_env(environ).openvoice_dir
    if named:
        return Path(named)
    if (DEFAULT_WEIGHTS_DIR / CHECKPOINT_FILE).is_file():
        return DEFAULT_WEIGHTS_DIR
    return None


def load_converter(weights_dir: str | os.PathLike[str], device: str = "cpu") -> Converter:
    """Load the converter in ``weights_dir`` onto ``device`` ("cpu", "cuda", "cuda:1" or
    "auto"); each folder and device is loaded once per process.

    Raises ProcessingError naming the file for a missing folder or file, a file that is not a
    PyTorch checkpoint, or a checkpoint whose tensors do not fit the config.
    """
    resolved = Path(weights_dir).expanduser().resolve()
    device = resolve_device(device)
    with _LOAD_LOCK:
        return _load_cached(resolved, device)


_LOAD_LOCK = threading.Lock()


@functools.cache
def _load_cached(weights_dir: Path, device: str) -> Converter:
    if not weights_dir.is_dir():
        raise ProcessingError(f"converter weights {weights_dir}: no such directory")
    config_path, checkpoint_path = weights_dir / CONFIG_FILE, weights_dir / CHECKPOINT_FILE
    for path in (config_path, checkpoint_path):
        if not path.is_file():
            raise ProcessingError(f"converter weights {weights_dir}: {path.name} is missing")
    config = _read_config(config_path)
    state = _read_state_dict(checkpoint_path)
    model = build_model(config, config_path)
    _check_fits(model, state, checkpoint_path, config_path)
    model.load_state_dict(state, strict=True)
    model.eval().to(device)
    data = config["data"]
    return Converter(
        model=model,
        weights_dir=weights_dir,
        device=device,
        version=str(config.get("_version_", "v1")),
        sampling_rate=int(data["sampling_rate"]),
        filter_length=int(data["filter_length"]),
        hop_length=int(data["hop_length"]),
        win_length=int(data["win_length"]),
        gin_channels=int(config["model"]["gin_channels"]),
        checkpoint_sha256=file_sha256(checkpoint_path),
        base_embeddings=_read_base_embeddings(weights_dir, int(config["model"]["gin_channels"])),
    )


def resolve_device(device: str) -> str:
    try:
        import torch
    except ImportError:
        raise ProcessingError("voice conversion: torch is not installed") from None

    device = device.strip().lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ProcessingError(f"converter device {device}: CUDA is not available here")
    return device


def _read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProcessingError(f"converter config {path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ProcessingError(f"converter config {path}: not a JSON object")
    data, model = config.get("data"), config.get("model")
    if not isinstance(data, dict) or not isinstance(model, dict):
        raise ProcessingError(f"converter config {path}: needs 'data' and 'model' objects")
    for key in _DATA_KEYS:
        if not isinstance(data.get(key), int) or data[key] <= 0:
            raise ProcessingError(f"converter config {path}: data.{key} must be a positive int")
    if not isinstance(model.get("gin_channels"), int):
        raise ProcessingError(f"converter config {path}: model.gin_channels must be an int")
    if data.get("n_speakers", 0) != 0:
        raise ProcessingError(
            f"converter config {path}: data.n_speakers is {data['n_speakers']}; "
            "a tone-colour converter has 0 (this looks like a text-to-speech model)"
        )
    return config


def _read_state_dict(path: Path) -> dict[str, Any]:
    import torch

    with path.open("rb") as src:
        magic = src.read(4)
    # torch.save writes a zip archive (or, before torch 1.6, a pickle that starts with 0x80).
    if magic != b"PK\x03\x04" and magic[:1] != b"\x80":
        raise ProcessingError(f"converter checkpoint {path}: not a PyTorch checkpoint file")
    try:
        # weights_only: a checkpoint from a download must not be able to run code on load.
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = first_line(exc)
        if "weights only" in reason.lower() or "weights_only" in reason.lower():
            reason = "it holds objects other than tensors, which are not loaded"
        raise ProcessingError(f"converter checkpoint {path}: unreadable ({reason})") from None
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("model"), dict):
        state = checkpoint["model"]
    elif isinstance(checkpoint, dict) and checkpoint:
        state = checkpoint  # a bare state dict
    else:
        raise ProcessingError(f"converter checkpoint {path}: no 'model' state dict in it")
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ProcessingError(f"converter checkpoint {path}: its state dict holds non-tensors")
    return {k: v for k, v in state.items() if not k.startswith(_TEXT_SIDE_PREFIXES)}


def _model_class() -> type:
    # The OpenVoice repository installs "openvoice"; the openvoice-cli package ships the same
    # model classes as "openvoice_cli". Either will do.
    for module in ("openvoice.models", "openvoice_cli.models"):
        try:
            with warnings.catch_warnings():  # its torch.jit.script use is deprecated, not broken
                warnings.simplefilter("ignore", DeprecationWarning)
                return importlib.import_module(module).SynthesizerTrn
        except ImportError:
            continue
    raise ProcessingError(
        "voice conversion: OpenVoice's model code is not installed "
        "(the openvoice package, or openvoice-cli installed with --no-deps)"
    )


def build_model(config: dict[str, Any], config_path: Path) -> Any:
    model_class = _model_class()
    data = config["data"]
    with warnings.catch_warnings():
        # The model code uses torch's older weight_norm, which still loads its checkpoints.
        warnings.filterwarnings("ignore", message=".*weight_norm.*")
        try:
            return model_class(
                len(config.get("symbols", [])),
                data["filter_length"] // 2 + 1,
                n_speakers=data.get("n_speakers", 0),
                **config["model"],
            )
        except (TypeError, ValueError, KeyError, RuntimeError) as exc:
            raise ProcessingError(
                f"converter config {config_path}: cannot build the model ({first_line(exc)})"
            ) from None


def _check_fits(model: Any, state: Mapping[str, Any], checkpoint: Path, config: Path) -> None:
    """Name the first few disagreements instead of torch's page-long strict-load error."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    resized = [
        f"{k} is {_shape(state[k])} in the checkpoint, {_shape(v)} by the config"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    problems = []
    if resized:
        problems.append(f"{len(resized)} tensor(s) differ in shape, e.g. {resized[0]}")
    if missing:
        problems.append(f"{len(missing)} tensor(s) missing, e.g. {missing[0]}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensor(s), e.g. {unexpected[0]}")
    if problems:
        raise ProcessingError(
            f"converter checkpoint {checkpoint}: does not match {config} ({'; '.join(problems)})"
        )


def _shape(tensor: Any) -> str:
    return "x".join(str(n) for n in tensor.shape) or "scalar"


def _read_base_embeddings(weights_dir: Path, gin_channels: int) -> dict[str, Any]:
    import torch

    for folder in (weights_dir / BASE_SPEAKERS, weights_dir.parent / BASE_SPEAKERS):
        files = sorted(folder.glob("*.pth"))
        if not files:
            continue
        embeddings = {}
        for path in files:
            try:
                tensor = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as exc:
                raise ProcessingError(
                    f"base speaker embedding {path}: unreadable ({first_line(exc)})"
                ) from None
            embeddings[path.stem] = checked_embedding(tensor, gin_channels, str(path))
        return embeddings
    return {}


def first_line(error: BaseException) -> str:
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    return (lines[0] if lines else type(error).__name__)[:200]


def checked_embedding(value: Any, gin_channels: int, what: str) -> torch.Tensor:
    import torch

    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor) or value.numel() != gin_channels:
        shape = tuple(value.shape) if hasattr(value, "shape") else type(value).__name__
        raise ProcessingError(
            f"{what}: not a speaker embedding of {gin_channels} values (got {shape})"
        )
    value = value.detach().float().cpu().reshape(1, gin_channels, 1)
    if not torch.isfinite(value).all():
        raise ProcessingError(f"{what}: speaker embedding has non-finite values")
    return value
