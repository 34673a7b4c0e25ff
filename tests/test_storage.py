"""Storage by URL: local paths, file:// and s3:// on the loopback S3 server, the same behaviour."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deck2video import storage
from deck2video.errors import InputError


@pytest.fixture
def base(storage_root: str) -> str:
    """A fresh, empty prefix on each backend."""
    return f"{storage_root}/store"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "empty"),
        ("s3:///key", "no bucket"),
        ("http://example.com/deck.pptx", "scheme 'http' is not file:// or s3://"),
        ("s3://bucket/a/../b", "'..'"),
        ("/srv/decks/../../etc/passwd", "'..'"),
        ("file:///srv/%2e%2e/etc/passwd", "'..'"),
        ("/srv/decks/a\x00b", "NUL"),
    ],
)
def test_parse_refuses_what_it_cannot_store_safely(url, says):
    with pytest.raises(InputError, match=r"^storage URL ") as refused:
        storage.parse(url)
    assert says in str(refused.value)


def test_parse_reads_buckets_keys_and_local_paths(tmp_path: Path):
    parsed = storage.parse("s3://media/decks/talk.pptx")
    assert parsed == storage.Location("media", "decks/talk.pptx")
    assert storage.parse(f"file://{tmp_path}/a b.pptx").key == f"{tmp_path}/a b.pptx"
    assert storage.parse("relative.pptx").key == str(Path("relative.pptx").absolute())


def test_join_refuses_absolute_and_dotdot_parts():
    assert storage.join("s3://b/root/", "jobs", "x/") == "s3://b/root/jobs/x"
    for part in ("/etc", "../up"):
        with pytest.raises(InputError):
            storage.join("s3://b/root", part)


def test_round_trip_exists_size_list_copy_delete(base: str, tmp_path: Path):
    first = storage.join(base, "a", "one.bin")
    assert not storage.exists(first)
    storage.write_bytes(first, b"0123456789")
    assert storage.exists(first)
    assert storage.size(first) == 10
    assert storage.read_bytes(first) == b"0123456789"
    second = storage.copy(first, storage.join(base, "b", "two.bin"))
    assert storage.download(second, tmp_path / "got.bin").read_bytes() == b"0123456789"
    listed = sorted("/".join(o.url.rsplit("/", 2)[-2:]) for o in storage.list_objects(base))
    assert listed == ["a/one.bin", "b/two.bin"]
    assert all(o.size == 10 and o.modified.tzinfo is not None for o in storage.list_objects(base))
    storage.delete(first)
    assert not storage.exists(first)
    assert storage.list_objects(storage.join(base, "nothing-here")) == []


def test_missing_objects_are_input_errors_naming_the_url(base: str, tmp_path: Path):
    missing = storage.join(base, "missing.pptx")
    for call in (
        lambda: storage.size(missing),
        lambda: storage.read_bytes(missing),
        lambda: storage.download(missing, tmp_path / "x"),
    ):
        with pytest.raises(InputError, match=r"missing\.pptx: no such (file|object)"):
            call()
    assert not (tmp_path / "x").exists()


def test_local_writes_are_atomic_and_readable_by_others(tmp_path: Path):
    target = tmp_path / "published" / "talk.mp4"
    storage.write_bytes(str(target), b"video")
    assert target.read_bytes() == b"video"
    assert os.stat(target).st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["talk.mp4"]  # no .part left


def test_a_missing_bucket_is_an_input_error(s3_server):
    with pytest.raises(InputError, match="no such bucket"):
        storage.read_bytes("s3://no-such-bucket-d2v/key")


DATA = bytes(range(256)) * 40


def test_read_range_returns_that_slice_and_less_at_the_end(base: str):
    """What the plugin streams a video with: a slice, without reading the whole object."""
    stored = storage.write_bytes(storage.join(base, "object.bin"), DATA)
    assert storage.read_range(stored, 0, 10) == DATA[:10]
    assert storage.read_range(stored, 1000, 2345) == DATA[1000:3345]
    assert storage.read_range(stored, len(DATA) - 3, 100) == DATA[-3:]
    with pytest.raises(InputError, match="no such"):
        storage.read_range(stored + ".missing", 0, 10)


@pytest.mark.parametrize(("start", "length"), [(-1, 10), (0, 0)])
def test_read_range_refuses_a_range_that_is_none(start, length):
    with pytest.raises(ValueError, match="read_range"):
        storage.read_range("/srv/object.bin", start, length)
