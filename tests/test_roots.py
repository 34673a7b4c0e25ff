"""roots.py: the one check every user-named URL passes, against real files and links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deck2video.config import Deployment
from deck2video.errors import InputError
from deck2video.roots import Roots, normalise


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``allowed/`` (a deck, a voice, an inner folder), ``outside/secret.txt`` beside it."""
    (tmp_path / "allowed" / "inner").mkdir(parents=True)
    (tmp_path / "allowed" / "talk.pptx").write_bytes(b"PK\x03\x04deck")
    (tmp_path / "allowed" / "voice.wav").write_bytes(b"RIFF....WAVE")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("AWS_SECRET_ACCESS_KEY=TOPSECRET\n")
    return tmp_path


def refused(check, field: str, url: str) -> str:
    with pytest.raises(InputError) as caught:
        check(field, url)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{field} ")
    assert "TOPSECRET" not in message
    return message


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("s3://decks/a/../../etc/talk.pptx", "'..' segments"),
        ("s3://decks/a/./talk.pptx", "'..' segments"),
        ("s3://decks/a//talk.pptx", "empty segments"),
        ("s3://decks//talk.pptx", "empty segments"),
        ("s3://decks/a/%2e%2e/talk.pptx", "percent-encoded"),
        ("file:///srv/%2e%2e/etc/passwd", "'..' segments"),  # decoded once: a plain '..'
        ("file:///srv/%252e%252e/etc/passwd", "percent-encoded"),  # twice: refused as such
        ("file:///srv/decks%2F..%2Fsecret", "'..' segments"),
        ("s3://decks/talk.pptx?versionId=1", "'?', '#'"),
        ("s3://Decks/talk.pptx", "not an S3 bucket name"),
        ("s3://decks/talk\x00.pptx", "control characters"),
        ("file://evil.example/etc/passwd", "local path only"),
        ("http://127.0.0.1/talk.pptx", "not an s3://bucket/key URL"),
        ("talk.pptx", "not an s3://bucket/key URL"),
        ("", "no URL given"),
        (" s3://decks/talk.pptx", "leading or trailing whitespace"),
        ("s3://decks/talk.pptx ", "leading or trailing whitespace"),
        ("\u00a0/srv/talk.pptx", "leading or trailing whitespace"),
    ],
)
def test_ambiguous_spellings_are_refused_before_any_root_is_compared(url: str, says: str):
    with pytest.raises(InputError, match=r"^deck_url") as caught:
        normalise(url, "deck_url")
    assert says in str(caught.value)


def test_local_paths_are_compared_by_their_real_path(tree: Path):
    roots = Roots.only(str(tree / "allowed"))
    assert roots.check_read("deck_url", str(tree / "allowed" / "talk.pptx")) == str(
        tree / "allowed" / "talk.pptx"
    )
    assert roots.check_read("deck_url", (tree / "allowed" / "talk.pptx").as_uri())
    message = refused(roots.check_read, "deck_url", str(tree / "outside" / "secret.txt"))
    assert f"not under a root allowed for reading ({tree / 'allowed'}/)" in message


def test_a_symlinked_input_is_refused_even_when_it_points_inside(tree: Path):
    inside = tree / "allowed" / "voice-link.wav"
    inside.symlink_to(tree / "allowed" / "voice.wav")
    roots = Roots.only(str(tree / "allowed"))
    assert "symbolic link" in refused(roots.check_read, "voice_url", str(inside))


def test_an_input_named_wav_that_links_to_proc_is_refused(tree: Path):
    sneaky = tree / "allowed" / "environ.wav"
    sneaky.symlink_to("/proc/self/environ")
    roots = Roots.only(str(tree / "allowed"))
    assert "symbolic link" in refused(roots.check_read, "voice_url", str(sneaky))
    assert "not under a root" in refused(roots.check_read, "voice_url", "/proc/self/environ")


def test_a_linked_folder_leaving_the_root_is_refused(tree: Path):
    (tree / "allowed" / "escape").symlink_to(tree / "outside", target_is_directory=True)
    roots = Roots.only(str(tree / "allowed"))
    message = refused(roots.check_read, "lexicon_url", str(tree / "allowed/escape/secret.txt"))
    assert "not under a root allowed for reading" in message


def test_only_regular_files_are_inputs(tree: Path):
    fifo = tree / "allowed" / "voice.fifo.wav"
    os.mkfifo(fifo)
    roots = Roots.only(str(tree / "allowed"))
    assert "not a regular file" in refused(roots.check_read, "voice_url", str(fifo))
    assert "not a regular file" in refused(roots.check_read, "deck_url", str(tree / "allowed"))


def test_s3_prefixes_match_whole_segments_and_buckets():
    roots = Roots.only("s3://media/decks/")
    assert roots.check_read("deck_url", "s3://media/decks/q3/talk.pptx")
    assert "not under a root" in refused(roots.check_read, "deck_url", "s3://media/decks-evil/t")
    assert "not under a root" in refused(roots.check_read, "deck_url", "s3://other/decks/talk")
    assert "not under a root" in refused(roots.check_write, "out_url", "s3://media/videos/t.mp4")


def test_outputs_must_be_under_a_write_root_and_not_a_link_or_folder(tree: Path):
    roots = Roots(read=(str(tree) + "/",), write=(str(tree / "allowed") + "/",))
    assert roots.check_write("out_url", str(tree / "allowed" / "new" / "talk.mp4"))
    message = refused(roots.check_write, "out_url", str(tree / "outside" / "talk.mp4"))
    assert f"allowed for writing ({tree / 'allowed'}/)" in message
    (tree / "allowed" / "over.mp4").symlink_to(tree / "outside" / "secret.txt")
    assert "symbolic link" in refused(roots.check_write, "out_url", str(tree / "allowed/over.mp4"))
    assert "a folder" in refused(roots.check_write, "out_url", str(tree / "allowed" / "inner"))


def test_the_job_store_own_folders_are_never_a_user_url(tree: Path):
    store = tree / "allowed" / "store"
    for roots in (
        Roots.anywhere().guarding(str(store)),
        Roots.only(str(tree)).guarding(str(store)),
    ):
        for area in ("jobs/other-job/output/video.mp4", "cache/slides/key/0001.png"):
            message = refused(roots.check_write, "out_url", str(store / area))
            assert "job store's own jobs, cache folders" in message
    strict = Roots.only(str(tree)).guarding(str(store))
    assert "job store" in refused(strict.check_read, "deck_url", str(store / "jobs/x/deck.pptx"))
    assert strict.check_write("out_url", str(store / "videos" / "talk.mp4"))


def test_anywhere_checks_the_url_only(tree: Path):
    roots = Roots.anywhere()
    assert roots.check_read("lexicon_url", str(tree / "outside" / "secret.txt"))
    assert roots.check_read("voice_url", "s3://any-bucket/voice.wav")
    with pytest.raises(InputError, match=r"'..' segments"):
        roots.check_read("voice_url", "s3://any-bucket/../voice.wav")


def test_a_service_defaults_to_the_job_root_the_inbox_and_the_outbox():
    deployment = Deployment(root="s3://media/d2v", inbox_url="s3://drop/in", outbox_url="/srv/out")
    roots = Roots.for_service(deployment)
    assert roots.read == ("s3://media/d2v/", "s3://drop/in/")
    assert roots.write == ("s3://media/d2v/", "/srv/out/")
    assert roots.reserved == ("s3://media/d2v/jobs/", "s3://media/d2v/cache/")
    configured = Roots.for_service(
        Deployment(
            root="s3://media/d2v",
            read_roots="s3://aaa/x/, file:///srv/decks",
            write_roots="s3://bbb/",
        )
    )
    assert configured.read == ("s3://aaa/x/", "/srv/decks/")
    assert configured.write == ("s3://bbb/",)


def test_a_person_may_reach_anywhere_unless_told_otherwise():
    deployment = Deployment(root="/home/anna/.deck2video")
    assert (Roots.for_person(deployment).read, Roots.for_person(deployment).write) == (None, None)
    given = Roots.for_person(deployment, "s3://mine/,/home/anna/talks")
    assert given.read == given.write == ("s3://mine/", "/home/anna/talks/")
    configured = Roots.for_person(Deployment(read_roots="s3://shared/decks/"))
    assert (configured.read, configured.write) == (("s3://shared/decks/",), None)


def test_whitespace_cannot_make_the_check_approve_another_key_than_the_write():
    # The key was cut at an offset that assumed no leading whitespace, which urlparse strips:
    # this URL was approved as s3://videos/s/private.mp4 and written to videos/private.mp4.
    roots = Roots.only("s3://videos/s/")
    assert refused(roots.check_write, "out_url", " s3://videos/private.mp4").endswith(
        "leading or trailing whitespace is not allowed"
    )
    assert roots.check_write("out_url", "s3://videos/s/a.mp4") == "s3://videos/s/a.mp4"
