"""quality_words.py: narration quality in a producer's words, judged by the run's own
thresholds, with the numbers behind each word kept for the hover text and the details row."""

from __future__ import annotations

from deck2video_ui.quality_words import clock, job_quality, slide_quality

from deck2video.manifest import VOICE_BASE, VOICE_CONVERTED, VOICE_MATCHED, JobQuality, SlideQuality

THRESHOLDS = {"min_similarity": 0.6, "min_dnsmos": 2.5, "min_wpm": 100.0, "max_wpm": 260.0,
              "max_silence_seconds": 2.0}  # fmt: skip


def job(voice: str, **measured) -> JobQuality:
    return JobQuality(mode="warn", thresholds=THRESHOLDS, passed=True, voice=voice, **measured)


def words(view) -> list[str]:
    return [w.text for w in view.words]


def test_a_cloned_job_says_how_close_each_slide_sounds():
    cloned = job(VOICE_CONVERTED, similarity=0.7)
    close = SlideQuality(words=20, words_per_minute=150, similarity=0.72, dnsmos_ovrl=3.4)
    assert words(slide_quality(close, cloned)) == ["voice: close", "audio: clean", "pace: normal"]
    near = SlideQuality(words=20, words_per_minute=290, similarity=0.5, dnsmos_p808=2.7)
    assert words(slide_quality(near, cloned)) == [
        "voice: somewhat close", "audio: fair", "pace: fast",
    ]  # fmt: skip
    far = SlideQuality(words=20, words_per_minute=80, similarity=0.3, dnsmos_ovrl=1.9)
    view = slide_quality(far, cloned)
    assert words(view) == ["voice: not matched", "audio: noisy", "pace: slow"]
    assert view.tone == "bad"
    assert view.words[0].numbers == "voice similarity 0.30 (0 to 1; this run asks for 0.6)"
    assert view.numbers["voice similarity"] == "0.30"


def test_without_a_converter_the_job_says_so_once_and_no_slide_is_flagged_for_it():
    base = job(VOICE_BASE, similarity=0.35, dnsmos_ovrl=3.3, words_per_minute=170)
    assert words(job_quality(base)) == [
        "voice: not matched (no cloning model configured)", "audio: clean", "pace: normal",
    ]  # fmt: skip
    slide = SlideQuality(words=20, words_per_minute=170, similarity=0.35, dnsmos_ovrl=3.3)
    view = slide_quality(slide, base)
    assert words(view) == ["audio: clean", "pace: normal"]
    assert view.tone == "ok"
    matched = job_quality(job(VOICE_MATCHED, similarity=0.5))
    assert matched.words[0].text == "voice: not matched (no cloning model configured)"
    assert matched.words[0].numbers == "base voice, pitch matched; similarity 0.50"


def test_a_long_silence_is_placed_in_the_video():
    slide = SlideQuality(words=20, words_per_minute=150, longest_silence=3.2,
                         longest_silence_at=4.0)  # fmt: skip
    view = slide_quality(slide, job(VOICE_BASE), start=38.4)
    assert "long silence at 0:42" in words(view)
    short = SlideQuality(words=20, words_per_minute=150, longest_silence=1.5, longest_silence_at=1)
    assert not [w for w in words(slide_quality(short, job(VOICE_BASE))) if "silence" in w]


def test_a_slide_without_speech_says_so_and_clipping_is_heard():
    mute = slide_quality(SlideQuality(words=12), job(VOICE_CONVERTED))
    assert words(mute) == ["no speech heard"]
    clipped = SlideQuality(words=20, words_per_minute=150, dnsmos_ovrl=3.5, clipping=0.01)
    assert "audio: clipped" in words(slide_quality(clipped, job(VOICE_BASE)))


def test_the_job_names_the_slides_to_listen_to_and_keeps_its_numbers():
    found = job(
        VOICE_CONVERTED, similarity=0.65, dnsmos_ovrl=3.1,
        warnings=["slide 4: voice similarity 0.41 < 0.6", "slide 9: 3.0 s of silence",
                  "slide 4: 300 words/min > 260"],
    )  # fmt: skip
    view = job_quality(found)
    assert words(view)[-1] == "listen to slides 4, 9"
    assert view.numbers["voice that spoke"] == VOICE_CONVERTED
    assert view.numbers["checked"].startswith("passed (warn)")
    assert not job_quality(None)


def test_clock():
    assert (clock(42.4), clock(125), clock(-1)) == ("0:42", "2:05", "0:00")
