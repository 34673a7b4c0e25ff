"""Time and peak memory of a child process and of everything it starts: what the bomb tests bound.

Two figures, because a sandboxed tool's rusage does not reach its grandparent: the kernel's
peak resident size of the child and the descendants it waited for (``wait4``), and the largest
total resident size of the whole process tree at one moment, sampled from /proc.
"""

from __future__ import annotations

import os
import subprocess
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


def run_measured(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 300
) -> Measured:
    """Run ``argv`` to the end (killing its session after ``timeout``) and measure it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, env=env, start_new_session=True)
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        killer = threading.Timer(timeout, os.killpg, (proc.pid, 9))
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
            sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=proc.returncode,
            seconds=seconds,
            peak_rss_mb=usage.ru_maxrss / 1024,
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
