"""The one get-or-put: an entry is whole once its marker is written, on local storage and S3;
assembly's pieces come back only whole and unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from deck2video import storage
from deck2video.job.cache import Entry, SegmentStore, get_or_put
from deck2video.job.layout import Caches


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


# ---------------------------------------------------------------- assembly's pieces

KEY = "ab" * 32


def pieces(root: str) -> SegmentStore:
    return SegmentStore(Caches(f"{root}/cache").segment)


def kept(root: str, tmp_path: Path, data: bytes = b"\xff\xf1 an AAC segment") -> SegmentStore:
    made = tmp_path / "made.aac"
    made.write_bytes(data)
    store = pieces(root)
    store.keep("audio", KEY, made)
    return store


def test_a_kept_piece_comes_back_whole(root: str, tmp_path: Path):
    store = kept(root, tmp_path)
    assert store.fetch("audio", KEY, tmp_path / "got.aac")
    assert (tmp_path / "got.aac").read_bytes() == b"\xff\xf1 an AAC segment"
    assert not store.fetch("video", KEY, tmp_path / "other.mp4")  # kinds are apart
    assert not store.fetch("audio", "cd" * 32, tmp_path / "none.aac")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[:-3], id="cut-short"),
        pytest.param(lambda data: data[:5] + b"X" + data[6:], id="changed"),
        pytest.param(lambda data: data + b"\0", id="grown"),
    ],
)
def test_a_damaged_piece_is_not_used(root: str, tmp_path: Path, damage, caplog):
    store = kept(root, tmp_path)
    url = Caches(f"{root}/cache").segment("audio", KEY).files["piece"]
    storage.write_bytes(url, damage(storage.read_bytes(url)))
    assert not store.fetch("audio", KEY, tmp_path / "got.aac")
    assert not (tmp_path / "got.aac").exists()
    assert "encoding it again" in caplog.text


def test_a_piece_without_its_marker_or_with_a_bad_one_is_absent(root: str, tmp_path: Path):
    store = kept(root, tmp_path)
    marker = Caches(f"{root}/cache").segment("audio", KEY).files["marker"]
    for junk in (b"not json", b"[1, 2]", b"x" * 5000):
        storage.write_bytes(marker, junk)
        assert not store.fetch("audio", KEY, tmp_path / "got.aac")
    storage.delete(marker)
    assert not store.fetch("audio", KEY, tmp_path / "got.aac")


def test_a_piece_over_the_size_limit_is_not_read(root: str, tmp_path: Path, monkeypatch):
    store = kept(root, tmp_path)
    monkeypatch.setattr("deck2video.job.cache.MAX_PIECE_BYTES", 8)
    assert not store.fetch("audio", KEY, tmp_path / "got.aac")
    assert not (tmp_path / "got.aac").exists()


def test_segment_names_are_only_hex_keys_of_known_kinds(tmp_path: Path):
    caches = Caches(str(tmp_path / "cache"))
    for kind, key in (("audio", "../" + KEY[3:]), ("audio", KEY + "\n"), ("text", KEY)):
        with pytest.raises(ValueError, match="not a segment"):
            caches.segment(kind, key)
