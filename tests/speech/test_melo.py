"""The MeloTTS backend, against a stand-in for the ``melo`` package (the model lives only in the
GPU image): language and speaker choice, chunking, speed, resampling, versioning, errors."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from deck2video.audio import SAMPLE_RATE
from deck2video.errors import InputError, ProcessingError
from deck2video.speech import melo
from deck2video.speech.melo import MeloBackend, split_for_model, voice_for

MELO_RATE = 44_100
SPEAKERS = {
    "EN": {"EN-US": 0, "EN-BR": 1, "EN_INDIA": 2, "EN-AU": 3, "EN-Default": 4},
    "ES": {"ES": 0},
    "FR": {"FR": 0},
    "ZH": {"ZH": 1},
    "JP": {"JP": 0},
    "KR": {"KR": 0},
}


class FakeTTS:
    """melo.api.TTS's interface: 10 ms of sound per character of text, at 44.1 kHz."""

    def __init__(self, language, device="auto", use_hf=True, config_path=None, ckpt_path=None):
        self.language, self.device = language, device
        self.config_path, self.ckpt_path = config_path, ckpt_path
        self.hps = SimpleNamespace(
            data=SimpleNamespace(sampling_rate=MELO_RATE, spk2id=SPEAKERS[language])
        )
        self.calls: list[tuple[str, int, float]] = []

    def tts_to_file(self, text, speaker_id, output_path=None, speed=1.0, quiet=False, **_):
        assert output_path is None
        assert quiet
        self.calls.append((text, speaker_id, speed))
        return np.full(round(MELO_RATE * 0.01 * len(text) / speed), 0.25, dtype=np.float32)


@pytest.fixture
def fake_melo(monkeypatch, tmp_path) -> Path:
    """Install a stand-in ``melo`` package; returns a models folder in the DECK2VIDEO_MELO_DIR
    layout with every language's files."""
    package = types.ModuleType("melo")
    api = types.ModuleType("melo.api")
    api.TTS = FakeTTS
    monkeypatch.setitem(sys.modules, "melo", package)
    monkeypatch.setitem(sys.modules, "melo.api", api)
    for language in SPEAKERS:
        (tmp_path / language).mkdir()
        (tmp_path / language / "config.json").write_text(f'{{"language": "{language}"}}')
        (tmp_path / language / "checkpoint.pth").write_bytes(language.encode() * 100)
    monkeypatch.delenv("DECK2VIDEO_MELO_DIR", raising=False)
    return tmp_path


@pytest.mark.parametrize(
    ("language", "model", "speaker"),
    [
        ("en", "EN", "EN-Default"),
        ("en-US", "EN", "EN-US"),
        ("en_us", "EN", "EN-US"),
        ("en-GB", "EN", "EN-BR"),
        ("en-uk", "EN", "EN-BR"),
        ("en-IN", "EN", "EN_INDIA"),
        ("en-au", "EN", "EN-AU"),
        ("en-NZ", "EN", "EN-Default"),  # unlisted region: the language's default voice
        ("es", "ES", "ES"),
        ("es-MX", "ES", "ES"),
        ("fr", "FR", "FR"),
        ("zh", "ZH", "ZH"),
        ("zh-CN", "ZH", "ZH"),
        ("ja", "JP", "JP"),
        ("jp", "JP", "JP"),
        ("ko", "KR", "KR"),
    ],
)
def test_language_setting_maps_to_model_and_speaker(language, model, speaker) -> None:
    voice = voice_for(language)
    assert (voice.language, voice.speaker) == (model, speaker)


@pytest.mark.parametrize("language", ["de", "pt-BR", ""])
def test_unsupported_language_is_an_input_error(language) -> None:
    with pytest.raises(InputError, match=f"^setting language: {language!r} is not spoken by"):
        voice_for(language)


def test_every_setting_value_is_listed() -> None:
    assert set(melo.LANGUAGES) == {"en", "en-us", "en-gb", "en-in", "en-au"} | {
        "es",
        "fr",
        "zh",
        "ja",
        "ko",
    }


@pytest.mark.parametrize(
    ("language", "speaker", "speaker_id", "embedding"),
    [
        ("en-gb", "EN-BR", 1, "en-br"),
        ("en-in", "EN_INDIA", 2, "en-india"),
        ("en", "EN-Default", 4, "en-default"),
        ("zh", "ZH", 1, "zh"),
        ("ja", "JP", 0, "jp"),
    ],
)
def test_load_picks_the_speaker(fake_melo, language, speaker, speaker_id, embedding) -> None:
    backend = MeloBackend.load(language, device="cpu", models_dir=fake_melo)
    assert (backend.speaker, backend._speaker_id) == (speaker, speaker_id)
    # the name of OpenVoice's base_speakers/ses/<name>.pth for this voice
    assert backend.embedding_name == embedding
    assert backend._tts.ckpt_path == str(fake_melo / backend.voice.language / "checkpoint.pth")
    assert backend._tts.device == "cpu"


def test_single_speaker_model_uses_its_only_speaker(fake_melo, monkeypatch) -> None:
    monkeypatch.setitem(SPEAKERS, "FR", {"FR-FR": 3})
    backend = MeloBackend.load("fr", models_dir=fake_melo)
    assert (backend.speaker, backend._speaker_id, backend.embedding_name) == ("FR-FR", 3, "fr-fr")


def test_missing_speaker_is_named(fake_melo, monkeypatch) -> None:
    monkeypatch.setitem(SPEAKERS, "EN", {"EN-US": 0, "EN-AU": 1})
    with pytest.raises(ProcessingError, match="has no speaker EN-BR \\(it has EN-AU, EN-US\\)"):
        MeloBackend.load("en-gb", models_dir=fake_melo)


def test_model_version_changes_with_the_checkpoint(fake_melo) -> None:
    first = MeloBackend.load("en-us", models_dir=fake_melo).model_version
    assert first.startswith("melotts-EN-EN-US-")
    assert MeloBackend.load("en-gb", models_dir=fake_melo).model_version != first
    (fake_melo / "EN" / "checkpoint.pth").write_bytes(b"retrained")
    assert MeloBackend.load("en-us", models_dir=fake_melo).model_version != first


def test_synthesize_returns_24k_audio_and_passes_speed(fake_melo) -> None:
    backend = MeloBackend.load("en-us", models_dir=fake_melo)
    audio = backend.synthesize("Hello world.", speed=1.25)
    assert backend._tts.calls == [("Hello world.", 0, 1.25)]
    assert audio.dtype == np.float32
    expected = round(MELO_RATE * 0.01 * len("Hello world.") / 1.25) * SAMPLE_RATE / MELO_RATE
    assert abs(audio.size - expected) <= 1
    with pytest.raises(InputError, match="speed"):
        backend.synthesize("Hi.", speed=0)


def test_long_text_is_chunked_within_the_models_limit(fake_melo) -> None:
    backend = MeloBackend.load("en", models_dir=fake_melo)
    sentence = "This sentence is about fifty characters in length. "
    backend.synthesize(sentence * 12, speed=1.0)
    pieces = [text for text, _, _ in backend._tts.calls]
    assert len(pieces) == 3
    assert all(len(p) <= melo.LATIN_MAX_CHARS and p.endswith(".") for p in pieces)
    assert " ".join(pieces) == (sentence * 12).strip()


def test_punctuation_only_text_is_silent(fake_melo) -> None:
    backend = MeloBackend.load("en", models_dir=fake_melo)
    assert backend.synthesize(" ... ", speed=1.0).size == 0
    assert backend._tts.calls == []


def test_models_dir_from_the_environment(fake_melo, monkeypatch) -> None:
    monkeypatch.setenv("DECK2VIDEO_MELO_DIR", str(fake_melo))
    assert MeloBackend.load("ko")._tts.config_path == str(fake_melo / "KR" / "config.json")


def test_missing_model_file(fake_melo) -> None:
    (fake_melo / "ES" / "checkpoint.pth").unlink()
    with pytest.raises(ProcessingError, match=r"^backend melo: model file .*ES/checkpoint.pth is"):
        MeloBackend.load("es", models_dir=fake_melo)


def test_models_from_the_hugging_face_cache(fake_melo, monkeypatch) -> None:
    asked = []

    def hf_hub_download(repo_id, filename):
        asked.append((repo_id, filename))
        return str(fake_melo / "JP" / filename)

    hub = types.ModuleType("huggingface_hub")
    hub.hf_hub_download = hf_hub_download
    downloads = types.ModuleType("melo.download_utils")
    downloads.LANG_TO_HF_REPO_ID = {"JP": "myshell-ai/MeloTTS-Japanese"}
    monkeypatch.setitem(sys.modules, "huggingface_hub", hub)
    monkeypatch.setitem(sys.modules, "melo.download_utils", downloads)
    backend = MeloBackend.load("ja")
    assert asked == [
        ("myshell-ai/MeloTTS-Japanese", "config.json"),
        ("myshell-ai/MeloTTS-Japanese", "checkpoint.pth"),
    ]
    assert backend._tts.ckpt_path == str(fake_melo / "JP" / "checkpoint.pth")


def test_without_melo_installed(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "melo", None)  # makes "import melo" fail
    with pytest.raises(ProcessingError, match=r"^backend melo: MeloTTS is not installed"):
        MeloBackend.load("en")


def test_importing_the_module_loads_no_model_code() -> None:
    code = (
        "import sys, deck2video.speech.melo, deck2video.speech.convert; "
        "print(sorted(m for m in ('melo', 'torch', 'librosa') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("text", "limit", "joiner", "pieces"),
    [
        ("Hello there. How are you? Fine!", 20, " ", ["Hello there.", "How are you? Fine!"]),
        ("One.  Two.\nThree.", 250, " ", ["One. Two. Three."]),
        (
            "Alpha, beta, gamma, delta, epsilon, zeta.",
            20,
            " ",
            ["Alpha, beta, gamma,", "delta, epsilon,", "zeta."],
        ),
        ("a" * 25, 10, " ", ["a" * 10, "a" * 10, "a" * 5]),
        (
            "今天天气很好。我们去公园吧！你觉得呢？",
            12,
            "",
            ["今天天气很好。", "我们去公园吧！你觉得呢？"],
        ),
        ("...", 10, " ", []),
        ("", 10, " ", []),
    ],
)
def test_split_for_model(text, limit, joiner, pieces) -> None:
    assert split_for_model(text, limit, joiner=joiner) == pieces
    assert all(len(p) <= limit for p in pieces)
