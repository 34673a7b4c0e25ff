"""Every bad input: a clear one-line error, a failed manifest, no leftovers, nothing published."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deck2video import job
from deck2video.config import Limits
from deck2video.errors import InputError
from deck2video.job import load_manifest
from deck2video.samples import SampleSlide
from tests.support import bad_files
from tests.support.processes import leftovers

TWO_SLIDES = [SampleSlide("One", "First."), SampleSlide("Two", "Second.")]


def good_deck(make_deck) -> Path:
    return make_deck(TWO_SLIDES)


# (case id, deck builder, voice builder, limits, stage that fails, message pattern)
CASES = [
    (
        "not-a-zip",
        lambda d, t: bad_files.not_a_zip(t / "deck.pptx"),
        None,
        Limits(),
        "prepare",
        r"deck\.pptx.*not a (zip|PowerPoint)",
    ),
    (
        "zip-not-pptx",
        lambda d, t: bad_files.zip_without_presentation(t / "deck.pptx"),
        None,
        Limits(),
        "prepare",
        r"deck\.pptx.*not a PowerPoint presentation",
    ),
    (
        "encrypted",
        lambda d, t: bad_files.encrypted_deck(t / "deck.pptx"),
        None,
        Limits(),
        "prepare",
        r"deck\.pptx.*(password|encrypted)",
    ),
    (
        "zip-bomb",
        lambda d, t: bad_files.zip_bomb(t / "deck.pptx"),
        None,
        Limits(),
        "prepare",
        r"deck\.pptx.*(uncompress|ratio|zip bomb)",
    ),
    (
        "ten-thousand-clicks",
        lambda d, t: bad_files.many_clicks_deck(t / "deck.pptx"),
        None,
        Limits(),
        "prepare",
        r"deck deck\.pptx: slide 2 has 10001 build steps; the limit is 50 \(setting max_steps",
    ),
    (
        "all-hidden",
        lambda d, t: d([SampleSlide("Only", "x", hidden=True)]),
        None,
        Limits(),
        "prepare",
        r"deck\.pptx.*no shown slides",
    ),
    (
        "too-big",
        lambda d, t: d(TWO_SLIDES),
        None,
        Limits(max_deck_bytes=1000),
        "prepare",
        r"deck\.pptx.*larger than",
    ),
    (
        "too-many-slides",
        lambda d, t: d(TWO_SLIDES * 2),
        None,
        Limits(max_slides=3),
        "prepare",
        r"deck\.pptx.*4 slides.*3",
    ),
    (
        # Judged by its first bytes before it is copied anywhere: refused by prepare.
        "voice-not-audio",
        None,
        lambda t: bad_files.not_a_zip(t / "voice.wav"),
        Limits(),
        "prepare",
        r"voice\.wav.*not an audio file",
    ),
    (
        "voice-silent",
        None,
        lambda t: bad_files.silent_wav(t / "voice.wav"),
        Limits(),
        "prepare_voice",
        r"voice\.wav.*silent",
    ),
    (
        "voice-too-short",
        None,
        lambda t: bad_files.short_speech(t / "voice.wav"),
        Limits(),
        "prepare_voice",
        r"voice\.wav.*only \d\.\d s of speech",
    ),
    (
        "voice-not-a-recording",
        None,
        lambda t: bad_files.not_a_zip(t / "voice.txt"),
        Limits(),
        "prepare",
        r"voice\.txt.*not an audio format",
    ),
]


@pytest.mark.parametrize(
    ("deck_builder", "voice_builder", "limits", "stage", "pattern"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_fails_cleanly(
    deck_builder,
    voice_builder,
    limits,
    stage,
    pattern,
    make_deck,
    reference_voice,
    tmp_path,
    scratch_dir,
):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    deck = deck_builder(make_deck, inputs) if deck_builder else good_deck(make_deck)
    voice = voice_builder(inputs) if voice_builder else reference_voice
    root, out = tmp_path / "root", tmp_path / "published" / "talk.mp4"

    with pytest.raises(InputError) as caught:
        job.run(str(deck), str(voice), out_url=str(out), root_url=str(root), limits=limits)

    message = str(caught.value)
    assert "\n" not in message
    assert re.search(pattern, message, re.IGNORECASE), message
    [job_dir] = (root / "jobs").iterdir()
    manifest = load_manifest(str(job_dir))
    assert (manifest.status, manifest.stage, manifest.reason) == ("failed", stage, message)
    assert leftovers(scratch_dir) == [], "temporary files were left behind"
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    assert not (job_dir / "output").exists()
    if stage == "prepare":  # a refused job keeps its manifest (with the reason) and nothing else
        assert [p.name for p in job_dir.rglob("*") if p.is_file()] == ["manifest.json"]
