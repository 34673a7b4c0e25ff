"""The prepare_voice step without a converter: the presenter's and the base voice's traits,
measured once and cached, the change between them planned, spoken by the speak step and said
by the quality step once per job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deck2video import job, samples, storage
from deck2video.audio import read_wav
from deck2video.config import JobSettings, QualitySettings
from deck2video.job import JobFolder, load_manifest
from deck2video.manifest import VOICE_BASE, VOICE_MATCHED
from deck2video.roots import Roots
from deck2video.samples import SampleSlide, build_deck
from deck2video.speech.match import measure

SLIDES = [
    SampleSlide("One", "Revenue grew in every region, and the team shipped two major releases."),
    SampleSlide("Two", "Next, we look at what the numbers mean for the year ahead."),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    """A deck and a high female voice (espeak-ng), far from Piper's low male one."""
    folder = tmp_path_factory.mktemp("voice-inputs")
    deck = build_deck(folder / "talk.pptx", SLIDES)
    voice = samples.make_reference_voice(folder / "voice.wav", voice="en-us+f2", pitch=60)
    return deck, voice


def prepared(root: Path, inputs: tuple[Path, Path], **settings) -> JobFolder:
    deck, voice = inputs
    plan = job.prepare(
        str(deck), str(voice), out_url=str(root / "talk.mp4"), root_url=str(root),
        settings=JobSettings(**settings), roots=Roots.anywhere(),
    )  # fmt: skip
    folder = JobFolder(plan.job_url)
    job.prepare_voice(folder)
    return folder


@pytest.fixture(scope="module")
def matched(tmp_path_factory, inputs) -> JobFolder:
    folder = prepared(tmp_path_factory.mktemp("matched"), inputs, match_voice=True)
    for number in (1, 2):
        job.speak_slide(folder, number)
    return folder


def test_the_voice_is_measured_once_and_the_match_planned(matched, inputs, tmp_path):
    voice = load_manifest(matched).voice
    assert voice["spoken_by"] == VOICE_MATCHED
    reference, base = voice["traits"]["reference"], voice["traits"]["base"]
    assert reference["pitch_hz"] > 1.5 * base["pitch_hz"]  # a female voice; Piper's is male
    assert voice["match"]["pitch_hz"] > base["pitch_hz"]
    assert voice["match"]["formant_ratio"] > 1
    cached = sorted(p.name for p in Path(matched.store.cache.url, "voice").glob("traits-*"))
    assert len(cached) == 2  # the recording's and the base voice's

    # Another job with the same recording: the same traits, from the cache, nothing new in it.
    again = prepared(Path(matched.store.url), inputs, speed=1.1, match_voice=True)
    again = load_manifest(again).voice
    assert again["traits"] == voice["traits"]
    assert again["match"] == voice["match"]
    assert sorted(p.name for p in Path(matched.store.cache.url, "voice").glob("traits-*")) == cached


def test_the_speak_step_speaks_the_matched_voice(matched):
    planned = load_manifest(matched).voice["match"]
    for number in (1, 2):
        spoken = measure(read_wav(Path(matched.audio(number))))
        assert spoken.pitch_hz == pytest.approx(planned["pitch_hz"], rel=0.12)


def test_matching_is_off_by_default_and_switched_per_run(tmp_path, inputs, matched):
    plain = prepared(tmp_path, inputs)
    voice = load_manifest(plain).voice
    assert voice["spoken_by"] == VOICE_BASE
    assert "match" not in voice
    assert plain.job_id != matched.job_id  # another voice, another video
    job.speak_slide(plain, 1)
    base = load_manifest(matched).voice["traits"]["base"]
    assert measure(read_wav(Path(plain.audio(1)))).pitch_hz == pytest.approx(
        base["pitch_hz"], rel=0.12
    )


def test_the_quality_step_says_which_voice_spoke_and_warns_once(matched):
    checked = job.check_quality(matched, QualitySettings(min_similarity=0.99, max_wpm=1000))
    assert checked.voice == VOICE_MATCHED
    assert checked.base_similarity is not None
    assert len(checked.warnings) == 1
    assert checked.warnings[0].startswith("voice: no converter is configured, and the matched")
    report = json.loads(storage.read_bytes(matched.quality))
    assert report["job"]["voice"] == VOICE_MATCHED
