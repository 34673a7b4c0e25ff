"""Narration quality on real audio made here: espeak-ng voices, Piper narration, noise, silence."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from bench import inputs
from deck2video import quality, samples
from deck2video.audio import P808_MEL, SAMPLE_RATE, mel_spectrogram, read_wav, silence
from deck2video.config import QualitySettings
from deck2video.errors import ProcessingError
from deck2video.manifest import (
    VOICE_BASE,
    VOICE_CONVERTED,
    VOICE_MATCHED,
    SlideQuality,
    SlideRecord,
)
from deck2video.narration import Pause, Speech, narrate
from deck2video.quality import models as quality_models
from deck2video.speech import load_backend, synthesize_slide
from deck2video.voice import prepare_reference
from tests.support.narrations import white_noise

OTHER_TEXT = (
    "Good ideas often start as small experiments that nobody expects to work. "
    "Thank you for joining us today, and let us look at what happens next."
)
# No commas: Piper reads it without a pause, so its trimmed length is pure speech time.
STEADY = "We measured the results twice and the numbers were clear to everyone in the room"


@pytest.fixture(scope="module")
def models() -> quality.Models:
    return quality.load_models()


def cleaned(source: Path, tmp: Path) -> np.ndarray:
    return read_wav(prepare_reference(source, tmp / f"clean-{source.stem}.wav").path)


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> dict[str, np.ndarray]:
    """Recordings as the voice stage leaves them: the reference, the same voice saying something
    else, another espeak voice (American, high pitch) and the reference pitch-shifted."""
    tmp = tmp_path_factory.mktemp("voices")
    reference = samples.make_reference_voice(tmp / "reference.wav")
    made = {
        "reference": reference,
        "same": samples.make_reference_voice(tmp / "same.wav", text=OTHER_TEXT),
        "other": samples.make_reference_voice(
            tmp / "other.wav", voice="en-us+f3", pitch=80, text=OTHER_TEXT
        ),
        "shifted": inputs.pitch_shifted(reference, tmp / "shifted.wav", cents=700),
    }
    return {name: cleaned(path, tmp) for name, path in made.items()}


@pytest.fixture(scope="module")
def piper():
    return load_backend("piper", "en")


def embedding(models, samples_24k):
    return quality.voice_embedding(models, samples_24k, quality.REFERENCE_SECONDS)


def test_the_same_voice_is_more_similar_than_another_voice(models, voices, piper):
    reference = embedding(models, voices["reference"])
    same = quality.similarity(embedding(models, voices["same"]), reference)
    other = quality.similarity(embedding(models, voices["other"]), reference)
    shifted = quality.similarity(embedding(models, voices["shifted"]), reference)
    narrated = quality.similarity(
        embedding(models, piper.synthesize(OTHER_TEXT, speed=1.0)), reference
    )
    assert same > 0.85
    assert same > max(other, shifted, narrated) + 0.1
    assert quality.similarity(reference, reference) == pytest.approx(1.0, abs=1e-4)


@pytest.fixture(scope="module")
def presenter(models, voices) -> np.ndarray:
    return embedding(models, voices["reference"])


@pytest.fixture
def score(models, presenter):
    """Score a narration against the presenter's voice: ``score(samples, words=N)``."""

    def scored(samples_24k: np.ndarray, *, words: int, asked=()) -> SlideQuality:
        narration = quality.Narration(samples_24k, words=words, asked_silences=tuple(asked))
        return quality.score(narration, presenter, models)

    return scored


def test_noise_and_silence_where_speech_should_be_score_a_low_dnsmos(score, piper):
    speech = score(piper.synthesize(OTHER_TEXT, speed=1.0), words=26)
    noise = score(white_noise(6.0), words=26)
    quiet = score(silence(6.0), words=26)
    thresholds = QualitySettings(min_similarity=0.0)  # Piper is not the presenter
    assert speech.dnsmos_ovrl > 3.0
    assert quality.problems(speech, thresholds) == []
    assert noise.dnsmos_ovrl < 1.5
    assert "DNSMOS overall" in " ".join(quality.problems(noise, thresholds))
    assert quiet.dnsmos_ovrl < thresholds.min_dnsmos
    assert quiet.words_per_minute is None
    assert quiet.similarity is None
    assert quality.problems(quiet, thresholds)[0] == "no speech, where the notes have 26 words"


def test_a_silence_no_pause_asked_for_is_reported_and_an_asked_one_is_not(score, piper):
    notes = "The first sentence is spoken here. [PAUSE 3] The second one comes after a pause."
    segments = narrate(notes)
    asked = synthesize_slide(segments, piper, speed=1.0)
    spans = quality.asked_silences(segments, asked.cues, asked.duration)
    assert [round(b - a, 2) for a, b in spans] == [3.0]
    paused = score(asked.samples, words=14, asked=spans)
    assert paused.longest_silence < 1.0

    # The same narration with the 3 s gap where nobody asked for one (as a broken take has).
    plain = synthesize_slide([s for s in segments if isinstance(s, Speech)], piper, speed=1.0)
    cut = round(plain.cues[0].end * SAMPLE_RATE)
    gapped = np.concatenate([plain.samples[:cut], silence(3.0), plain.samples[cut:]])
    found = score(gapped, words=14)
    # The 3 s, plus the sentence gap and the trimmed edges that were there already.
    assert (
        3.0 <= found.longest_silence <= 3.0 + score(plain.samples, words=14).longest_silence + 0.05
    )
    assert found.longest_silence_at == pytest.approx(plain.cues[0].end, abs=0.15)
    assert "s of silence at 1." in " ".join(quality.problems(found, QualitySettings()))


def test_a_known_speaking_rate_is_measured_within_ten_percent(score, piper):
    """Truth: words over the length of one unbroken utterance. Pauses, asked or not, and
    sentence gaps around it must not change the measured rate."""
    words = len(STEADY.split())
    for speed in (0.8, 1.0, 1.4):
        once = synthesize_slide([Speech(STEADY)], piper, speed=speed)
        truth = words / once.duration * 60
        segments = [Speech(STEADY), Pause(2.0), Speech(STEADY), Speech(STEADY)]
        slide = synthesize_slide(segments, piper, speed=speed)
        measured = score(
            slide.samples,
            words=3 * words,
            asked=quality.asked_silences(segments, slide.cues, slide.duration),
        )
        assert measured.words_per_minute == pytest.approx(truth, rel=0.10), speed


def test_clipping_and_level_are_measured(score, piper):
    spoken = piper.synthesize(OTHER_TEXT, speed=1.0)
    loud = np.clip(spoken / np.abs(spoken).max() * 4.0, -1.0, 1.0)
    clean = score(spoken, words=26)
    clipped = score(loud, words=26)
    assert clean.clipping == 0.0
    assert clipped.clipping > 0.01
    assert clipped.loudness_dbfs > clean.loudness_dbfs + 6


def test_p808_scores_as_the_dnsmos_reference_scorer_does(models, piper):
    """Our numpy front end for DNSMOS P.808 (librosa's would cost seconds to import) gives the
    score speechmos's own scorer gives on the same window, and its log-mel features match."""
    import librosa
    from speechmos import dnsmos

    window = quality.dnsmos_window(
        quality.Narration(piper.synthesize(OTHER_TEXT + " " + OTHER_TEXT, speed=1.0), words=52)
    )
    audio = quality_models.model_input(window)
    expected = librosa.feature.melspectrogram(
        y=audio[:-160], sr=16_000, n_fft=321, hop_length=160, n_mels=120
    ).T
    ours = mel_spectrogram(audio[:-160], P808_MEL)
    np.testing.assert_allclose(ours, expected, rtol=1e-3, atol=1e-6)
    reference = dnsmos.run(audio, 16_000)["p808_mos"]
    assert quality.dnsmos_p808(models, window) == pytest.approx(reference, abs=0.01)


def test_p835_hears_the_slides_p808_does_not_clear_and_a_sample():
    clean = {"dnsmos_p808": 4.0}
    slides = [slide(n, n + 1, **clean) for n in range(1, 11)]
    slides[3].quality.dnsmos_p808 = 3.2  # below 2.5 + the screen's margin
    slides[6].quality = None  # [SILENCE]
    assert quality.needs_p835(slides, QualitySettings()) == [1, 4, 5, 10]  # first, middle, last
    # A stricter threshold: every spoken slide is heard.
    assert quality.needs_p835(slides, QualitySettings(min_dnsmos=3.5)) == [
        1,
        2,
        3,
        4,
        5,
        6,
        8,
        9,
        10,
    ]
    assert quality.needs_p835([], QualitySettings()) == []


def test_models_load_once_per_process(models):
    assert quality.load_models() is models


def test_a_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "speechmos.dnsmos", None)  # what an absent package raises
    quality_models._load_models.cache_clear()
    try:
        with pytest.raises(ProcessingError, match=r"'quality' extra") as missing:
            quality.load_models()
        assert "speechmos" in str(missing.value)
    finally:
        quality_models._load_models.cache_clear()


def slide(number: int, source_index: int, **measured) -> SlideRecord:
    record = SlideRecord(number, source_index, f"Slide {source_index}", False, False, "0" * 64)
    record.quality = SlideQuality(**measured)
    return record


def test_the_job_figures_are_duration_weighted_and_name_the_worst_by_powerpoint_number():
    slides = [
        slide(1, 1, words=30, speech_seconds=10.0, words_per_minute=180.0, similarity=0.8,
              dnsmos_ovrl=3.5),
        slide(2, 4, words=10, speech_seconds=5.0, words_per_minute=120.0, similarity=0.5,
              dnsmos_ovrl=1.5, problems=["DNSMOS overall 1.50 < 2.5"]),
    ]  # fmt: skip
    job = quality.summarise(slides, {1: 30.0, 2: 10.0}, QualitySettings())
    assert job.similarity == pytest.approx((0.8 * 30 + 0.5 * 10) / 40)
    assert job.dnsmos_ovrl == pytest.approx((3.5 * 30 + 1.5 * 10) / 40)
    assert job.words_per_minute == pytest.approx(40 / 15 * 60)
    assert (job.worst.slide, job.least_similar.slide) == (4, 4)
    assert job.warnings == ["slide 4: DNSMOS overall 1.50 < 2.5"]
    assert not job.passed
    line = quality.summary_line(job)
    assert "similarity 0.72" in line
    assert "DNSMOS 3.00" in line
    assert "worst: slide 4" in line


def test_without_a_converter_a_far_voice_is_said_once_for_the_job_not_per_slide():
    far = {"words": 30, "speech_seconds": 10.0, "words_per_minute": 180.0, "similarity": 0.5}
    slides = [slide(1, 1, **far), slide(2, 2, **far), slide(3, 3, **far)]
    thresholds = QualitySettings()
    for voice in (VOICE_MATCHED, VOICE_BASE):
        for s in slides:
            s.quality.problems = quality.problems(s.quality, thresholds, cloned=False)
        assert all(s.quality.problems == [] for s in slides)
        job = quality.summarise(slides, {1: 1.0, 2: 1.0, 3: 1.0}, thresholds, 0.45, voice)
        assert job.warnings == [
            f"voice: no converter is configured, and the {voice} is far from the presenter's "
            "(similarity 0.50 < 0.6; DECK2VIDEO_OPENVOICE_DIR enables cloning)"
        ]
        assert job.voice == voice
        assert not job.passed
        assert f"similarity 0.50 ({voice}; base voice 0.45)" in quality.summary_line(job)
    # Cloned: each slide is held to the threshold, as before.
    for s in slides:
        s.quality.problems = quality.problems(s.quality, thresholds, cloned=True)
    job = quality.summarise(slides, {1: 1.0, 2: 1.0, 3: 1.0}, thresholds, 0.45, VOICE_CONVERTED)
    assert [w.split(":")[0] for w in job.warnings] == ["slide 1", "slide 2", "slide 3"]
    # Near enough: no warning at all.
    near = [slide(1, 1, **{**far, "similarity": 0.7})]
    assert quality.summarise(near, {1: 1.0}, thresholds, None, VOICE_BASE).warnings == []
