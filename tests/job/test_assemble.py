"""The assemble step re-run after an edit: only the edited slide's sound is encoded again, the
video is as exact as a cold one (frames, keyframes, audio samples against the narrations,
captions), and a damaged kept piece is encoded again. Real LibreOffice, Piper and ffmpeg, on local
storage and S3."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from deck2video import job, samples, storage
from deck2video.audio import read_wav
from deck2video.config import JobSettings
from deck2video.job import JobFolder, load_manifest
from deck2video.samples import SampleSlide
from tests.support import media

SETTINGS = JobSettings(width=640, height=360)
RATE = 24_000
FRAME = 1 / 25
SLIDES = [
    SampleSlide("One", "The first slide says this."),
    SampleSlide("Two", "A second slide, short."),
    SampleSlide("Three", "And the third one ends it."),
]
EDITED = [SLIDES[0], replace(SLIDES[1], notes="A second slide, now longer than it was."), SLIDES[2]]


@dataclass(frozen=True)
class Runs:
    root: Path
    cold: job.RunSummary
    edited: job.RunSummary
    edited_deck: Path
    video: Path  # the edited run's


def run(deck: Path, voice: Path, root: str, out: str) -> job.RunSummary:
    return job.run(str(deck), str(voice), out_url=out, root_url=root, settings=SETTINGS)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, reference_voice: Path) -> Runs:
    folder = tmp_path_factory.mktemp("edit")
    root = folder / "root"
    deck = samples.build_deck(folder / "deck.pptx", SLIDES)
    cold = run(deck, reference_voice, str(root), str(folder / "cold.mp4"))
    edited_deck = samples.build_deck(folder / "edited" / "deck.pptx", EDITED)
    edited = run(edited_deck, reference_voice, str(root), str(folder / "edited.mp4"))
    return Runs(root, cold, edited, edited_deck, folder / "edited.mp4")


def encoded(summary: job.RunSummary) -> dict:
    return load_manifest(summary.job_url).stages["assemble"].detail["encoded"]


def test_a_cold_run_encodes_every_slide_and_still(runs: Runs) -> None:
    assert encoded(runs.cold) == {"sound": [1, 2, 3], "stills": 3}


def test_an_edited_rerun_encodes_only_the_edited_slides_sound(runs: Runs) -> None:
    assert runs.edited.synthesized == 1
    assert encoded(runs.edited) == {"sound": [2], "stills": 0}


def test_the_edited_video_is_exact(runs: Runs) -> None:
    manifest = load_manifest(runs.edited.job_url)
    info = media.ffprobe(runs.video, "-show_streams", "-show_format")
    streams = {s["codec_type"]: s for s in info["streams"]}
    video, audio = streams["video"], streams["audio"]
    total = manifest.slides[-1].end
    assert video["r_frame_rate"] == video["avg_frame_rate"] == "25/1"
    assert int(video["nb_frames"]) == round(total / FRAME)
    assert int(audio["duration_ts"]) == round(total * RATE)
    assert float(info["format"]["duration"]) == pytest.approx(total, abs=FRAME)
    packets = media.ffprobe(
        runs.video, "-select_streams", "v", "-show_entries", "packet=pts_time,flags"
    )["packets"]
    keyframes = {round(float(p["pts_time"]), 3) for p in packets if "K" in p["flags"]}
    assert {slide.start for slide in manifest.slides} <= keyframes  # seeking lands on a slide

    heard = media.decoded_audio(runs.video, RATE)
    assert len(heard) == round(total * RATE)  # every sample, none more
    folder = JobFolder.at(runs.edited.job_url)
    cues = []
    for slide in manifest.slides:
        spoken = read_wav(Path(storage.parse(folder.audio(slide.number)).key))
        at = round((slide.start + SETTINGS.padding) * RATE)
        # Each narration exactly where its slide puts it: it matches best there, not a sample
        # earlier or later (the loudness limiter and AAC keep it from matching perfectly).
        similarity = [
            np.dot(heard[at + lag : at + lag + len(spoken)], spoken)
            / np.linalg.norm(heard[at + lag : at + lag + len(spoken)])
            / np.linalg.norm(spoken)
            for lag in (-2, -1, 0, 1, 2)
        ]
        assert similarity.index(max(similarity)) == 2, (slide.title, similarity)
        assert similarity[2] > 0.9, (slide.title, similarity)
        result = json.loads(storage.read_bytes(folder.speech_result(slide.number)))
        offset = slide.start + SETTINGS.padding
        cues += [offset + t for start, end, _ in result["cues"] for t in (start, end)]
    captions = media.read_captions(runs.video.with_suffix(".vtt").read_text())
    assert [t for c in captions for t in (c.start, c.end)] == pytest.approx(cues, abs=0.0011)


def test_a_damaged_kept_piece_is_encoded_again(
    runs: Runs, reference_voice: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    shutil.copytree(runs.root, root)
    # A piece is named by its samples' hash, so which sorts first is chance, and one of the
    # cold run's sound pieces (slide 2's old narration) is no longer the edited deck's: damage
    # the newest sound piece, the edited slide's own. Every unit is still the edited deck's.
    sound = sorted(
        (root / "cache" / "segments" / "audio").glob("*.aac"), key=lambda p: p.stat().st_mtime_ns
    )
    units = sorted((root / "cache" / "segments" / "video").glob("*.h264"))
    for piece in (sound[-1], units[0]):
        data = bytearray(piece.read_bytes())
        data[len(data) // 2] ^= 0xFF
        piece.write_bytes(bytes(data))
    again = run(runs.edited_deck, reference_voice, str(root), str(tmp_path / "again.mp4"))
    made = encoded(again)
    assert (len(made["sound"]), made["stills"]) == (1, 1)
    total = load_manifest(again.job_url).slides[-1].end
    assert len(media.decoded_audio(tmp_path / "again.mp4", RATE)) == round(total * RATE)
    # The damaged pieces were replaced by good ones: the next run encodes nothing.
    third = run(runs.edited_deck, reference_voice, str(root), str(tmp_path / "third.mp4"))
    assert encoded(third) == {"sound": [], "stills": 0}


@pytest.mark.slow
def test_pieces_are_kept_in_s3_too(s3_bucket: str, reference_voice: Path, tmp_path: Path) -> None:
    root = f"s3://{s3_bucket}/deck2video"
    deck = samples.build_deck(tmp_path / "deck.pptx", SLIDES)
    cold = run(deck, reference_voice, root, f"s3://{s3_bucket}/videos/cold.mp4")
    edited_deck = samples.build_deck(tmp_path / "edited" / "deck.pptx", EDITED)
    edited = run(edited_deck, reference_voice, root, f"s3://{s3_bucket}/videos/edited.mp4")
    assert encoded(cold) == {"sound": [1, 2, 3], "stills": 3}
    assert encoded(edited) == {"sound": [2], "stills": 0}
    kept = storage.list_objects(f"{root}/cache/segments/")
    assert len(kept) == 2 * (4 + 3)  # four sounds and three units, each with its marker
    video = storage.download(f"s3://{s3_bucket}/videos/edited.mp4", tmp_path / "edited.mp4")
    total = load_manifest(edited.job_url).slides[-1].end
    assert len(media.decoded_audio(video, RATE)) == round(total * RATE)
