"""The one get-or-put: an entry is whole once its marker is written, on local storage and S3."""

from __future__ import annotations

from pathlib import Path

import pytest

from deck2video import storage
from deck2video.job.cache import Entry, get_or_put


@pytest.fixture
def root(storage_root: str) -> str:
    return f"{storage_root}/root"


def entry(root: str) -> Entry:
    return Entry({"wav": f"{root}/cache/audio/k.wav", "info": f"{root}/cache/audio/k.json"})


def test_a_miss_makes_stores_and_copies_then_a_hit_only_copies(root: str, tmp_path: Path):
    made: list[int] = []

    def make():
        made.append(1)
        local = tmp_path / "made.wav"
        local.write_bytes(b"RIFF-audio")
        return {"wav": local, "info": b'{"duration": 1.0}'}

    first = get_or_put(entry(root), make, copy_to={"wav": f"{root}/jobs/a/audio/0001.wav"})
    assert (first.hit, first.marker) == (False, b'{"duration": 1.0}')
    assert storage.read_bytes(f"{root}/cache/audio/k.wav") == b"RIFF-audio"
    second = get_or_put(entry(root), make, copy_to={"wav": f"{root}/jobs/b/audio/0001.wav"})
    assert (second.hit, second.marker) == (True, b'{"duration": 1.0}')
    assert made == [1]
    for job in ("a", "b"):
        assert storage.read_bytes(f"{root}/jobs/{job}/audio/0001.wav") == b"RIFF-audio"


def test_an_entry_without_its_marker_is_absent(root: str):
    """A writer killed between the files and the marker leaves nothing a reader would use."""
    storage.write_bytes(f"{root}/cache/audio/k.wav", b"half of an entry")
    made = get_or_put(entry(root), lambda: {"wav": b"whole", "info": b"{}"})
    assert not made.hit
    assert storage.read_bytes(f"{root}/cache/audio/k.wav") == b"whole"


def test_the_marker_is_written_last(root: str, monkeypatch):
    order: list[str] = []
    real = storage.write_bytes
    monkeypatch.setattr(
        storage, "write_bytes", lambda url, data: order.append(url) or real(url, data)
    )
    get_or_put(entry(root), lambda: {"wav": b"a", "info": b"{}"})
    assert order == [f"{root}/cache/audio/k.wav", f"{root}/cache/audio/k.json"]


def test_making_the_wrong_files_is_a_bug_not_a_cache_entry(root: str):
    with pytest.raises(ValueError, match="made"):
        get_or_put(entry(root), lambda: {"wav": b"a"})
    assert not storage.exists(f"{root}/cache/audio/k.json")


def test_a_single_file_entry_is_its_own_marker(root: str):
    one = Entry({"embedding": f"{root}/cache/voice/e.npy"})
    assert get_or_put(one, lambda: {"embedding": b"npy"}).marker == b"npy"
    assert get_or_put(one, lambda: pytest.fail("not made twice")).hit
