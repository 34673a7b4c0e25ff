"""The harness's processes: each service in a session of its own that dies with the harness, its
output in a log, stopped as a whole; and the loopback checks a service's health is judged by."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

BIN = Path(sys.executable).parent  # the venv's bin: airflow, celery, weed
SETPRIV = Path("/usr/bin/setpriv")  # util-linux: dies with its parent, drops to postgres
UNSHARE = Path("/usr/bin/unshare")  # util-linux: a host name per worker, as containers have
STOP_TIMEOUT = 30.0


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None

    def start(self, cwd: Path) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"\n=== {datetime.now().isoformat(timespec='seconds')} start\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # stop() ends the whole session: pools, task runners
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    def wait(self, timeout: float) -> int:
        """Its exit status, once it exited within ``timeout`` (else TimeoutExpired)."""
        assert self.process is not None, f"{self.name} was never started"
        return self.process.wait(timeout=timeout)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> None:
        """Signal the session, wait until nothing of it is left, KILL what is."""
        stop_sessions([self], sig, timeout)

    def kill(self) -> None:
        """SIGKILL the whole session at once, as a host or container dies."""
        self.stop(signal.SIGKILL, timeout=10)

    def tail(self, lines: int = 5) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:])


def stop_sessions(processes: list[Process], sig: int = signal.SIGTERM,
                  timeout: float = STOP_TIMEOUT) -> None:  # fmt: skip
    """Signal every process of these sessions at once; after ``timeout``, KILL what is left."""
    started = [p.process for p in processes if p.process is not None]
    sessions = [p.pid for p in started]

    def left() -> list[int]:
        return [pid for sid in sessions for pid in session_members(sid)]

    for pid in left():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while left() and time.monotonic() < deadline:
        for process in started:
            process.poll()  # reap our own children, else they stay zombies and "left"
        time.sleep(0.2)
    for pid in left():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for process in started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


def session_members(sid: int) -> list[int]:
    """Every live process of session ``sid`` (a service and all it started)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def dies_with_parent(argv: list[str], *, user: str | None = None) -> list[str]:
    """``setpriv``: SIGTERM when the harness dies (even by SIGKILL); optionally another user."""
    prefix = [str(SETPRIV), "--pdeathsig", "TERM"]
    if user:
        prefix += ["--reuid", user, "--regid", user, "--init-groups"]
    return [*prefix, "--", *argv]


def with_hostname(argv: list[str], hostname: str) -> list[str]:
    """Run in a UTS namespace of its own named ``hostname``, as the compose container would."""
    return [str(UNSHARE), "--uts", "--", "/bin/sh", "-c", 'hostname "$0" && exec "$@"',
            hostname, *argv]  # fmt: skip


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_ok(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (OSError, urllib.error.URLError):
        return False


def base_env() -> dict[str, str]:
    """A clean environment: system paths, the venv first, no caller's Airflow/deck2video."""
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW", "DECK2VIDEO_", "AWS_"))}  # fmt: skip
    keep["PATH"] = f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin"
    keep["PYTHONWARNINGS"] = "ignore"  # library deprecation chatter buries the useful lines
    return keep
