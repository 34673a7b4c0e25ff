"""Time and peak memory of a child process and of everything it starts: what the bomb tests bound.

Two figures: the kernel's peak resident size of the command and the descendants it waited for,
and the largest total resident size of the whole process tree at one moment, sampled from /proc
(a sandboxed tool's rusage does not reach its grandparent). The kernel's figure is taken by a
small launcher: a process started straight from pytest would count pytest's own pages, which a
forked child shares until it execs, as its peak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    returncode: int
    seconds: float
    peak_rss_mb: float  # the largest single process (wait4's ru_maxrss)
    peak_tree_mb: float  # the whole tree at once (sampled every 20 ms)
    stdout: str
    stderr: str

    def line(self) -> str:
        return (
            f"{self.seconds:.1f} s, peak {self.peak_rss_mb:.0f} MB (one process), "
            f"{self.peak_tree_mb:.0f} MB (all at once)"
        )


# Runs the command as its child and writes that child's rusage (itself and what it waited for).
_LAUNCHER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    json.dump({"code": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss}, report)
"""


def run_measured(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 300
) -> Measured:
    """Run ``argv`` to the end (killing its session after ``timeout``) and measure it."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r", suffix=".json") as report,
    ):
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, report.name, *argv],
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
        )
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        killer = threading.Timer(timeout, os.killpg, (proc.pid, 9))
        killer.start()
        try:
            proc.wait()
        finally:
            killer.cancel()
            sampler.stop()
        seconds = time.monotonic() - started
        reported = json.loads(report.read() or '{"code": -9, "maxrss_kb": 0}')
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=reported["code"],
            seconds=seconds,
            peak_rss_mb=reported["maxrss_kb"] / 1024,
            peak_tree_mb=sampler.peak_kb / 1024,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


class _TreeSampler(threading.Thread):
    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak_kb = root, 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.02):
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(pid) for pid in tree(self.root)))

    def stop(self) -> None:
        self._done.set()
        self.join()


def tree(root: int) -> set[int]:
    """``root`` and its living descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo += children.get(pid, [])
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
