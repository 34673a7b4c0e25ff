"""procs.py with real processes: limits, a clean environment, death with the parent, the sandbox
and the sweeping of scratch folders a killed run left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from deck2video.config import ToolLimits
from deck2video.errors import InputError, ProcessingError
from deck2video.procs import Sandbox, call_with_timeout, run_tool, scratch, sweep_stale
from tests.support.processes import leftovers, unsandboxed, wait_until

PYTHON3 = "/usr/bin/python3"  # Debian's, which a sandbox can see (the venv is not in it)
LIMITS = ToolLimits(memory_mb=200, cpu_seconds=1, setting="DECK2VIDEO_TEST")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_tool_sees_none_of_our_credentials(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-never-for-tools")
    monkeypatch.setenv("AIRFLOW_CONN_DECK2VIDEO_STORAGE", "aws://key:s3cr3t@")
    seen = run_tool(["/usr/bin/env"], timeout=10, what="env").stdout.decode()
    assert "s3cr3t" not in seen
    assert "PATH=" in seen


# A worker whose environment holds a secret, running a tool through run_tool that tries to read
# the worker's environment (and every other process's) from /proc.
_READ_PARENT_ENVIRON = """
import os, sys
from deck2video.procs import run_tool
spy = f"cat /proc/{os.getpid()}/environ || echo NO-WORKER; cat /proc/[0-9]*/environ 2>&-; exit 0"
done = run_tool(["/bin/sh", "-c", spy], timeout=30, what="spy", env={"PATH": "/usr/bin:/bin"})
sys.stdout.buffer.write(done.stdout)
"""


@pytest.mark.parametrize("sandbox", ["bwrap", "none"])
def test_a_tool_cannot_read_the_workers_environment_from_proc(sandbox):
    """A clean environment for the tool is not enough: without the sandbox it reads ours."""
    secret = "jwt-s3cr3t-" + os.urandom(8).hex()
    env = {**os.environ, "AIRFLOW__API_AUTH__JWT_SECRET": secret,
           "DECK2VIDEO_TOOL_SANDBOX": sandbox}  # fmt: skip
    worker = subprocess.run([sys.executable, "-c", _READ_PARENT_ENVIRON], env=env,
                            capture_output=True, timeout=60, check=False)  # fmt: skip
    seen = worker.stdout.decode(errors="replace")
    if sandbox == "none":  # the control: the same tool, unsandboxed, finds it
        assert secret in seen
    else:
        assert "NO-WORKER" in seen  # no process of that id in the tool's own PID namespace
        assert secret not in seen + worker.stderr.decode(errors="replace")


def test_memory_over_the_limit_is_bad_input_naming_the_setting():
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        run_tool([PYTHON3, "-c", "x = bytearray(600 * 2**20)"], timeout=30, what="alloc",
                 limits=LIMITS)  # fmt: skip
    assert str(caught.value) == (
        "alloc: python3 ran out of its 200 MiB memory limit or crashed (DECK2VIDEO_TEST_MEMORY_MB)"
    )
    assert time.monotonic() - started < 10


def test_cpu_time_over_the_limit_is_bad_input_naming_the_setting():
    started = time.monotonic()
    with pytest.raises(InputError, match=r"^spin: python3 used more than its 1 s of CPU time "):
        run_tool([PYTHON3, "-c", "while True: pass"], timeout=30, what="spin", limits=LIMITS)
    assert time.monotonic() - started < 8  # 1 s of CPU, on a loaded machine


def test_a_timeout_kills_the_whole_group_and_is_retryable():
    with pytest.raises(ProcessingError, match=r"^nap: sh timed out after 0.5 s$"):
        run_tool(["/bin/sh", "-c", "sleep 60 & sleep 60"], timeout=0.5, what="nap")


def processes_running(argv: list[str]) -> list[int]:
    """Host PIDs of the processes whose command line is ``argv`` (inside a sandbox a tool's own
    PID is another number)."""
    wanted = "\0".join(argv) + "\0"
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and (entry / "cmdline").read_text() == wanted:
                found.append(int(entry.name))
    return [pid for pid in found if alive(pid)]


@pytest.mark.parametrize("sandbox", ["bwrap", "none"])
def test_children_die_with_the_process_that_started_them(sandbox):
    """The pipeline killed (SIGKILL: no cleanup runs): its tool must not live on."""
    tool = ["sleep", str(300 + int.from_bytes(os.urandom(2)))]  # a command line of its own
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            from deck2video.procs import run_tool
            run_tool(["/bin/sh", "-c", "exec {' '.join(tool)}"], timeout=600, what="sleep")
        """)],
        env={**os.environ, "DECK2VIDEO_TOOL_SANDBOX": sandbox},
        start_new_session=True,
    )  # fmt: skip
    assert wait_until(lambda: processes_running(tool), timeout=15)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    assert wait_until(lambda: not processes_running(tool)), "the tool outlived the pipeline"


def test_the_sandbox_has_no_network(loopback_listener):
    fetch = textwrap.dedent(f"""
        import urllib.error, urllib.request
        try:
            urllib.request.urlopen({loopback_listener.url!r}, timeout=5)
        except urllib.error.HTTPError:  # it answered: reached
            pass
    """)
    with unsandboxed():
        run_tool([PYTHON3, "-c", fetch], timeout=30, what="control")  # outside: reached
    assert len(loopback_listener.connections) == 1
    with pytest.raises(ProcessingError, match=r"Connection refused|Network is unreachable"):
        run_tool([PYTHON3, "-c", fetch], timeout=30, what="fetch", sandbox=Sandbox())
    assert len(loopback_listener.connections) == 1  # nothing more got through


def test_the_sandbox_sees_only_what_it_is_given(tmp_path: Path):
    secret, given = tmp_path / "secret.txt", tmp_path / "given"
    secret.write_text("TOPSECRET")
    given.mkdir()
    (given / "input.txt").write_text("hello")
    read = "import sys; print(open(sys.argv[1]).read())"
    shown = run_tool([PYTHON3, "-c", read, given / "input.txt"], timeout=30, what="read",
                     sandbox=Sandbox(writable=(given,)))  # fmt: skip
    assert shown.stdout.decode().strip() == "hello"
    for hidden in (secret, Path.home() / ".bashrc", Path("/etc/passwd")):
        with pytest.raises(ProcessingError, match="No such file or directory"):
            run_tool([PYTHON3, "-c", read, hidden], timeout=30, what="read",
                     sandbox=Sandbox(writable=(given,)))  # fmt: skip


def test_scratch_folders_of_killed_runs_are_swept_and_live_ones_kept(scratch_dir: Path):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import time
            from deck2video.procs import scratch
            with scratch("held") as folder:
                print(folder, flush=True)
                time.sleep(300)
        """)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(scratch_dir)},
    )  # fmt: skip
    held = Path(holder.stdout.readline().strip())
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent("""
            import os
            from deck2video.procs import scratch
            with scratch("killed") as folder:
                (folder / "half-made.ppm").write_bytes(bytes(1000))
                print(folder, flush=True)
                os.kill(os.getpid(), 9)
        """)],
        capture_output=True, text=True, env={**os.environ, "TMPDIR": str(scratch_dir)},
    )  # fmt: skip
    left = Path(killed.stdout.strip())
    assert left.is_dir()
    assert held.is_dir()
    try:
        assert sweep_stale(scratch_dir) == [left]
        assert held.is_dir()
    finally:
        holder.kill()
        holder.wait()
    assert sweep_stale(scratch_dir) == [held]
    assert leftovers(scratch_dir) == []


def test_a_new_process_sweeps_at_its_first_scratch_folder(scratch_dir: Path):
    stale = scratch_dir / "deck2video-render-stale"
    stale.mkdir()
    (stale / ".owner").touch()  # its owner's lock died with it
    with scratch("prepare") as mine:
        assert not stale.exists()
        assert mine.parent == scratch_dir
    assert leftovers(scratch_dir) == []


def test_a_call_past_its_timeout_fails_without_waiting_for_it():
    assert call_with_timeout(lambda: 42, timeout=5, what="answer") == 42
    started = time.monotonic()
    with pytest.raises(ProcessingError, match=r"^nap: took longer than 0.2 s$"):
        call_with_timeout(lambda: time.sleep(30), timeout=0.2, what="nap")
    assert time.monotonic() - started < 2
    with pytest.raises(ZeroDivisionError):
        call_with_timeout(lambda: 1 / 0, timeout=5, what="oops")
