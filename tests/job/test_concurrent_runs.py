"""Two runs of one deck (the same job id) at the same time, each with its own output: both
publish the right video, whatever order their steps interleave in. Real processes, as two
Airflow workers would be, on local storage and on the loopback S3 server."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from deck2video import storage
from deck2video.job import load_manifest
from deck2video.samples import SampleSlide, build_deck
from tests.support import media

SLIDES = [SampleSlide("First", "Two runs share this job."), SampleSlide("Second", "")]


@pytest.fixture
def where(storage_root: str) -> tuple[str, str]:
    """(root of the inputs and videos, job store root)."""
    return f"{storage_root}/files", f"{storage_root}/store"


def test_two_concurrent_runs_each_publish_their_own_video(where, reference_voice, tmp_path):
    files, store = where
    deck = storage.upload(build_deck(tmp_path / "talk.pptx", SLIDES), f"{files}/in/talk.pptx")
    voice = storage.upload(reference_voice, f"{files}/in/voice.wav")
    outs = [f"{files}/videos/anna/talk.mp4", f"{files}/videos/ben/talk.mp4"]
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deck2video.cli",
                "run",
                "--deck",
                deck,
                "--voice",
                voice,
                "--out",
                out,
                "--root",
                store,
                "--resolution",
                "640x360",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for out in outs
    ]
    summaries = []
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
        summaries.append(json.loads(out))

    assert summaries[0]["job_id"] == summaries[1]["job_id"]  # one job, shared
    assert [s["video_url"] for s in summaries] == outs
    for out in outs:
        video = storage.download(out, tmp_path / out.replace("/", "_"))
        info = media.ffprobe(video)
        assert media.codecs(info) == {"video": "h264", "audio": "aac", "subtitle": "mov_text"}
        assert [c[2] for c in media.chapters(info)] == ["First", "Second"]
        vtt = storage.read_bytes(out[: -len(".mp4")] + ".vtt").decode()
        assert "share this job" in vtt
    manifest = load_manifest(summaries[0]["job_url"])
    assert manifest.status == "completed"
    assert sorted(p["video_url"] for p in manifest.published) == sorted(outs)
