"""Click builds through the whole pipeline (job.run: real LibreOffice, Piper, ffmpeg): the video
shows each step in its time range, seeks land on what is on screen (ffmpeg and Chromium), the
captions are the narration, and moving [CLICK] markers re-times without re-rendering or
re-synthesizing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pptx import Presentation

from deck2video import job, storage
from deck2video.config import JobSettings
from deck2video.job import JobFolder, load_manifest
from deck2video.manifest import Manifest
from deck2video.narration import Speech, narrate
from deck2video.timeline import KEYFRAME_SECONDS
from tests.support import media
from tests.support.browser import chromium, screenshot
from tests.support.build_decks import BULLET_NOTES, PICTURE_NOTES
from tests.support.processes import wait_until

SETTINGS = JobSettings(width=640, height=360)
FRAME = 1 / 25


@dataclass(frozen=True)
class Made:
    summary: job.RunSummary
    manifest: Manifest
    video: Path
    stills: list[tuple[float, float, Path]]  # each still's [start, end) in the video

    def expected(self, at: float) -> Path:
        return next(path for start, end, path in self.stills if start <= at < end)


def job_path(summary: job.RunSummary, url: str) -> Path:
    return Path(storage.parse(url).key)


def made_from(summary: job.RunSummary, video: Path) -> Made:
    folder = JobFolder(summary.job_url)
    manifest = load_manifest(folder)
    stills = []
    for slide in manifest.slides:
        paths = [folder.step(slide.number, k) for k in range(1, slide.steps)]
        paths.append(folder.slide(slide.number))
        starts = slide.step_starts or [slide.start]
        ends = [*starts[1:], slide.end]
        stills += [
            (start, end, job_path(summary, url))
            for start, end, url in zip(starts, ends, paths, strict=True)
        ]
    return Made(summary, manifest, video, stills)


@pytest.fixture(scope="module")
def builds_deck(builds_run) -> Path:
    return builds_run.deck


@pytest.fixture(scope="module")
def root(builds_run) -> Path:
    return builds_run.root


@pytest.fixture(scope="module")
def made(builds_run) -> Made:
    return made_from(builds_run.summary, builds_run.video)


def nearest(frame: Image.Image, candidates: list[Path]) -> Path:
    """The still that looks most like ``frame``."""
    distances = {}
    for path in candidates:
        with Image.open(path) as still:
            distances[path] = media.image_distance(frame, still)
    return min(distances, key=distances.__getitem__)


def test_manifest_lists_the_steps_and_their_starts(made: Made) -> None:
    bullets, picture, leaving = made.manifest.slides
    assert (bullets.steps, picture.steps, leaving.steps) == (4, 3, 1)
    assert leaving.step_starts == []
    for slide in (bullets, picture):
        assert slide.step_starts[0] == slide.start
        assert slide.step_starts == sorted(set(slide.step_starts))
        assert slide.step_starts[-1] < slide.end
    assert made.manifest.warnings == []


def test_marked_steps_start_with_the_sentence_after_each_click(made: Made) -> None:
    folder = JobFolder(made.summary.job_url)
    bullets = made.manifest.slides[0]
    result = json.loads(storage.read_bytes(folder.speech_result(1)))
    padding = SETTINGS.padding
    sentence_starts = [bullets.start + padding + cue[0] for cue in result["cues"]]
    # "Here is the plan..." [CLICK] "First..." [CLICK] "Then..." [CLICK] "Finally..."
    assert len(sentence_starts) == 4
    for step_start, sentence_start in zip(
        bullets.step_starts[1:], sentence_starts[1:], strict=True
    ):
        assert step_start == pytest.approx(sentence_start, abs=FRAME / 2 + 0.001)


def test_unmarked_steps_start_at_sentence_boundaries(made: Made) -> None:
    folder = JobFolder(made.summary.job_url)
    picture = made.manifest.slides[1]
    result = json.loads(storage.read_bytes(folder.speech_result(2)))
    boundaries = [picture.start + SETTINGS.padding + cue[0] for cue in result["cues"][1:]]
    for step_start in picture.step_starts[1:]:
        assert min(abs(step_start - b) for b in boundaries) <= FRAME / 2 + 0.001
    # The last step is held for at least its last sentence.
    assert picture.step_starts[-1] <= boundaries[-1] + FRAME


def test_every_seek_shows_the_step_on_screen_then(made: Made, tmp_path: Path) -> None:
    """``ffmpeg -ss T -i video.mp4 -frames:v 1``, as thumbnailers and players seek."""
    candidates = [path for _, _, path in made.stills]
    duration = made.manifest.slides[-1].end
    times = [round(t, 2) for t in np.arange(0.3, duration - 0.1, 0.61)]
    boundaries = [start for start, _, _ in made.stills]
    checked = 0
    for at in times:
        if min(abs(at - b) for b in boundaries) < 2 * FRAME:
            continue  # within a frame of a change: either side is right
        frame = media.frame_at(made.video, at, tmp_path / "frame.png")
        assert nearest(frame, candidates) == made.expected(at), f"seek to {at} s"
        checked += 1
    assert checked > 30


def test_frames_just_inside_each_step_match_its_rendered_still(made: Made, tmp_path) -> None:
    candidates = [path for _, _, path in made.stills]
    for start, end, path in made.stills:
        for at in (start + FRAME, end - FRAME):
            frame = media.frame_at(made.video, at, tmp_path / "frame.png")
            assert nearest(frame, candidates) == path, (at, path.name)
            with Image.open(path) as still:
                assert media.image_distance(frame, still) < 4.0


def test_video_has_a_steady_frame_rate_and_regular_keyframes(made: Made) -> None:
    (stream,) = media.ffprobe(made.video, "-select_streams", "v", "-show_streams")["streams"]
    assert stream["avg_frame_rate"] == stream["r_frame_rate"] == "25/1"
    packets = media.ffprobe(
        made.video, "-select_streams", "v", "-show_entries", "packet=pts_time,flags"
    )["packets"]
    keyframes = [float(p["pts_time"]) for p in packets if "K" in p["flags"]]
    gaps = [b - a for a, b in pairwise(keyframes)]
    assert max(gaps) <= KEYFRAME_SECONDS + 1e-6
    for start, _, _ in made.stills:  # every new still starts with a keyframe
        assert min(abs(k - start) for k in keyframes) < 0.001


def test_captions_are_the_narration_one_chapter_per_slide(made: Made) -> None:
    folder = JobFolder(made.summary.job_url)
    vtt = media.read_vtt(storage.read_bytes(folder.captions_vtt).decode())
    spoken = [
        s.text
        for notes in (BULLET_NOTES, PICTURE_NOTES)
        for s in narrate(notes)
        if isinstance(s, Speech)
    ]
    captions = [" ".join(cue.text.split()) for cue in vtt]
    assert captions[: len(spoken)] == spoken
    assert not any("CLICK" in text for text in captions)
    chapters = media.chapters(media.ffprobe(made.video, "-show_chapters"))
    assert [title for _, _, title in chapters] == ["Three steps", "A picture", "An exit"]


def test_chromium_seeks_to_the_step_on_screen(made: Made, tmp_path: Path) -> None:
    page = tmp_path / "seek.html"
    page.write_text(
        f'<html><body style="margin:0;background:#000"><video id="v" width="640" height="360" '
        f'src="{made.video.as_uri()}" preload="auto" muted></video></body></html>'
    )
    candidates = [path for _, _, path in made.stills]
    picks = [(start + end) / 2 for start, end, _ in made.stills]
    with chromium() as driver:
        driver.get(page.as_uri())
        video = driver.find_element("id", "v")
        for at in picks:
            driver.execute_script(
                "const v = arguments[0]; v.dataset.seeked = '';"
                "v.addEventListener('seeked', () => { v.dataset.seeked = 'yes'; }, {once: true});"
                "v.currentTime = arguments[1];",
                video,
                at,
            )
            _wait(lambda: video.get_attribute("data-seeked") == "yes")
            shot = tmp_path / "shot.png"
            shot.write_bytes(video.screenshot_as_png)
            with Image.open(shot) as image:
                frame = image.convert("RGB").resize((640, 360))
            if nearest(frame, candidates) != made.expected(at):
                screenshot(driver, f"builds-seek-{at:.2f}")
            assert nearest(frame, candidates) == made.expected(at), f"Chromium at {at:.2f} s"


def _wait(condition, timeout: float = 20.0) -> None:
    assert wait_until(condition, timeout), "the video did not seek"


def test_moving_click_markers_retimes_without_rendering_or_speaking_again(
    made: Made, builds_deck: Path, reference_voice, root: Path, tmp_path: Path
) -> None:
    edited = tmp_path / "builds.pptx"
    prs = Presentation(str(builds_deck))
    notes = prs.slides[0].notes_slide.notes_text_frame
    moved = BULLET_NOTES.replace("[CLICK] ", "").replace(
        "Finally,", "[CLICK] [CLICK] [CLICK] Finally,"
    )
    notes.text = moved
    prs.save(str(edited))
    summary = job.run(
        str(edited), str(reference_voice), out_url=str(root / "published" / "edited.mp4"),
        root_url=str(root), settings=SETTINGS,
    )  # fmt: skip
    assert summary.job_id != made.summary.job_id
    again = load_manifest(JobFolder(summary.job_url))
    assert again.stages["prepare"].detail["render_cached"] is True
    assert summary.synthesized == 0
    bullets = again.slides[0]
    # All three clicks at the last sentence: three steps at one time collapse to a frame each.
    assert bullets.step_starts[1] > made.manifest.slides[0].step_starts[3] - 3 * FRAME
    assert bullets.step_starts[1:] == pytest.approx(
        [bullets.step_starts[1] + k * FRAME for k in range(3)], abs=0.001
    )


def test_builds_off_gives_one_still_per_slide(made: Made, builds_deck, reference_voice, root):
    summary = job.run(
        str(builds_deck), str(reference_voice), out_url=str(root / "published" / "off.mp4"),
        root_url=str(root), settings=JobSettings(width=640, height=360, builds=False),
    )  # fmt: skip
    manifest = load_manifest(JobFolder(summary.job_url))
    assert [s.steps for s in manifest.slides] == [1, 1, 1]
    assert all(s.step_starts == [] for s in manifest.slides)
    assert summary.synthesized == 0  # the narration is the same
