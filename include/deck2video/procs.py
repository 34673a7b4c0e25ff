"""Run external tools (soffice, ffmpeg, pdftoppm, ...) bounded in time, memory and CPU, so that
they die with the pipeline; and the pipeline's temporary folders, swept when their owner died.

Every child runs through util-linux's ``prlimit`` (address-space and CPU-time limits) and
``setpriv --pdeathsig KILL`` (the kernel kills it when the thread that started it dies), in a
session of its own whose whole process group is killed on a timeout and after it exits. Both
tools are in Debian's essential util-linux package; they exec the tool in place, so nothing of
Python runs between fork and exec.

Every tool also runs in bubblewrap (unless the deployment says ``DECK2VIDEO_TOOL_SANDBOX=none``):
these tools parse users' bytes (a deck, a recording, the PDF LibreOffice made of a deck), and a
flaw in a decoder must not reach the worker's secrets. A clean environment alone does not do
that: a tool running as the worker's user can read ``/proc/<worker>/environ`` (the JWT secret,
the Fernet key, the database URL, the S3 key). In its own PID namespace there is no worker to
read; it sees no network, and of the file system only the system's programs and the paths its
caller names.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from deck2video.config import ToolLimits, tool_environment, tool_sandbox
from deck2video.errors import InputError, ProcessingError

PRLIMIT = "/usr/bin/prlimit"
SETPRIV = "/usr/bin/setpriv"
BWRAP = "/usr/bin/bwrap"  # Debian's bubblewrap
# What every sandboxed program needs of the system, read-only: programs and libraries (Debian's
# merged /usr), the dynamic linker's cache, the alternatives some libraries are reached through
# (ffmpeg's libblas.so.3) and fontconfig.
_SYSTEM = ("/usr", "/etc/ld.so.cache", "/etc/alternatives", "/etc/fonts")
_MERGED_USR = ("bin", "lib", "lib64", "sbin")
# Messages by which tools say that an allocation failed (under RLIMIT_AS a failed mmap).
_OUT_OF_MEMORY = (
    "bad_alloc",
    "cannot allocate memory",
    "out of memory",
    "memoryerror",
    "failed to map segment",  # the dynamic linker, when even the libraries do not fit
)
# A crash a memory limit can cause: an allocation nobody checked, or an abort on one that failed.
_CRASHES = (signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS)
SCRATCH_PREFIX = "deck2video-"
_OWNER = ".owner"
# A scratch folder without an owner file (made by an older version, or caught in the instant
# between its creation and its lock) is only taken for stale after this long.
_UNOWNED_GRACE_SECONDS = 3600.0

T = TypeVar("T")


@dataclass(frozen=True)
class Sandbox:
    """What a sandboxed tool may see of the file system besides the system's programs (each
    bound at its own path); see :func:`sandboxed`."""

    read_only: tuple[Path, ...] = ()
    writable: tuple[Path, ...] = ()


def run_tool(
    args: Sequence[str | Path],
    *,
    timeout: float,
    what: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    limits: ToolLimits | None = None,
    sandbox: Sandbox = Sandbox(),
) -> subprocess.CompletedProcess[bytes]:
    """Run a command; on timeout (or when it exits) kill its whole process group.

    ``what`` names the work for error messages, e.g. ``"render deck talk.pptx"``. ``env`` is
    the child's whole environment (default: :func:`tool_environment`). A breach of ``limits``
    is an :class:`InputError` (the input made the tool use that much); a timeout or another
    failure is a :class:`ProcessingError`. The tool runs in bubblewrap seeing ``sandbox``'s
    paths besides the system's programs (see the module doc), unless the deployment turned the
    sandbox off.
    """
    argv = [str(a) for a in args]
    limits = limits or ToolLimits()
    env = dict(env) if env is not None else tool_environment()
    command = sandboxed(argv, sandbox, env) if tool_sandbox() == "bwrap" else argv
    try:
        proc = subprocess.Popen(
            bounded(command, limits),
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
        proc.communicate()
        raise ProcessingError(
            f"{what}: {Path(argv[0]).name} timed out after {timeout:g} s"
        ) from None
    except BaseException:
        _kill_group(proc)
        proc.communicate()
        raise
    _kill_group(proc)  # helpers it left behind in its session
    if proc.returncode != 0:
        raise _failure(argv, proc.returncode, err, what, limits)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def bounded(argv: list[str], limits: ToolLimits) -> list[str]:
    """``argv`` under its limits, dying with its parent."""
    wrapper = [PRLIMIT]
    if limits.memory_mb:
        wrapper.append(f"--as={limits.memory_mb * 1024 * 1024}")
    if limits.cpu_seconds:
        # SIGXCPU at the soft limit, SIGKILL at the hard one for a tool that ignores it.
        wrapper.append(f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 5}")
    return [*wrapper, "--", SETPRIV, "--pdeathsig", "KILL", "--", *argv]


def sandboxed(argv: list[str], sandbox: Sandbox, env: Mapping[str, str]) -> list[str]:
    """``argv`` inside bubblewrap: new user, PID, network, IPC, UTS and cgroup namespaces (so no
    network but a loopback of its own, and no process of ours to see), no capabilities, a fresh
    /tmp, ``env`` as its whole environment, and of the file system only the system's programs
    plus the sandbox's paths. Its processes die with bwrap, which dies with us."""
    _require_sandbox()
    command = _sandbox_base()
    for path in sandbox.read_only:
        command += ["--ro-bind", str(path), str(path)]
    for path in sandbox.writable:
        command += ["--bind", str(path), str(path)]
    command.append("--clearenv")
    for name, value in env.items():
        command += ["--setenv", name, value]
    if sandbox.writable:
        command += ["--chdir", str(sandbox.writable[0])]
    return [*command, "--", *argv]


def _sandbox_base() -> list[str]:
    command = [BWRAP, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    for path in _SYSTEM:
        command += ["--ro-bind-try", path, path]
    for name in _MERGED_USR:
        command += ["--symlink", f"usr/{name}", f"/{name}"]
    return [*command, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]


@functools.cache
def _require_sandbox() -> None:
    """Fail clearly, once, where bubblewrap is missing or the kernel refuses its namespaces."""
    probe = [*_sandbox_base(), "--", "/usr/bin/true"]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=30, check=False)
    except FileNotFoundError:
        raise ProcessingError(
            f"tool sandbox: {BWRAP} is not installed (Debian package bubblewrap; or set "
            "DECK2VIDEO_TOOL_SANDBOX=none to run the tools unsandboxed)"
        ) from None
    if done.returncode != 0:
        raise ProcessingError(
            f"tool sandbox: bwrap cannot create its namespaces here ({last_line(done.stderr)}"
            "); allow unprivileged user namespaces (docs/security.md), or set "
            "DECK2VIDEO_TOOL_SANDBOX=none"
        )


def _failure(argv: list[str], code: int, err: bytes, what: str, limits: ToolLimits) -> Exception:
    tool = Path(argv[0]).name
    # A signal shows as -N for a direct child, as 128+N through a shell or a sandbox.
    died_of = -code if code < 0 else code - 128 if 128 < code < 160 else None
    if limits.cpu_seconds and died_of == signal.SIGXCPU:
        return InputError(
            f"{what}: {tool} used more than its {limits.cpu_seconds} s of CPU time "
            f"({limits.setting}_CPU_SECONDS)"
        )
    said = err.decode(errors="replace").lower()
    if limits.memory_mb and (died_of in _CRASHES or any(w in said for w in _OUT_OF_MEMORY)):
        return InputError(
            f"{what}: {tool} ran out of its {limits.memory_mb} MiB memory limit or crashed "
            f"({limits.setting}_MEMORY_MB)"
        )
    return ProcessingError(f"{what}: {tool} exited with {code}: {last_line(err)}")


def last_line(output: bytes) -> str:
    lines = [ln.strip() for ln in output.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no output)"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def call_with_timeout(call: Callable[[], T], *, timeout: float, what: str) -> T:
    """``call()``, or a ProcessingError once it has run ``timeout`` seconds.

    For work inside this process (a TTS model) that cannot be interrupted: it runs in a daemon
    thread, which is abandoned on timeout and dies with the process (the failed step ends it).
    """
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    worker = threading.Thread(target=target, name=f"deck2video: {what}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise ProcessingError(f"{what}: took longer than {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


# --- scratch folders ------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A temporary folder, ``$TMPDIR/deck2video-<what>-XXXX``, removed on exit.

    It holds a lock for as long as this process uses it, so that a later process can tell it
    from one left by a process that was killed, and remove that (see :func:`sweep_stale`).
    """
    _sweep_once(tempfile.gettempdir())
    folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{prefix}-"))
    owner = os.open(folder / _OWNER, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(owner, fcntl.LOCK_EX)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(owner)


def sweep_stale(temp_dir: str | Path) -> list[Path]:
    """Remove the scratch folders whose owner died (their lock is free); returns them."""
    swept = []
    for folder in Path(temp_dir).glob(f"{SCRATCH_PREFIX}*"):
        with contextlib.suppress(OSError):
            if folder.is_dir() and not folder.is_symlink() and _owner_is_gone(folder):
                shutil.rmtree(folder, ignore_errors=True)
                swept.append(folder)
    return swept


def _owner_is_gone(folder: Path) -> bool:
    try:
        descriptor = os.open(folder / _OWNER, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return time.time() - folder.stat().st_mtime > _UNOWNED_GRACE_SECONDS
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True


@functools.cache
def _sweep_once(temp_dir: str) -> None:
    sweep_stale(temp_dir)
