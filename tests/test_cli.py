"""The ``deck2video`` command as users and the images call it (a real subprocess each time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deck2video import storage
from deck2video.airflow_names import EXIT_BAD_INPUT, EXIT_FAILED
from deck2video.job import load_manifest
from tests.support import bad_files, media


def deck2video(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deck2video.cli", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
    )


def test_run_the_demo_deck_on_local_storage(demo_deck, reference_voice, tmp_path):
    out = tmp_path / "videos" / "demo.mp4"
    done = deck2video(
        "run", "--deck", str(demo_deck), "--voice", str(reference_voice),
        "--out", str(out), "--root", str(tmp_path / "root"), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["video_url"] == str(out)
    info = media.ffprobe(out)
    assert media.codecs(info) == {"video": "h264", "audio": "aac", "subtitle": "mov_text"}
    manifest = load_manifest(summary["job_url"])
    assert manifest.status == "completed"
    # The demo deck has one hidden slide among its eight: seven chapters, in deck order.
    assert len(media.chapters(info)) == len(manifest.slides) == 7
    assert [s.source_index for s in manifest.slides] == sorted(
        s.source_index for s in manifest.slides
    )
    vtt = out.with_suffix(".vtt").read_text()
    assert vtt.startswith("WEBVTT")
    assert "Café" in vtt or "Zürich" in vtt  # non-ASCII notes survive into the captions


def test_summary_table_names_every_step(small_inputs, tmp_path):
    deck, voice = small_inputs
    done = deck2video(
        "run", "--deck", str(deck), "--voice", str(voice), "--out", str(tmp_path / "o.mp4"),
        "--root", str(tmp_path / "root"), "--resolution", "640x360",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for word in ("slides", "narration", "prepare", "speak", "quality", "assemble", "video:"):
        assert word in done.stdout
    [line] = [line for line in done.stdout.splitlines() if line.startswith("quality: ")]
    assert "similarity 0." in line
    assert "DNSMOS" in line
    assert "words/min" in line
    assert "worst: slide" in line
    assert (tmp_path / "o.quality.json").is_file()


@pytest.fixture
def small_inputs(make_deck, reference_voice):
    from deck2video.samples import SampleSlide

    deck = make_deck([SampleSlide("Hello", "Hello there."), SampleSlide("Bye", "Goodbye.")])
    return deck, reference_voice


@pytest.mark.slow
def test_step_subcommands_on_s3(small_inputs, s3_bucket, tmp_path):
    """What the Airflow tasks and the speech image run: one step per call, URLs only."""
    deck, voice = small_inputs
    deck_url = storage.upload(deck, f"s3://{s3_bucket}/in/talk.pptx")
    voice_url = storage.upload(voice, f"s3://{s3_bucket}/in/voice.wav")
    out_url = f"s3://{s3_bucket}/out/talk.mp4"
    prepared = deck2video(
        "prepare", "--deck", deck_url, "--voice", voice_url, "--out", out_url,
        "--root", f"s3://{s3_bucket}/deck2video", "--resolution", "640x360",
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr
    plan = json.loads(prepared.stdout)
    job = plan["job_url"]
    assert deck2video("prepare-voice", "--job", job).returncode == 0
    for slide in plan["slides"]:
        spoken = deck2video("speak", "--job", job, "--slide", str(slide["number"]))
        assert spoken.returncode == 0, spoken.stderr
        assert json.loads(spoken.stdout)["synthesized"] is True
    strict = deck2video(
        "quality", "--job", job, "--quality-mode", "fail", "--min-similarity", "0.95"
    )
    assert strict.returncode == 1
    # No converter here: the voice's distance is said once for the job, not per slide.
    assert "voice: no converter is configured, and the base voice is far" in strict.stderr
    assert "< 0.95" in strict.stderr
    assert "slide 1: voice similarity" not in strict.stderr
    checked = deck2video("quality", "--job", job, "--min-similarity", "0")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["slides_scored"] == 2
    assert deck2video("assemble", "--job", job).returncode == 0
    published = deck2video("publish", "--job", job, "--out", out_url)  # the run's, not the job's
    assert published.returncode == 0, published.stderr
    assert json.loads(published.stdout)["video_url"] == out_url
    video = storage.download(out_url, tmp_path / "talk.mp4")
    assert len(media.chapters(media.ffprobe(video))) == 2
    report = json.loads(storage.read_bytes(f"s3://{s3_bucket}/out/talk.quality.json"))
    assert [s["slide"] for s in report["slides"]] == [1, 2]
    status = deck2video("status", "--job", job)
    assert json.loads(status.stdout)["status"] == "completed"
    assert json.loads(status.stdout)["quality"]["similarity"] > 0
    assert status.stderr.startswith("quality: similarity 0.")


def test_bad_input_exits_with_its_own_status_and_one_line(tmp_path, reference_voice):
    deck = bad_files.encrypted_deck(tmp_path / "locked.pptx")
    done = deck2video(
        "run", "--deck", str(deck), "--voice", str(reference_voice),
        "--out", str(tmp_path / "x.mp4"), "--root", str(tmp_path / "root"),
    )  # fmt: skip
    assert done.returncode == EXIT_BAD_INPUT
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("deck2video: error: deck ")
    assert "locked.pptx" in lines[0]
    assert not (tmp_path / "x.mp4").exists()


def test_a_bad_deployment_setting_fails_in_one_line_not_as_bad_input(tmp_path, small_inputs):
    # The operator's mistake: exit 1 (worth a retry once fixed), not 65, and no traceback.
    deck, voice = small_inputs
    done = deck2video(
        "run", "--deck", str(deck), "--voice", str(voice),
        "--out", str(tmp_path / "x.mp4"), "--root", str(tmp_path / "root"),
        env={"DECK2VIDEO_FONTS_DIR": str(tmp_path / "no-such-fonts")},
    )  # fmt: skip
    assert done.returncode == EXIT_FAILED
    assert done.stderr.strip().splitlines() == [
        f"deck2video: failed: DECK2VIDEO_FONTS_DIR='{tmp_path / 'no-such-fonts'}': not a folder"
    ]
    assert not (tmp_path / "x.mp4").exists()


def test_unknown_slide_is_an_input_error(tmp_path, small_inputs):
    deck, voice = small_inputs
    prepared = deck2video(
        "prepare", "--deck", str(deck), "--voice", str(voice), "--out", str(tmp_path / "o.mp4"),
        "--root", str(tmp_path / "root"), "--resolution", "640x360",
    )  # fmt: skip
    job = json.loads(prepared.stdout)["job_url"]
    done = deck2video("speak", "--job", job, "--slide", "9")
    assert done.returncode == EXIT_BAD_INPUT
    assert "no slide 9" in done.stderr


def test_settings_are_validated(tmp_path, small_inputs):
    deck, voice = small_inputs
    done = deck2video(
        "run", "--deck", str(deck), "--voice", str(voice), "--out", str(tmp_path / "o.mp4"),
        "--speed", "9",
    )  # fmt: skip
    assert done.returncode == EXIT_BAD_INPUT
    assert "speed" in done.stderr
    assert not Path(tmp_path / "o.mp4").exists()


def test_status_lists_each_slides_build_steps(builds_run):
    status = deck2video("status", "--job", builds_run.summary.job_url)
    assert status.returncode == 0, status.stderr
    slides = json.loads(status.stdout)["slides"]
    assert [s["steps"] for s in slides] == [4, 3, 1]
    lines = [line for line in status.stderr.splitlines() if line.startswith("builds:")]
    assert len(lines) == 2
    assert lines[0].startswith("builds: slide 1 (Three steps): 4 steps, starting at 0.0, ")
    assert lines[1].startswith("builds: slide 2 (A picture): 3 steps, starting at ")
