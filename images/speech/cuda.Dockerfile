# syntax=docker/dockerfile:1.7
# deck2video GPU speech image: MeloTTS (base voices, six languages) + OpenVoice V2 tone-colour
# conversion (voice cloning), on CUDA. It runs one pipeline step per container, e.g.
#   docker run --rm --gpus all deck2video-speech:0.1.0-cuda speak --job s3://bucket/jobs/ID --slide 3
#
# Build from the repository root (only pyproject.toml, README.md, include/ and the checkpoint
# lock are sent, see cuda.Dockerfile.dockerignore beside this file):
#   DOCKER_BUILDKIT=1 docker build -f images/speech/cuda.Dockerfile -t deck2video-speech:0.1.0-cuda .
# Other CUDA versions: --build-arg CUDA_IMAGE=... --build-arg TORCH_INDEX=... (a matching pair).
#
# Everything the models fetch at run time is fetched here, at build time: the MeloTTS and
# OpenVoice checkpoints, the BERT models MeloTTS reads, the unidic dictionary and NLTK's data.
# The checkpoints and upstream code come exactly as images/speech/checkpoints.lock pins them (by
# commit and SHA-256, verified); the build refuses to start while the lock misses a value.
# The image then runs with HF_HUB_OFFLINE=1 / TRANSFORMERS_OFFLINE=1, and the last build step
# proves it: it synthesizes and converts a sentence in every language, offline, as the runtime
# user, so a build that succeeds has everything it needs.

ARG CUDA_IMAGE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.5.11

FROM ${UV_IMAGE} AS uv

FROM ${CUDA_IMAGE}

ARG PYTHON_VERSION=3.11.11
ARG TORCH_VERSION=2.5.1
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu124

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_NO_CACHE=1 \
    UV_LINK_MODE=copy \
    VIRTUAL_ENV=/opt/deck2video \
    PATH=/opt/deck2video/bin:$PATH \
    HF_HOME=/opt/hf \
    NLTK_DATA=/opt/nltk_data \
    DECK2VIDEO_OPENVOICE_DIR=/opt/deck2video-models/openvoice-v2 \
    HOME=/home/deck2video

# libsndfile for soundfile; ffmpeg for pydub (MeloTTS imports it); unzip for the checkpoints.
# Not pinned: Ubuntu drops superseded versions from its archive, so pins break rebuilds; the
# CUDA_IMAGE tag fixes the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates curl ffmpeg libsndfile1 unzip \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 deck2video \
    && useradd --system --uid 10001 --gid deck2video --create-home \
        --home-dir /home/deck2video --shell /usr/sbin/nologin deck2video

COPY --from=uv /uv /usr/local/bin/uv

# Python (a standalone build: Ubuntu 22.04's own is 3.10); the checkpoint lock must be whole
# before anything slow (fetch_checkpoints.py names each missing value); torch for CUDA.
COPY images/speech/checkpoints.lock images/speech/fetch_checkpoints.py /opt/deck2video-build/
RUN uv python install "${PYTHON_VERSION}" \
    && uv venv --python "${PYTHON_VERSION}" /opt/deck2video \
    && python /opt/deck2video-build/fetch_checkpoints.py --check \
        /opt/deck2video-build/checkpoints.lock /opt/deck2video-build/downloads \
    && uv pip install --index-url "${TORCH_INDEX}" \
        "torch==${TORCH_VERSION}" "torchaudio==${TORCH_VERSION}"

# MeloTTS's run-time requirements (its requirements.txt without the web UI and training tools),
# pinned. transformers 4.27 is what its models were trained against; cached-path (imported by
# melo.download_utils) caps huggingface-hub below 0.24.
RUN uv pip install \
        "numpy==1.26.4" "librosa==0.10.2.post1" "soundfile==0.12.1" "soxr==0.5.0.post1" \
        "transformers==4.27.4" "tokenizers==0.13.3" "huggingface-hub==0.23.5" \
        "cached-path==1.6.3" "rich==13.9.4" "filelock==3.13.4" "txtsplit==1.0.0" \
        "num2words==0.5.12" "unidic-lite==1.0.8" "unidic==1.1.0" "mecab-python3==1.0.9" \
        "pykakasi==2.2.1" "fugashi==1.3.0" "g2p-en==2.1.0" "nltk==3.9.1" "anyascii==0.3.2" \
        "jamo==0.4.1" "gruut[de,es,fr]==2.2.3" "g2pkk==0.1.2" "python-mecab-kor==1.2.8" \
        "pydub==0.25.1" "eng-to-ipa==0.0.2" "inflect==7.0.0" "unidecode==1.3.7" \
        "pypinyin==0.50.0" "cn2an==0.5.22" "jieba==0.42.1" "langid==1.1.6" "tqdm==4.67.1" \
        "loguru==0.7.2"

# Everything the lock pins, verified, in one layer (so the archives do not stay in the image):
# the MeloTTS checkpoints and the BERT models its text front ends load (into the Hugging Face
# cache, where the offline loaders look), MeloTTS's and OpenVoice's code at fixed commits, and
# the OpenVoice V2 converter and base speaker embeddings; then the data the text front ends
# would otherwise download on first use (unidic's dictionary, NLTK's taggers: not pinned).
# MeloTTS is installed editable from its full source tree: its setup.py packages only some of
# the data files its text front ends read. Neither package's declared dependencies are
# installed (they pin a CPU-era numpy, gradio, whisper...): the layer above has what inference
# needs, and the last step proves it.
RUN python /opt/deck2video-build/fetch_checkpoints.py \
        /opt/deck2video-build/checkpoints.lock /opt/deck2video-build/downloads \
    && mkdir -p /opt/src/MeloTTS /tmp/ov "${DECK2VIDEO_OPENVOICE_DIR}/base_speakers" \
    && tar -xzf /opt/deck2video-build/downloads/melotts.tar.gz -C /opt/src/MeloTTS \
        --strip-components 1 \
    && uv pip install --no-deps --editable /opt/src/MeloTTS \
    && uv pip install --no-deps /opt/deck2video-build/downloads/openvoice.tar.gz \
    && unzip -q /opt/deck2video-build/downloads/openvoice-v2.zip -d /tmp/ov \
    && mv /tmp/ov/checkpoints_v2/converter/config.json \
        /tmp/ov/checkpoints_v2/converter/checkpoint.pth "${DECK2VIDEO_OPENVOICE_DIR}/" \
    && mv /tmp/ov/checkpoints_v2/base_speakers/ses "${DECK2VIDEO_OPENVOICE_DIR}/base_speakers/" \
    && rm -rf /tmp/ov /opt/deck2video-build \
    && python -m unidic download \
    && python -m nltk.downloader -q -d "${NLTK_DATA}" \
        averaged_perceptron_tagger averaged_perceptron_tagger_eng cmudict

# deck2video itself last: this layer alone changes when only our code does.
COPY pyproject.toml README.md /tmp/src/
COPY include/ /tmp/src/include/
RUN uv pip install "/tmp/src[piper]" \
    && rm -rf /tmp/src \
    && deck2video --help >/dev/null

ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

USER 10001:10001
WORKDIR /home/deck2video

# Offline, as the runtime user: every language loads and speaks, and the converter re-voices it.
RUN python - <<'EOF'
import numpy as np
from deck2video.speech import convert
from deck2video.speech.melo import MeloBackend

converter = convert.load_converter(convert.find_weights(), "cpu")
sentences = {
    "en-us": "The quarterly numbers look good.",
    "en-gb": "Thank you for listening.",
    "es": "Gracias por su atención.",
    "fr": "Merci de votre attention.",
    "zh": "谢谢大家的关注。",
    "ja": "ご清聴ありがとうございました。",
    "ko": "들어 주셔서 감사합니다.",
}
target = convert.extract_embedding(converter, MeloBackend.load("en-au", device="cpu").synthesize(
    "This is a longer reference sentence, spoken to give the converter enough speech to hear.",
    speed=0.8,
), min_speech_seconds=1.0)
for language, text in sentences.items():
    backend = MeloBackend.load(language, device="cpu")
    assert backend.embedding_name in converter.base_embeddings, backend.embedding_name
    voiced = convert.ConvertedBackend(backend, converter, target).synthesize(text, speed=1.0)
    assert voiced.size > 0 and np.isfinite(voiced).all(), language
    print(f"{language}: {voiced.size / 24000:.2f} s")
EOF

# On a GPU host, `docker run --gpus all IMAGE smoke --backend melo` prints load times and
# real-time factors (synthesis and conversion) before the host takes work.
ENTRYPOINT ["deck2video"]
CMD ["--help"]
