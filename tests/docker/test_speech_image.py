"""The speech image: one slide's narration, synthesized in a container, lands in S3.

The job is prepared on the host (render + reference voice), then the container runs
``deck2video speak`` with storage URLs only, as the DAG's DockerOperator does.
"""

from __future__ import annotations

import os
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest

from deck2video import job, storage
from deck2video.roots import Roots
from deck2video.samples import SampleSlide, build_deck

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# What the container needs to reach the session's S3 server (set by the s3_server fixture).
S3_ENV = (
    "DECK2VIDEO_S3_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
)

SLIDES = [
    SampleSlide("Welcome", "Hello from inside a container. The speech image made this."),
    SampleSlide("Quiet", ""),
]


@dataclass(frozen=True)
class Run:
    status: int
    logs: str
    user: str  # the container's configured user
    seconds: float


def run_speech(engine, image: str, args: list[str], *, entrypoint: list[str] | None = None) -> Run:
    """Run the image to completion on the host network, with the S3 settings of the session."""
    client = engine.client()
    started = time.monotonic()
    container = client.containers.run(
        image,
        args,
        entrypoint=entrypoint,
        environment={name: os.environ[name] for name in S3_ENV},
        network_mode="host",
        detach=True,
    )
    try:
        status = container.wait(timeout=300)["StatusCode"]
        seconds = time.monotonic() - started
        logs = container.logs(stdout=True, stderr=True).decode(errors="replace")
        return Run(status, logs, container.attrs["Config"]["User"], seconds)
    finally:
        container.remove(force=True)


@pytest.fixture(scope="module")
def job_url(s3_server: str, reference_voice: Path, tmp_path_factory) -> str:
    """A job prepared on the host: slides rendered, notes written, reference voice cleaned."""
    bucket = "speech-image"
    storage.s3_client().create_bucket(Bucket=bucket)
    deck = build_deck(tmp_path_factory.mktemp("deck") / "talk.pptx", SLIDES)
    plan = job.prepare(
        storage.upload(deck, f"s3://{bucket}/in/talk.pptx"),
        storage.upload(reference_voice, f"s3://{bucket}/in/voice.wav"),
        out_url=f"s3://{bucket}/out/talk.mp4",
        root_url=f"s3://{bucket}/d2v",
        roots=Roots.only(f"s3://{bucket}/"),
    )
    job.prepare_voice(job.JobFolder.at(plan.job_url))
    return plan.job_url


@pytest.fixture(scope="module")
def spoken(docker_engine, speech_image: str, job_url: str) -> Run:
    run = run_speech(docker_engine, speech_image, ["speak", "--job", job_url, "--slide", "1"])
    print(f"\nspeak in the container: {run.seconds:.1f} s")
    return run


def test_speak_in_the_container_succeeds(spoken: Run):
    assert spoken.status == 0, spoken.logs


def test_the_slide_audio_is_24khz_mono_16bit_speech(spoken: Run, job_url: str, tmp_path: Path):
    wav = storage.download(storage.join(job_url, "audio/0001.wav"), tmp_path / "0001.wav")
    with wave.open(str(wav)) as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (24_000, 1, 2)
        seconds = audio.getnframes() / audio.getframerate()
    # Two sentences of speech: seconds, not a blip and not minutes.
    assert 2.0 < seconds < 30.0
    info = storage.read_bytes(storage.join(job_url, "audio/0001.json")).decode()
    assert '"synthesized": true' in info


def test_the_container_runs_as_a_non_root_user(docker_engine, speech_image: str, spoken: Run):
    assert spoken.user not in ("", "0", "root", "0:0")
    probe = run_speech(
        docker_engine,
        speech_image,
        ["-c", "import os; print(os.getuid(), os.getgid())"],
        entrypoint=["python"],
    )
    assert probe.status == 0, probe.logs
    uid, gid = (int(n) for n in probe.logs.split())
    assert uid != 0
    assert gid != 0


def test_a_job_that_does_not_exist_fails_with_one_line(docker_engine, speech_image: str, job_url):
    missing = job_url.rsplit("/", 1)[0] + "/no-such-job"
    run = run_speech(docker_engine, speech_image, ["speak", "--job", missing, "--slide", "1"])
    assert run.status != 0
    last = run.logs.strip().splitlines()[-1]
    assert last.startswith("deck2video: "), run.logs
    assert "no-such-job" in last, run.logs
