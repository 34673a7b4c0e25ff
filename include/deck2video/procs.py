"""Run external tools (soffice, ffmpeg, pdftoppm, ...) with a hard timeout on the whole tree."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from deck2video.errors import ProcessingError


def run_tool(
    args: Sequence[str | Path],
    *,
    timeout: float,
    what: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run a command; on timeout kill its process group (soffice forks helpers).

    ``what`` names the work for error messages, e.g. ``"render deck talk.pptx"``.
    """
    argv = [str(a) for a in args]
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ProcessingError(f"{what}: {argv[0]} is not installed") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ProcessingError(
            f"{what}: {Path(argv[0]).name} timed out after {timeout:g} s"
        ) from None
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        raise ProcessingError(
            f"{what}: {Path(argv[0]).name} exited with {proc.returncode}: {last_line(err)}"
        )
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def last_line(output: bytes) -> str:
    lines = [ln.strip() for ln in output.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no output)"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
