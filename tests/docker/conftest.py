"""A real Docker Engine for the tests: a private ``dockerd`` and the images built on it.

No engine runs on a test machine and no registry is reachable, so the session starts Debian's
``dockerd`` itself (as root; no bridge, no iptables: containers use the host's network, so they
reach the loopback S3 server) with its state in a temporary folder, and builds the images from a
debootstrap base (scripts/docker_base.sh). Without dockerd, or when it won't start, the tests are
skipped with the reason, unless ``REQUIRE_DOCKER=1`` says a skip would be a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEECH_TAG = "deck2video-speech:test"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
# debootstrap alone takes minutes on a cold cache; the wheels download once too.
BUILD_TIMEOUT = 1200.0


def unavailable(reason: str) -> None:
    """Skip, or fail where the caller said Docker must be there (CI on a machine that has it)."""
    if os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail(f"Docker is required here but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Engine:
    url: str  # unix:///.../docker.sock, for DOCKER_HOST and the docker SDK
    root: Path  # the engine's private folder: data, exec root, log

    @property
    def env(self) -> dict[str, str]:
        """The environment for a ``docker`` CLI call against this engine."""
        return {**os.environ, "DOCKER_HOST": self.url, "DOCKER_BUILDKIT": "0"}

    def client(self):
        import docker

        return docker.DockerClient(base_url=self.url, version="auto", timeout=120)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Engine]:
    """A private dockerd for this session; stopped and its files removed afterwards."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        unavailable("dockerd is not installed (Debian package docker.io)")
    if os.geteuid() != 0:
        unavailable("dockerd needs root here (no rootless setup)")
    # Short path: a unix socket's path must fit in 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="d2v-docker-", dir="/tmp"))
    engine = Engine(url=f"unix://{root}/docker.sock", root=root)
    log = (root / "dockerd.log").open("wb")
    process = subprocess.Popen(
        [
            dockerd,
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
            f"--data-root={root / 'data'}",
            f"--exec-root={root / 'exec'}",
            f"--pidfile={root / 'dockerd.pid'}",
            f"--host={engine.url}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: containerd goes with it
    )
    try:
        problem = wait_until_ready(engine, process)
        if problem:
            unavailable(f"dockerd did not start: {problem}")
        yield engine
    finally:
        stop(process)
        log.close()
        remove_engine_files(root)


def wait_until_ready(engine: Engine, process: subprocess.Popen) -> str | None:
    """None once the engine answers; else why not (dockerd's last log line)."""
    client = engine.client
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with status {process.returncode}: {last_line(engine.root)}"
        if Path(engine.url.removeprefix("unix://")).exists():
            with contextlib.suppress(Exception):
                client().ping()
                return None
        time.sleep(0.2)
    return f"no answer within {START_TIMEOUT:.0f} s: {last_line(engine.root)}"


def last_line(root: Path) -> str:
    lines = (root / "dockerd.log").read_text(errors="replace").strip().splitlines()
    return lines[-1] if lines else "(no output)"


def stop(process: subprocess.Popen) -> None:
    """SIGTERM lets dockerd stop its containers and containerd and unmount its layers."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def remove_engine_files(root: Path) -> None:
    # Mounts left by a killed engine would make rmtree fail (or worse, descend into them).
    for mount in reversed(mounts_under(root)):
        subprocess.run(["umount", "--lazy", mount], check=False, capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def mounts_under(root: Path) -> list[str]:
    prefix = f"{root}/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1] for line in mounts]
    return [p for p in points if p.startswith(prefix)]


@pytest.fixture(scope="session")
def speech_image(docker_engine: Engine) -> str:
    """The speech image (CPU, Piper) built on the debootstrap base; returns its tag."""
    started = time.monotonic()
    try:
        built = subprocess.run(
            [str(REPO / "scripts" / "docker_base.sh"), SPEECH_TAG],
            env=docker_engine.env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"building {SPEECH_TAG}: no result within {BUILD_TIMEOUT:.0f} s")
    if built.returncode != 0:
        tail = "\n".join(built.stderr.strip().splitlines()[-15:])
        pytest.fail(f"building {SPEECH_TAG} failed (status {built.returncode}):\n{tail}")
    print(f"\nbuilt {SPEECH_TAG} in {time.monotonic() - started:.1f} s")
    return built.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def docker_runner_env(docker_engine: Engine, speech_image: str) -> dict[str, str]:
    """The deployment settings (deck2video.config.Deployment) that make the DAG's speak
    task a DockerOperator on this engine; set them (monkeypatch) before the DAG file is parsed."""
    return {
        "DECK2VIDEO_SPEECH_RUNNER": "docker",
        "DECK2VIDEO_SPEECH_IMAGE": speech_image,
        "DECK2VIDEO_DOCKER_URL": docker_engine.url,
        "DECK2VIDEO_DOCKER_NETWORK": "host",
        "DECK2VIDEO_DOCKER_GPUS": "none",
    }
