"""Two runs of one deck (the same job id) at the same time, each with its own output: both
publish the right video, whatever order their steps interleave in. Real processes, as two
Airflow workers would be, on local storage and on the loopback S3 server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deck2video import storage
from deck2video.job import load_manifest
from deck2video.samples import SampleSlide, build_deck
from tests import media

SLIDES = [SampleSlide("First", "Two runs share this job."), SampleSlide("Second", "")]


@pytest.fixture(params=["local", "s3"])
def where(request, tmp_path) -> tuple[str, str]:
    """(root of the inputs and videos, job store root)."""
    if request.param == "local":
        return str(tmp_path / "files"), str(tmp_path / "store")
    bucket = request.getfixturevalue("s3_bucket")
    return f"s3://{bucket}/files", f"s3://{bucket}/store"


def put(local: Path, url: str) -> str:
    if url.startswith("s3://"):
        return storage.upload(local, url)
    Path(url).parent.mkdir(parents=True, exist_ok=True)
    Path(url).write_bytes(local.read_bytes())
    return url


def test_two_concurrent_runs_each_publish_their_own_video(where, reference_voice, tmp_path):
    files, store = where
    deck = put(build_deck(tmp_path / "talk.pptx", SLIDES), f"{files}/in/talk.pptx")
    voice = put(reference_voice, f"{files}/in/voice.wav")
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
            env=dict(os.environ),
        )  # fmt: skip
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
