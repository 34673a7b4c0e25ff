"""Download what the CUDA speech image needs from outside exactly as checkpoints.lock pins it.

    python fetch_checkpoints.py checkpoints.lock DEST [--check]

``hf`` rows go to the Hugging Face cache (where the offline loaders look) at their commit, and
each file must have the lock's SHA-256; ``hf-rest`` rows fetch a repository's small files at its
commit; ``url`` rows are saved as ``DEST/<file>`` and must have the lock's SHA-256. While any
commit or SHA-256 is missing this refuses (exit 2) before downloading anything, naming each
missing value; ``--check`` stops there. A download whose SHA-256 differs is deleted (exit 1).
Runs in the image's Python (3.11, huggingface_hub), and in the tests with the repo's.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

COMMIT = re.compile(r"^[0-9a-f]{40}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
KINDS = ("hf", "hf-rest", "url")
SMALL_FILES = ["*.json", "*.txt", "*.model"]  # tokenizers, vocabularies, configurations
DOWNLOAD_TIMEOUT = 600


class LockError(Exception):
    """The lock is malformed or incomplete, or a download is not what it pins."""


@dataclass(frozen=True)
class Pin:
    line: int
    kind: str
    source: str
    revision: str
    file: str
    sha256: str

    @property
    def name(self) -> str:
        return f"line {self.line} ({self.source} {self.file})"


def read_lock(path: Path) -> list[Pin]:
    pins = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.split()
        if len(parts) != 5 or parts[0] not in KINDS:
            raise LockError(f"{path}:{number}: expected 'kind source revision file sha256'")
        pins.append(Pin(number, *parts))
    return pins


def missing(pins: list[Pin]) -> list[str]:
    """Every value the lock lacks: a commit per repository, a SHA-256 per file."""
    problems = []
    commits: dict[str, set[str]] = {}
    for pin in pins:
        if pin.kind != "url":
            commits.setdefault(pin.source, set()).add(pin.revision)
            if not COMMIT.match(pin.revision):
                problems.append(f"{pin.name}: revision {pin.revision!r} is not a commit")
        if pin.kind != "hf-rest" and not SHA256.match(pin.sha256):
            problems.append(f"{pin.name}: sha256 {pin.sha256!r} is not a SHA-256")
    for repo, seen in commits.items():
        if len(seen) > 1:
            problems.append(f"{repo}: its rows name different commits {sorted(seen)}")
    return problems


def verify(path: Path, pin: Pin) -> None:
    with path.open("rb") as data:
        actual = hashlib.file_digest(data, "sha256").hexdigest()
    if actual != pin.sha256:
        path.unlink()
        raise LockError(f"{pin.name}: SHA-256 {actual}, but the lock pins {pin.sha256}")


def fetch(pin: Pin, dest: Path) -> None:
    if pin.kind == "url":
        target = dest / pin.file
        with (
            urllib.request.urlopen(pin.source, timeout=DOWNLOAD_TIMEOUT) as response,
            target.open("wb") as out,
        ):
            shutil.copyfileobj(response, out)
        verify(target, pin)
        return
    from huggingface_hub import hf_hub_download, snapshot_download

    if pin.kind == "hf":
        verify(Path(hf_hub_download(pin.source, pin.file, revision=pin.revision)).resolve(), pin)
    else:
        snapshot_download(pin.source, revision=pin.revision, allow_patterns=SMALL_FILES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lock", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--check", action="store_true", help="only check that the lock is whole")
    args = parser.parse_args(argv)
    try:
        pins = read_lock(args.lock)
        problems = missing(pins)
        if problems:
            heading = (f"{args.lock}: {len(problems)} values missing; the build refuses to run "
                       "without them (the file's header says how to find them):")  # fmt: skip
            print(heading, *(f"  {p}" for p in problems), sep="\n", file=sys.stderr)
            return 2
        if args.check:
            return 0
        args.dest.mkdir(parents=True, exist_ok=True)
        for pin in pins:
            fetch(pin, args.dest)
            print(f"verified {pin.source} {pin.file}")
    except LockError as error:
        print(f"{args.lock}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
