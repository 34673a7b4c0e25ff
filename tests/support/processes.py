"""Watching what a test's processes leave behind: temp files, running children; and waiting."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def unsandboxed() -> Iterator[None]:
    """Tools run as a deployment with DECK2VIDEO_TOOL_SANDBOX=none runs them, for a while: for
    the tests' own sample files, and for the controls that show what the sandbox prevents."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DECK2VIDEO_TOOL_SANDBOX", "none")
        yield


@contextlib.contextmanager
def private_tempdir(path: Path) -> Iterator[Path]:
    """Point Python's and child processes' temporary files at ``path`` for a while."""
    saved_env, saved_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = str(path), str(path)
    try:
        yield path
    finally:
        tempfile.tempdir = saved_dir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env


def wait_until(condition, timeout: float = 5.0) -> bool:
    """Poll ``condition()`` until it holds or ``timeout`` seconds passed; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def leftovers(scratch: Path) -> list[Path]:
    """What a run left in its temp dir, less the ``.ses`` marker onnxruntime writes on import."""
    return [p for p in scratch.iterdir() if p.name != ".ses"]


def living_processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that mention ``text`` (zombies have none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found
