"""Voice-conversion benchmark: how fast the OpenVoice V2 converter runs on this machine.

Loads the converter (real weights from --weights, else random weights in the released V2
layout, which cost the same to run), extracts a speaker embedding, converts N slides of
narration-length audio and prints one table: load time, embedding time, conversion time,
real-time factor and peak GPU memory. Runs on CPU too (the device column then says "cpu").

    python bench/gpu_bench.py                       # random V2 weights, GPU if there is one
    python bench/gpu_bench.py --weights /opt/deck2video-models/openvoice-v2 --slides 30 --seconds 20
    python bench/gpu_bench.py --json result.json    # the same numbers, machine-readable

It needs torch, numpy, soxr, soundfile, librosa and OpenVoice's model code (``openvoice`` or
``pip install --no-deps openvoice-cli``); the deck2video package is found in ../include if it is
not installed. The audio is synthetic (buzzy vowels with pauses): timing does not depend on what
is said.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

try:
    import deck2video  # noqa: F401
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from deck2video.audio import SAMPLE_RATE
from deck2video.speech import convert, embedding
from deck2video.speech.weights import load_converter, resolve_device
from tests.support import openvoice_weights


def speechlike(seconds: float, *, seed: int, pitch: float = 140.0) -> np.ndarray:
    """Syllable-sized bursts of a glottal-pulse-like buzz with a wandering pitch, and pauses."""
    rng = np.random.default_rng(seed)
    out = np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)
    position = 0
    while position < out.size:
        length = int(rng.uniform(0.12, 0.3) * SAMPLE_RATE)
        t = np.arange(length) / SAMPLE_RATE
        f0 = pitch * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(1, 4) * t))
        phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
        buzz = sum(np.sin(k * phase) / k for k in range(1, 12))
        envelope = np.sin(np.pi * np.arange(length) / length) ** 2
        burst = (0.15 * buzz * envelope).astype(np.float32)
        end = min(out.size, position + length)
        out[position:end] = burst[: end - position]
        position = end + int(rng.choice([0.03, 0.05, 0.4]) * SAMPLE_RATE)  # gaps and pauses
    return out


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run(args: argparse.Namespace) -> dict:
    import librosa
    import torch

    # librosa loads scipy.signal lazily on first use (seconds): keep that out of the timings.
    librosa.effects.split(np.ones(4096, dtype=np.float32))

    device = resolve_device(args.device)
    on_gpu = device.startswith("cuda")
    slides = args.slides or (10 if on_gpu else 2)
    seconds = args.seconds or (20.0 if on_gpu else 2.0)
    result: dict = {
        "device": torch.cuda.get_device_name(device) if on_gpu else "cpu",
        "torch": torch.__version__,
        "weights": str(args.weights) if args.weights else "random (V2 layout)",
    }
    with tempfile.TemporaryDirectory(prefix="deck2video-bench-") as tmp:
        weights = args.weights
        if weights is None:
            started = time.perf_counter()
            weights = openvoice_weights.write_random_weights(Path(tmp) / "openvoice-v2")
            result["make_random_weights_s"] = time.perf_counter() - started
        if on_gpu:
            torch.cuda.reset_peak_memory_stats(device)

        started = time.perf_counter()
        converter = load_converter(weights, device)
        synchronize(device)
        result["load_s"] = time.perf_counter() - started
        if on_gpu:
            result["model_mib"] = torch.cuda.memory_allocated(device) / 2**20

        reference = speechlike(args.reference_seconds, seed=1, pitch=190.0)
        started = time.perf_counter()
        target = embedding.extract_embedding(converter, reference)
        synchronize(device)
        result["embedding_s"] = time.perf_counter() - started
        result["reference_s"] = args.reference_seconds

        source = converter.base_embeddings.get("en-us")
        if source is None:
            source = embedding.extract_embedding(converter, speechlike(10.0, seed=2))

        convert.convert(converter, speechlike(1.0, seed=3), source, target)  # warm-up (cuDNN)
        synchronize(device)
        times = []
        for slide in range(slides):
            audio = speechlike(seconds, seed=100 + slide)
            started = time.perf_counter()
            out = convert.convert(converter, audio, source, target, args.tau)
            synchronize(device)
            times.append(time.perf_counter() - started)
            if out.shape != audio.shape or not np.isfinite(out).all():
                raise SystemExit(
                    f"slide {slide + 1}: bad output {out.shape}, expected {audio.shape}"
                )
        result.update(
            slides=slides,
            seconds_per_slide=seconds,
            convert_total_s=sum(times),
            convert_median_s=statistics.median(times),
            convert_max_s=max(times),
            real_time_factor=sum(times) / (slides * seconds),
        )
        if on_gpu:
            result["peak_gpu_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return result


def table(result: dict) -> str:
    rows = [
        ("device", result["device"]),
        ("torch", result["torch"]),
        ("weights", result["weights"]),
    ]
    if "make_random_weights_s" in result:
        rows.append(("make random weights", f"{result['make_random_weights_s']:.2f} s"))
    rows += [
        ("load converter", f"{result['load_s']:.2f} s"),
        (
            "speaker embedding",
            f"{result['embedding_s']:.3f} s for {result['reference_s']:g} s of reference",
        ),
        ("slides converted", f"{result['slides']} x {result['seconds_per_slide']:g} s of audio"),
        ("conversion total", f"{result['convert_total_s']:.2f} s"),
        (
            "per slide (median / max)",
            f"{result['convert_median_s']:.3f} s / {result['convert_max_s']:.3f} s",
        ),
        (
            "real-time factor",
            f"{result['real_time_factor']:.4f} ({1 / result['real_time_factor']:.1f}x real time)",
        ),
    ]
    if "peak_gpu_mib" in result:
        rows.append(("GPU memory: model", f"{result['model_mib']:.0f} MiB"))
        rows.append(("GPU memory: peak", f"{result['peak_gpu_mib']:.0f} MiB"))
    else:
        rows.append(("GPU memory: peak", "n/a (cpu)"))
    width = max(len(name) for name, _ in rows)
    line = "-" * (width + 2) + "+" + "-" * (max(len(v) for _, v in rows) + 2)
    body = [f" {name:<{width}} | {value}" for name, value in rows]
    return "\n".join([line, *body, line])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, help="converter folder (default: random weights)")
    parser.add_argument("--device", default="auto", help="auto (default), cuda, cuda:N or cpu")
    parser.add_argument("--slides", type=int, help="slides to convert (default: 10 GPU, 2 CPU)")
    parser.add_argument("--seconds", type=float, help="audio per slide (default: 20 GPU, 2 CPU)")
    parser.add_argument("--reference-seconds", type=float, default=20.0)
    parser.add_argument("--tau", type=float, default=convert.DEFAULT_TAU)
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args(argv)
    result = run(args)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
