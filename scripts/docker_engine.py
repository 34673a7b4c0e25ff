"""A private Docker Engine and the speech image built on it, for the tests and ``make stack``.

No engine runs on a test machine and no registry is reachable, so this starts Debian's
``dockerd`` itself (as root; no bridge, no iptables: containers use the host's network, so they
reach servers on loopback) with its state in a folder of its own, and builds the images from a
debootstrap base (scripts/docker_base.sh). Problems come back as :class:`EngineError` with one
line that says what is missing or what the engine said last.
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
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOCKERD = Path("/usr/sbin/dockerd")  # Debian's docker.io
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
# debootstrap alone takes minutes on a cold cache; the wheels download once too.
BUILD_TIMEOUT = 1200.0


class EngineError(RuntimeError):
    """The engine cannot be had here, or an image did not build; the message is one line."""


@dataclass(frozen=True)
class Engine:
    url: str  # unix:///.../docker.sock, for DOCKER_HOST and the docker SDK
    root: Path  # the engine's private folder: data, exec root, log

    @property
    def env(self) -> dict[str, str]:
        """The environment for a ``docker`` CLI call against this engine."""
        return {**os.environ, "DOCKER_HOST": self.url, "DOCKER_BUILDKIT": "0"}

    @property
    def log(self) -> Path:
        return self.root / "dockerd.log"

    def client(self) -> Any:
        import docker

        return docker.DockerClient(base_url=self.url, version="auto", timeout=120)


def unavailable_reason() -> str | None:
    """Why no engine can be started on this machine, or None."""
    if not DOCKERD.is_file():
        return f"{DOCKERD} is not installed (Debian package docker.io)"
    if os.geteuid() != 0:
        return "dockerd needs root here (no rootless setup)"
    return None


@contextlib.contextmanager
def running_engine(parent: Path | None = None) -> Iterator[Engine]:
    """A private dockerd until the block ends; then stopped and its files removed."""
    reason = unavailable_reason()
    if reason:
        raise EngineError(reason)
    # Short path: a unix socket's path must fit in 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="d2v-docker-", dir=parent or "/tmp"))
    engine = Engine(url=f"unix://{root}/docker.sock", root=root)
    with engine.log.open("wb") as log:
        process = subprocess.Popen(
            [
                str(DOCKERD),
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
                raise EngineError(f"dockerd did not start: {problem} (log: {engine.log})")
            yield engine
        finally:
            stop(process)
            remove_engine_files(root)


def wait_until_ready(engine: Engine, process: subprocess.Popen) -> str | None:
    """None once the engine answers; else why not (dockerd's last log line)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with status {process.returncode}: {last_line(engine.log)}"
        if Path(engine.url.removeprefix("unix://")).exists():
            with contextlib.suppress(Exception):
                engine.client().ping()
                return None
        time.sleep(0.2)
    return f"no answer within {START_TIMEOUT:.0f} s: {last_line(engine.log)}"


def last_line(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
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


def build_speech_image(engine: Engine, tag: str) -> str:
    """The speech image (CPU, Piper) on the debootstrap base; returns its tag."""
    try:
        built = subprocess.run(
            [str(REPO / "scripts" / "docker_base.sh"), tag],
            env=engine.env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EngineError(f"building {tag}: no result within {BUILD_TIMEOUT:.0f} s") from None
    if built.returncode != 0:
        tail = " | ".join(built.stderr.strip().splitlines()[-5:])
        raise EngineError(f"building {tag} failed (status {built.returncode}): {tail}")
    return built.stdout.strip().splitlines()[-1]
