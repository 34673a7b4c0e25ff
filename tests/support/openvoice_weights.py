"""Random converter weights in the released V2 layout, for the tests and the GPU benchmark.

Never used by the product: with these weights loading and inference run the same code and cost
the same time as with trained ones, but the sound is meaningless.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deck2video.speech.weights import (
    BASE_SPEAKERS,
    CHECKPOINT_FILE,
    CONFIG_FILE,
    build_model,
)

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


# The same framing with small layers, for tests that need many conversions.
TINY_CONFIG = copy.deepcopy(V2_CONFIG)
TINY_CONFIG["model"].update(
    inter_channels=16,
    hidden_channels=16,
    filter_channels=32,
    n_layers=1,
    p_dropout=0.0,
    resblock_kernel_sizes=[3],
    resblock_dilation_sizes=[[1, 3, 5]],
    upsample_initial_channel=32,
    gin_channels=32,
)


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

    config = dict(json.loads(json.dumps(config or V2_CONFIG)))  # a deep copy, plain JSON
    weights_dir = Path(weights_dir)
    (weights_dir / BASE_SPEAKERS).mkdir(parents=True, exist_ok=True)
    (weights_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(config, weights_dir / CONFIG_FILE)
        with torch.no_grad():
            for tensor in model.parameters():
                if not tensor.any():  # zero-initialised (e.g. the flows' last layers): without
                    tensor.normal_(0.0, 0.02)  # this the embeddings would have no effect
        torch.save({"model": model.state_dict(), "iteration": 0}, weights_dir / CHECKPOINT_FILE)
        gin = int(config["model"]["gin_channels"])
        for name in base_speakers:
            torch.save(torch.randn(1, gin, 1), weights_dir / BASE_SPEAKERS / f"{name}.pth")
    return weights_dir
