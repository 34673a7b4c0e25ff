"""The quality step on a real job (Piper narration, local storage), with three slides' narration
replaced by what a broken take leaves: white noise, silence, and speech with 3 s of silence in
it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from deck2video import job, storage
from deck2video.audio import silence
from deck2video.config import QualitySettings
from deck2video.errors import BadOutputError
from deck2video.job import JobFolder, load_manifest
from deck2video.roots import Roots
from deck2video.samples import SampleSlide, build_deck
from deck2video.speech import load_backend
from tests.support.narrations import seed_narration, white_noise

SLIDES = [
    SampleSlide("Welcome", "Hello and welcome. This talk is about how narration is measured."),
    SampleSlide("Backstage", "This hidden slide is never read.", hidden=True),
    SampleSlide("Noise", "This slide should be speech, but its take came out as noise."),
    SampleSlide("Quiet", "[SILENCE]"),
    SampleSlide("Gap", "This slide has a silence in the middle that nobody asked for."),
    SampleSlide("Mute", "This slide should be speech, but its take came out silent."),
]
NOISE, GAP, MUTE = 2, 4, 5  # their numbers in the video; in the deck they are slides 3, 5, 6
PERMISSIVE = {"min_similarity": 0.0}  # Piper is not the presenter: leave that check out here


@pytest.fixture(scope="module")
def spoken(tmp_path_factory, reference_voice) -> tuple[JobFolder, Path, Path]:
    return spoken_job(tmp_path_factory.mktemp("quality-job"), reference_voice)


def spoken_job(folder: Path, reference_voice: Path) -> tuple[JobFolder, Path, Path]:
    """A prepared and spoken job whose slides 3 and 5 are broken takes; it publishes to
    ``folder/published/talk.mp4``."""
    deck = build_deck(folder / "talk.pptx", SLIDES)
    out = folder / "published" / "talk.mp4"
    plan = job.prepare(
        str(deck), str(reference_voice), out_url=str(out), root_url=str(folder),
        roots=Roots.anywhere(),
    )  # fmt: skip
    folder_job = JobFolder(plan.job_url)
    job.prepare_voice(folder_job)
    piper = load_backend("piper")
    speech = piper.synthesize(SLIDES[4].notes, speed=1.0)
    half = speech.size // 2
    seed_narration(folder_job, NOISE, white_noise(4.0))
    seed_narration(folder_job, MUTE, silence(4.0))
    seed_narration(folder_job, GAP, np.concatenate([speech[:half], silence(3.0), speech[half:]]))
    for slide in plan.slides:
        job.speak_slide(folder_job, slide.number)
    return folder_job, deck, reference_voice


def test_warn_mode_records_every_slide_by_its_powerpoint_number(spoken, caplog):
    folder_job, _, _ = spoken
    with caplog.at_level(logging.WARNING, logger="deck2video"):
        checked = job.check_quality(folder_job, QualitySettings(**PERMISSIVE))

    manifest = load_manifest(folder_job)
    by_deck = {s.source_index: s for s in manifest.slides}
    assert by_deck[4].quality is None  # [SILENCE]: nothing to judge
    assert by_deck[1].quality.problems == []
    assert by_deck[1].quality.dnsmos_ovrl > 3.0
    assert 0.0 < by_deck[1].quality.similarity < 1.0
    assert 100 < by_deck[1].quality.words_per_minute < 300
    assert by_deck[3].quality.dnsmos_ovrl < 2.0
    assert by_deck[5].quality.longest_silence == pytest.approx(3.0, abs=0.2)
    assert by_deck[6].quality.dnsmos_ovrl < 2.5
    assert by_deck[6].quality.speech_seconds == 0

    assert manifest.quality == checked
    assert not checked.passed
    assert checked.worst.slide == 3
    assert checked.slides_scored == 4
    slides = [w.split(":")[0] for w in checked.warnings]
    # Steady noise is no speech (the speech detector the reference's cleaning uses too).
    assert slides == ["slide 3", "slide 3", "slide 5", "slide 6", "slide 6"]
    assert checked.warnings[0] == "slide 3: no speech, where the notes have 12 words"
    assert "DNSMOS overall" in checked.warnings[1]
    assert "< 2.5" in checked.warnings[1]
    assert "s of silence at" in checked.warnings[2]
    assert "> 2 s" in checked.warnings[2]
    assert checked.warnings[3] == "slide 6: no speech, where the notes have 11 words"
    assert checked.warnings[4].startswith("slide 6: DNSMOS overall 1.")
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert logged == [f"narration quality: {w}" for w in checked.warnings]
    assert manifest.stages["quality"].status == "done"

    report = json.loads(storage.read_bytes(folder_job.quality))
    assert [s["slide"] for s in report["slides"]] == [1, 3, 5, 6]
    assert report["job"]["warnings"] == checked.warnings


def test_a_second_check_scores_nothing_again(spoken):
    folder_job, _, _ = spoken
    job.check_quality(folder_job, QualitySettings(**PERMISSIVE))
    detail = load_manifest(folder_job).stages["quality"].detail
    assert (detail["scored"], detail["cached"]) == (0, 4)
    assert any(p.name.startswith("speaker-") for p in Path(folder_job.url, "voice").iterdir())


def test_warn_mode_publishes_the_quality_file_next_to_the_video(spoken):
    folder_job, _, _ = spoken
    job.check_quality(folder_job, QualitySettings(**PERMISSIVE))
    job.assemble(folder_job)
    out = str(Path(folder_job.store.url) / "published" / "talk.mp4")
    published = job.publish(folder_job, out, roots=Roots.anywhere())
    assert published.quality_url == published.video_url[: -len(".mp4")] + ".quality.json"
    report = json.loads(Path(published.quality_url).read_text())
    assert [s["slide"] for s in report["slides"]] == [1, 3, 5, 6]
    assert report["job"]["mode"] == "warn"
    assert len(report["job"]["warnings"]) == 5
    assert load_manifest(folder_job).published[-1]["quality_url"] == published.quality_url


def test_fail_mode_names_each_failing_slide_and_publishes_nothing(tmp_path, reference_voice):
    folder_job, deck, voice = spoken_job(tmp_path, reference_voice)
    out = tmp_path / "published" / "talk.mp4"
    fail = QualitySettings(quality_mode="fail", **PERMISSIVE)
    with pytest.raises(BadOutputError) as failed:
        job.run(str(deck), str(voice), out_url=str(out), root_url=str(tmp_path), quality=fail)
    message = str(failed.value)
    assert "\n" not in message
    assert "slide 3: DNSMOS overall" in message
    assert "< 2.5" in message
    assert "slide 5: 3." in message
    assert "> 2 s" in message
    assert "slide 6: no speech" in message
    assert not out.parent.exists()  # neither the video, nor its captions, nor the quality file
    manifest = load_manifest(folder_job)
    assert (manifest.status, manifest.stage) == ("failed", "quality")
    assert manifest.reason == message
