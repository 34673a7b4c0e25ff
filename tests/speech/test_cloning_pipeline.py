"""Voice cloning and pronunciation through the whole job: CLI, manifest, cache, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from deck2video import cli, job, storage
from deck2video.errors import ProcessingError
from deck2video.job import load_manifest
from deck2video.samples import SampleSlide
from tests.support import media

SLIDES = [
    SampleSlide("Hello", "Hello there."),
    SampleSlide("Quiet", "[SILENCE]"),
    SampleSlide("Bye", "Good bye [PAUSE 0.7] for now."),
]


@pytest.fixture
def cloning(v2_weights: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DECK2VIDEO_OPENVOICE_DIR", str(v2_weights))
    return v2_weights


def run_cli(capsys, *args: str) -> dict:
    assert cli.main(["run", *args, "--resolution", "640x360", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_deck_is_spoken_in_the_cloned_voice_and_the_embedding_is_reused(
    cloning, make_deck, reference_voice, tmp_path, capsys
):
    root = tmp_path / "root"
    deck = make_deck(SLIDES)
    first = run_cli(
        capsys, "--deck", str(deck), "--voice", str(reference_voice),
        "--out", str(tmp_path / "a.mp4"), "--root", str(root),
    )  # fmt: skip
    manifest = load_manifest(first["job_url"])
    embedding = manifest.voice["embedding"]
    assert embedding["computed"] is True
    # Cloned: the quality step also measures the base voice, the baseline cloning should beat.
    assert 0.0 < manifest.quality.base_similarity < 1.0
    assert (root / "jobs" / first["job_id"] / embedding["file"]).is_file()
    for slide in manifest.slides:
        rate, channels, _, seconds = media.wav_info(
            Path(first["job_url"]) / f"audio/{slide.number:04d}.wav"
        )
        assert (rate, channels) == (24000, 1)
        assert seconds == pytest.approx(slide.duration, abs=0.001)
        if slide.silent:
            assert seconds == pytest.approx(1.0, abs=0.001)
        else:
            assert seconds > 0.3
    key = json.loads((Path(first["job_url"]) / "audio/0001.json").read_text())["key"]
    assert (root / "cache" / "audio" / f"{key}.wav").is_file()

    # Another deck, same presenter: the embedding comes from the shared cache.
    other = make_deck([SampleSlide("Again", "Hello again.")], name="other.pptx")
    second = run_cli(
        capsys, "--deck", str(other), "--voice", str(reference_voice),
        "--out", str(tmp_path / "b.mp4"), "--root", str(root),
    )  # fmt: skip
    assert second["job_id"] != first["job_id"]
    again = load_manifest(second["job_url"])
    assert again.voice["embedding"]["computed"] is False
    assert again.voice["embedding"]["file"] == embedding["file"]


def test_the_pause_marker_inserts_exactly_that_silence(make_deck, reference_voice, tmp_path):
    deck = make_deck([SampleSlide("P", "One. [PAUSE 1.5] Two.")])
    summary = job.run(
        str(deck), str(reference_voice), out_url=str(tmp_path / "p.mp4"),
        root_url=str(tmp_path / "root"),
    )  # fmt: skip
    info = json.loads((Path(summary.job_url) / "audio/0001.json").read_text())
    (_, first_end, _), (second_start, _, _) = info["cues"]
    # Cues span each chunk's sound (with its short lead-in/out); the pause lies between them.
    assert second_start - first_end == pytest.approx(1.5, abs=0.02)


def test_a_job_lexicon_changes_what_is_said(make_deck, reference_voice, tmp_path, monkeypatch):
    spoken: list[str] = []
    from deck2video.speech.piper import PiperBackend

    real = PiperBackend.synthesize

    def listen(self, text, *, speed):
        spoken.append(text)
        return real(self, text, speed=speed)

    monkeypatch.setattr(PiperBackend, "synthesize", listen)
    deck = make_deck([SampleSlide("Terms", "We ship GPU kernels for the US market.")])
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("# job lexicon\nGPU = graphics processing unit\n")

    def narration_seconds(**extra) -> float:
        summary = job.run(
            str(deck), str(reference_voice), out_url=str(tmp_path / "l.mp4"),
            root_url=str(tmp_path / "root"), **extra,
        )  # fmt: skip
        return load_manifest(summary.job_url).slides[0].duration

    plain = narration_seconds()
    assert spoken[-1] == "We ship GPU kernels for the U S market."
    with_lexicon = narration_seconds(lexicon_url=str(lexicon))
    assert spoken[-1] == "We ship graphics processing unit kernels for the U S market."
    assert with_lexicon > plain + 0.3
    captions = (tmp_path / "l.vtt").read_text()
    assert "GPU" in captions  # captions keep the written text


@pytest.mark.parametrize("damage", ["missing", "corrupt", "mismatched"])
def test_broken_converter_weights_fail_the_job_clearly(
    damage, v2_weights, make_deck, reference_voice, tmp_path, monkeypatch
):
    weights = tmp_path / "weights"
    if damage != "missing":
        shutil.copytree(v2_weights, weights)
    if damage == "corrupt":
        (weights / "checkpoint.pth").write_bytes(b"not a checkpoint" * 100)
    if damage == "mismatched":
        config = json.loads((weights / "config.json").read_text())
        config["model"]["hidden_channels"] = 96
        (weights / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("DECK2VIDEO_OPENVOICE_DIR", str(weights))
    deck = make_deck([SampleSlide("Hello", "Hello there.")])
    with pytest.raises(ProcessingError) as caught:
        job.run(
            str(deck), str(reference_voice), out_url=str(tmp_path / "x.mp4"),
            root_url=str(tmp_path / "root"),
        )  # fmt: skip
    message = str(caught.value)
    assert str(weights) in message
    assert "\n" not in message
    [job_dir] = (tmp_path / "root" / "jobs").iterdir()
    manifest = load_manifest(str(job_dir))
    assert (manifest.status, manifest.stage) == ("failed", "prepare_voice")
    assert manifest.reason == message
    assert not storage.exists(str(tmp_path / "x.mp4"))
