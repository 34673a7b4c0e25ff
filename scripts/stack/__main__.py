"""``make stack``: the stack in the foreground until Ctrl-C (``python -m scripts.stack``)."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from scripts.stack import BUCKET, REPO, Ports, Stack, StackError


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM/SIGHUP end the foreground run the way Ctrl-C does."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    saved = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.stack",
        description="The production-like deck2video stack on one machine, until Ctrl-C.",
    )
    parser.add_argument(
        "--home",
        type=Path,
        default=REPO / ".stack",
        help="the stack's folder (default .stack; removed at the end)",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW_PORT", 8080)))
    parser.add_argument("--s3-port", type=int, default=int(os.environ.get("S3_PORT", 9000)))
    args = parser.parse_args(argv)
    say = lambda line: print(f"stack | {line}", flush=True)  # noqa: E731
    variables = {k: os.environ[k] for k in ("GPU_SLOTS", "CPU_WORKER_CONCURRENCY",
                                           "GPU_WORKER_CONCURRENCY", "DECK2VIDEO_SPEECH_RUNNER")
                 if os.environ.get(k)}  # fmt: skip
    variables.setdefault("CPU_WORKER_CONCURRENCY", "2")  # compose's 4 is for a bigger host
    stack = Stack(args.home, Ports.choose(args.port, args.s3_port), variables, say=say)
    with signals_raise():
        try:
            stack.start()
            s3 = stack.storage_env()
            print(f"""
  The deck2video stack is ready (CeleryExecutor, Postgres, Redis, SeaweedFS S3, dockerd):
    UI and REST API  {stack.api_url}   (login: admin / {stack.admin_password})
    S3               {stack.s3_url}   bucket {BUCKET}, key {s3["AWS_ACCESS_KEY_ID"]} / \
{s3["AWS_SECRET_ACCESS_KEY"]}
    workers          worker-cpu (queue deck2video), worker-gpu (queue gpu, speech image \
{stack.speech_image})
  Logs: {stack.logs}/<service>.log and {stack.home}/airflow/logs.  Ctrl-C stops everything.
""", flush=True)  # fmt: skip
            while all(p.alive for p in stack.processes.values()):
                time.sleep(2)
            dead = [p for p in stack.processes.values() if not p.alive]
            say(f"{dead[0].name} exited; log {dead[0].log}: {dead[0].tail(3)}")
            return 1
        except StackError as error:
            say(f"error: {error}")
            return 1
        except KeyboardInterrupt:
            say("stopping")
            return 130
        finally:
            stack.stop()
            shutil.rmtree(stack.home, ignore_errors=True)
            say("stopped")


if __name__ == "__main__":
    sys.exit(main())
