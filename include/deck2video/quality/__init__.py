"""Narration quality, measured on each slide's audio: does it sound like the presenter, is it
clean speech, is it paced right.

- speaker similarity: cosine of two speaker embeddings (resemblyzer's encoder, its weights in
  its wheel), the narration's against the cleaned reference recording's;
- DNSMOS (speechmos, ONNX models in its wheel): P.808's overall score on every slide, and P.835's
  signal, background and overall (1 to 5) where they matter, see below;
- pace: spoken words over speech time, and the longest silence that no ``[PAUSE]`` asked for;
- clipping (share of samples at full scale) and the speech level.

Cost is bounded per slide, whatever its length: DNSMOS hears one window of its models' input
length (9.01 s) from the middle of the slide, the speaker encoder at most
:data:`SPEAKER_SECONDS` of its speech, both in the calling thread (one core). P.835 costs 0.37
CPU-seconds a window here, as much as Piper takes to speak it, P.808 0.012: so every slide gets
P.808, and P.835 (:func:`dnsmos_p835`) is for the slides P.808 does not clear and a small sample
(the job step chooses them, :func:`needs_p835`). The models load once per process and never
download.

By concern: :mod:`.models` (loading the models, running them), :mod:`.measures` (what a slide's
audio measures), :mod:`.thresholds` (judging the measures, the job's figures). The frames, the
speech detector and the mel front end are :mod:`deck2video.audio`'s.
"""

from deck2video.quality.measures import (
    QUALITY_VERSION,
    REFERENCE_SECONDS,
    SPEAKER_SECONDS,
    Narration,
    add_p835,
    asked_silences,
    dnsmos_window,
    score,
    voice_embedding,
)
from deck2video.quality.models import (
    EXTRA,
    Models,
    dnsmos_p808,
    dnsmos_p835,
    embedding_bytes,
    embedding_from_bytes,
    load_models,
    similarity,
    speaker_embedding,
)
from deck2video.quality.thresholds import needs_p835, problems, summarise, summary_line

__all__ = [
    "EXTRA",
    "QUALITY_VERSION",
    "REFERENCE_SECONDS",
    "SPEAKER_SECONDS",
    "Models",
    "Narration",
    "add_p835",
    "asked_silences",
    "dnsmos_p808",
    "dnsmos_p835",
    "dnsmos_window",
    "embedding_bytes",
    "embedding_from_bytes",
    "load_models",
    "needs_p835",
    "problems",
    "score",
    "similarity",
    "speaker_embedding",
    "summarise",
    "summary_line",
    "voice_embedding",
]
