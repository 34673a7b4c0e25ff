"""images/speech/fetch_checkpoints.py, which the CUDA speech image's build runs: the build refuses
to start while the lock misses a commit or a checksum, and a download that is not what the lock
pins fails the build and is not kept. (Hugging Face is out of reach here: the url rows are
proven with file:// URLs, which take the same download-and-verify path.)"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SPEECH = REPO / "images" / "speech"
FETCH = SPEECH / "fetch_checkpoints.py"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fetch(lock: Path, dest: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, FETCH, lock, dest, *options], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


def test_the_shipped_lock_makes_the_build_refuse_naming_what_is_missing(tmp_path: Path):
    done = fetch(SPEECH / "checkpoints.lock", tmp_path / "downloads", "--check")
    assert done.returncode == 2
    assert "values missing; the build refuses to run without them" in done.stderr
    assert "(myshell-ai/MeloTTS-English checkpoint.pth): sha256 '-' is not a SHA-256" in done.stderr
    assert not (tmp_path / "downloads").exists()


def test_the_dockerfile_checks_the_lock_before_anything_slow():
    dockerfile = (SPEECH / "cuda.Dockerfile").read_text()
    check = dockerfile.index("fetch_checkpoints.py --check")
    assert check < dockerfile.index('"torch==${TORCH_VERSION}"')
    assert "HF_REVISION" not in dockerfile
    assert "curl -fsSL" not in dockerfile


def test_a_download_must_have_the_pinned_checksum(tmp_path: Path):
    archive = tmp_path / "weights.zip"
    archive.write_bytes(b"the real weights")
    good = hashlib.sha256(archive.read_bytes()).hexdigest()
    lock = tmp_path / "checkpoints.lock"
    row = f"url {archive.as_uri()} * weights.zip"

    lock.write_text(f"# kind source revision file sha256\n{row} {good}\n")
    done = fetch(lock, tmp_path / "ok")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ok" / "weights.zip").read_bytes() == b"the real weights"

    lock.write_text(f"{row} {'0' * 64}\n")
    done = fetch(lock, tmp_path / "tampered")
    assert done.returncode == 1
    assert f"SHA-256 {good}, but the lock pins {'0' * 64}" in done.stderr
    assert list((tmp_path / "tampered").iterdir()) == []  # nothing unverified is kept


def test_one_repository_has_one_commit(tmp_path: Path):
    lock = tmp_path / "checkpoints.lock"
    lock.write_text(
        f"hf org/model {COMMIT} checkpoint.pth {'a' * 64}\n"
        f"hf-rest org/model {'f' * 40} * *\n"
    )  # fmt: skip
    done = fetch(lock, tmp_path / "downloads", "--check")
    assert done.returncode == 2
    assert "org/model: its rows name different commits" in done.stderr
