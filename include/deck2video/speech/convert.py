"""Voice cloning: OpenVoice V2's tone-colour converter re-voices any base backend's speech.

The converter keeps what was said and how (timing, intonation) and swaps the timbre: it encodes
the base audio under the base voice's speaker embedding and decodes it under the reference
speaker's. So the pieces are

- :func:`load_converter`: the model, once per process, from a weights folder laid out as
  ``config.json``, ``checkpoint.pth`` and optionally ``base_speakers/ses/<name>.pth`` (the
  embeddings of MeloTTS's base voices; the upstream download's ``converter/`` folder with
  ``base_speakers/`` beside it works too);
- :func:`extract_embedding`: the reference speaker's embedding, once per recording (store it
  with :func:`embedding_to_bytes` under :func:`embedding_cache_key`, never recompute per slide);
- :func:`source_embedding`: the base voice's embedding, once per process and backend;
- :func:`convert` / :class:`ConvertedBackend`: per spoken chunk.

torch, librosa and the model code (``openvoice`` from the OpenVoice repository, or the
``openvoice-cli`` package that ships the same classes) are imported only when needed, so the
CPU worker can import this module to look for weights without having them installed.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import os
import re
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deck2video.errors import InputError, ProcessingError
from deck2video.fingerprint import file_sha256
from deck2video.speech.audio import SAMPLE_RATE, resample

if TYPE_CHECKING:
    import torch

    from deck2video.speech import Backend

__all__ = [
    "DEFAULT_TAU",
    "V2_CONFIG",
    "ConvertedBackend",
    "Converter",
    "convert",
    "embedding_cache_key",
    "embedding_from_bytes",
    "embedding_to_bytes",
    "extract_embedding",
    "find_weights",
    "load_converter",
    "load_embedding",
    "save_embedding",
    "source_embedding",
    "write_random_weights",
]

CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.pth"
BASE_SPEAKERS = Path("base_speakers", "ses")
WEIGHTS_ENV = "DECK2VIDEO_OPENVOICE_DIR"
DEFAULT_WEIGHTS_DIR = Path("/opt/deck2video-models/openvoice-v2")  # where the GPU image has them

# How strongly the base recording's fine detail is resampled (OpenVoice's default): 0 keeps
# it exactly, higher values trade fidelity to the base audio for more of the target's timbre.
DEFAULT_TAU = 0.3
# Less speech than this gives an embedding that wanders from one take to the next.
MIN_SPEECH_SECONDS = 3.0
# The reference's speech is cut into pieces of about this length and their embeddings averaged:
# long enough for the reference encoder to settle on a timbre, short enough to average a few.
PIECE_SECONDS = 6.0
# Level below the loudest frame that counts as a pause when picking out the voiced parts.
SILENCE_TOP_DB = 35.0

# The released V2 converter's configuration (its config.json), used to build random weights in
# the real layout for the tests and the benchmark.
V2_CONFIG: dict[str, Any] = {
    "_version_": "v2",
    "data": {
        "sampling_rate": 22050,
        "filter_length": 1024,
        "hop_length": 256,
        "win_length": 1024,
        "n_speakers": 0,
    },
    "model": {
        "zero_g": True,
        "inter_channels": 192,
        "hidden_channels": 192,
        "filter_channels": 768,
        "n_heads": 2,
        "n_layers": 6,
        "kernel_size": 3,
        "p_dropout": 0.1,
        "resblock": "1",
        "resblock_kernel_sizes": [3, 7, 11],
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        "upsample_rates": [8, 8, 2, 2],
        "upsample_initial_channel": 512,
        "upsample_kernel_sizes": [16, 16, 4, 4],
        "gin_channels": 256,
    },
}
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

    ``DECK2VIDEO_OPENVOICE_DIR`` names it explicitly (then it must be loadable: a typo should
    fail loudly, not silently skip cloning); otherwise the GPU image's folder if present.
    """
    environ = os.environ if environ is None else environ
    named = environ.get(WEIGHTS_ENV, "").strip()
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
    device = _resolve_device(device)
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
    model = _build_model(config, config_path)
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


def _resolve_device(device: str) -> str:
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
        reason = _first_line(exc)
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


def _build_model(config: dict[str, Any], config_path: Path) -> Any:
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
                f"converter config {config_path}: cannot build the model ({_first_line(exc)})"
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
                    f"base speaker embedding {path}: unreadable ({_first_line(exc)})"
                ) from None
            embeddings[path.stem] = _checked_embedding(tensor, gin_channels, str(path))
        return embeddings
    return {}


def _first_line(error: BaseException) -> str:
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    return (lines[0] if lines else type(error).__name__)[:200]


# --- embeddings ---------------------------------------------------------------------------------


def extract_embedding(
    converter: Converter,
    reference: str | os.PathLike[str] | np.ndarray,
    *,
    sample_rate: int = SAMPLE_RATE,
    min_speech_seconds: float = MIN_SPEECH_SECONDS,
) -> torch.Tensor:
    """The speaker embedding of a reference recording: a (1, gin_channels, 1) CPU tensor.

    ``reference`` is an audio file (the cleaned 24 kHz reference) or float samples at
    ``sample_rate``. Only the voiced parts count; too little speech raises InputError.
    """
    import torch

    what = f"reference voice {Path(reference).name}" if _is_path(reference) else "reference voice"
    samples, rate = _read_samples(reference, sample_rate, what)
    samples = resample(samples, rate, converter.sampling_rate)
    speech = _voiced(samples, converter)
    seconds = speech.size / converter.sampling_rate
    if seconds < min_speech_seconds:
        raise InputError(
            f"{what}: only {seconds:.1f} s of speech; voice cloning needs at least "
            f"{min_speech_seconds:g} s"
        )
    pieces = np.array_split(speech, max(1, round(seconds / PIECE_SECONDS)))
    with torch.inference_mode():
        found = [
            converter.model.ref_enc(_spectrogram(converter, piece).transpose(1, 2))
            for piece in pieces
        ]
        embedding = torch.stack(found).mean(0).unsqueeze(-1).float().cpu()
    if not torch.isfinite(embedding).all():
        raise ProcessingError(f"{what}: the converter produced a non-finite embedding")
    return embedding


def _is_path(reference: object) -> bool:
    return isinstance(reference, str | os.PathLike)


def _read_samples(
    reference: str | os.PathLike[str] | np.ndarray, sample_rate: int, what: str
) -> tuple[np.ndarray, int]:
    if not _is_path(reference):
        samples = np.asarray(reference, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"{what}: expected mono samples, got shape {samples.shape}")
        return samples, sample_rate
    import soundfile

    try:
        samples, rate = soundfile.read(os.fspath(reference), dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as exc:  # soundfile.LibsndfileError is a RuntimeError
        raise InputError(f"{what}: not a readable audio file ({_first_line(exc)})") from None
    return samples.mean(axis=1), int(rate)


def _voiced(samples: np.ndarray, converter: Converter) -> np.ndarray:
    """The recording with its pauses cut out: silence says nothing about the voice."""
    import librosa

    if samples.size < converter.filter_length:
        return samples[:0]
    intervals = librosa.effects.split(
        samples,
        top_db=SILENCE_TOP_DB,
        frame_length=converter.filter_length,
        hop_length=converter.hop_length,
    )
    # The split is relative to the loudest frame, so a silent recording would be all "voice":
    # parts quieter than an absolute floor are not speech either way.
    voiced = [samples[a:b] for a, b in intervals if np.sqrt(np.mean(samples[a:b] ** 2)) > 1e-3]
    return np.concatenate(voiced) if voiced else samples[:0]


def _spectrogram(converter: Converter, samples: np.ndarray) -> torch.Tensor:
    """Linear magnitude spectrogram (1, filter_length // 2 + 1, frames), framed as in training:
    reflect-padded by half the window overlap on each side, then not centred."""
    import torch
    import torch.nn.functional as F

    y = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)).to(converter.device)
    pad = (converter.filter_length - converter.hop_length) // 2
    y = F.pad(y.view(1, 1, -1), (pad, pad), mode="reflect").view(1, -1)
    window = torch.hann_window(converter.win_length, device=converter.device)
    spec = torch.stft(
        y,
        converter.filter_length,
        hop_length=converter.hop_length,
        win_length=converter.win_length,
        window=window,
        center=False,
        return_complex=True,
    )
    return torch.sqrt(spec.real.square() + spec.imag.square() + 1e-6)


def _checked_embedding(value: Any, gin_channels: int, what: str) -> torch.Tensor:
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


def embedding_cache_key(recording_sha256: str, checkpoint_sha256: str) -> str:
    """File name of a reference's embedding, e.g. ``embedding-<16 hex>-<16 hex>.npy``.

    It depends only on the cleaned recording and the converter checkpoint, so the same voice
    reused in another job (or folder) finds its embedding instead of recomputing it.
    """
    for name, sha in (("recording", recording_sha256), ("checkpoint", checkpoint_sha256)):
        if not re.fullmatch(r"[0-9a-f]{16,64}", sha):
            raise ValueError(f"{name} sha256 {sha!r}: expected lower-case hex")
    return f"embedding-{recording_sha256[:16]}-{checkpoint_sha256[:16]}.npy"


def embedding_to_bytes(embedding: Any) -> bytes:
    """A .npy file's bytes (no pickle inside, so loading one is safe)."""
    array = np.asarray(embedding.detach().cpu() if hasattr(embedding, "detach") else embedding)
    buffer = io.BytesIO()
    np.save(buffer, array.astype(np.float32), allow_pickle=False)
    return buffer.getvalue()


def embedding_from_bytes(
    data: bytes, *, gin_channels: int | None = None, what: str = "speaker embedding"
) -> torch.Tensor:
    """Inverse of :func:`embedding_to_bytes`; ``what`` names the source in errors."""
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ProcessingError(
            f"{what}: not a .npy speaker embedding ({_first_line(exc)})"
        ) from None
    return _checked_embedding(array, gin_channels or array.size, what)


def save_embedding(path: str | os.PathLike[str], embedding: Any) -> Path:
    """Write atomically: parallel slide tasks may race to store the same embedding."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    partial.write_bytes(embedding_to_bytes(embedding))
    os.replace(partial, path)
    return path


def load_embedding(path: str | os.PathLike[str], *, gin_channels: int | None = None) -> Any:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProcessingError(f"speaker embedding {path}: no such file") from None
    return embedding_from_bytes(data, gin_channels=gin_channels, what=f"speaker embedding {path}")


# --- the base voice's embedding -----------------------------------------------------------------

# Read by the base voice to learn its timbre when the weights folder has no embedding for it
# (Piper, or any other backend): about 20 s of ordinary sentences with varied sounds.
CALIBRATION_TEXT = (
    "The quick brown fox jumps over the lazy dog. "
    "We measured the results twice, and the numbers were clear. "
    "She asked whether the new schedule would change anything for the team. "
    "Good ideas often start as small experiments that nobody expects to work. "
    "Thank you for joining us today; let's look at what happens next."
)
_SOURCE_CACHE: dict[tuple[str, str, str, str], Any] = {}
_SOURCE_LOCK = threading.Lock()


def source_embedding(converter: Converter, backend: Backend) -> torch.Tensor:
    """The embedding of the voice ``backend`` speaks with, once per process.

    A backend with an ``embedding_name`` attribute (MeloTTS's voices, e.g. "en-us") uses the
    matching ``base_speakers/ses`` file when the weights folder has it; otherwise the backend
    reads :data:`CALIBRATION_TEXT` and the embedding is taken from that.
    """
    name = getattr(backend, "embedding_name", None)
    if name and name in converter.base_embeddings:
        return converter.base_embeddings[name]
    key = (converter.checkpoint_sha256, converter.device, backend.name, backend.model_version)
    with _SOURCE_LOCK:
        if key not in _SOURCE_CACHE:
            spoken = backend.synthesize(CALIBRATION_TEXT, speed=1.0)
            _SOURCE_CACHE[key] = extract_embedding(converter, spoken, sample_rate=SAMPLE_RATE)
        return _SOURCE_CACHE[key]


# --- conversion ---------------------------------------------------------------------------------


def convert(
    converter: Converter,
    audio_24k: np.ndarray,
    source_embedding: Any,
    target_embedding: Any,
    tau: float = DEFAULT_TAU,
    *,
    seed: int = 0,
) -> np.ndarray:
    """Re-voice ``audio_24k`` (float32 mono at 24 kHz) from the source speaker to the target.

    Returns float32 at 24 kHz with exactly as many samples as the input, so caption cues
    computed on the base audio stay valid. ``seed`` fixes the converter's sampling noise: the
    same input gives the same output, which keeps re-runs and the audio cache consistent.
    """
    import torch

    samples = np.asarray(audio_24k, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"convert: expected mono samples, got shape {samples.shape}")
    if samples.size == 0:
        return samples.copy()
    source = _on_device(converter, source_embedding, "source embedding")
    target = _on_device(converter, target_embedding, "target embedding")
    base = resample(samples, SAMPLE_RATE, converter.sampling_rate)
    # Reflect padding needs at least a window of signal; one extra hop makes the frames cover
    # the last partial hop. The result is cut back to the input's length below.
    base = np.pad(base, (0, max(0, converter.filter_length - base.size) + converter.hop_length))
    spec = _spectrogram(converter, base)
    lengths = torch.tensor([spec.shape[-1]], device=converter.device)
    devices = [torch.device(converter.device).index or 0] if converter.device != "cpu" else []
    with torch.inference_mode(), torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        voiced = converter.model.voice_conversion(
            spec, lengths, sid_src=source, sid_tgt=target, tau=tau
        )[0]
    out = resample(voiced[0, 0].float().cpu().numpy(), converter.sampling_rate, SAMPLE_RATE)
    return _fit_length(out, samples.size)


def _on_device(converter: Converter, embedding: Any, what: str) -> torch.Tensor:
    return _checked_embedding(embedding, converter.gin_channels, what).to(converter.device)


def _fit_length(samples: np.ndarray, size: int) -> np.ndarray:
    if samples.size >= size:
        return np.ascontiguousarray(samples[:size], dtype=np.float32)
    return np.pad(samples, (0, size - samples.size)).astype(np.float32, copy=False)


class ConvertedBackend:
    """A base backend whose speech comes out in the reference speaker's voice.

    It is a Backend itself, so ``synthesize_slide`` and ``cache_key`` work unchanged: the
    model version names the converter checkpoint and tau (the target voice is already in
    ``cache_key``'s ``voice_sha256``).
    """

    def __init__(
        self,
        base: Backend,
        converter: Converter,
        target_embedding: Any,
        *,
        tau: float = DEFAULT_TAU,
        source: Any = None,
    ) -> None:
        self.base = base
        self.converter = converter
        self.name = base.name
        self.tau = tau
        self.target = _checked_embedding(target_embedding, converter.gin_channels, "target")
        source = source if source is not None else source_embedding(converter, base)
        self.source = _checked_embedding(source, converter.gin_channels, "source")
        self.model_version = (
            f"{base.model_version}+openvoice-{converter.version}"
            f"-{converter.checkpoint_sha256[:16]}-tau{tau:g}"
        )

    def synthesize(self, text: str, *, speed: float) -> np.ndarray:
        spoken = self.base.synthesize(text, speed=speed)
        return convert(self.converter, spoken, self.source, self.target, self.tau)


# --- random weights in the real layout (tests, benchmark) ---------------------------------------


def write_random_weights(
    weights_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
    config: Mapping[str, Any] | None = None,
    base_speakers: tuple[str, ...] = ("en-us",),
) -> Path:
    """Write config.json + checkpoint.pth (+ base speaker embeddings) with random weights.

    The layout and shapes are the released converter's (``V2_CONFIG`` by default), so
    loading and inference run the same code and cost the same time as with real weights;
    only the sound is meaningless. Every tensor is random, so both embeddings change the
    output as they do with trained weights.
    """
    import torch

    config = json.loads(json.dumps(config or V2_CONFIG))  # a deep copy that is plain JSON
    weights_dir = Path(weights_dir)
    (weights_dir / BASE_SPEAKERS).mkdir(parents=True, exist_ok=True)
    (weights_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _build_model(config, weights_dir / CONFIG_FILE)
        with torch.no_grad():
            for tensor in model.parameters():
                if not tensor.any():  # zero-initialised (e.g. the flows' last layers): without
                    tensor.normal_(0.0, 0.02)  # this the embeddings would have no effect
        torch.save({"model": model.state_dict(), "iteration": 0}, weights_dir / CHECKPOINT_FILE)
        gin = int(config["model"]["gin_channels"])
        for name in base_speakers:
            torch.save(torch.randn(1, gin, 1), weights_dir / BASE_SPEAKERS / f"{name}.pth")
    return weights_dir
