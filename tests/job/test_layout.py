"""Every URL of a job and of the caches comes from layout.py, and matches what the docs show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deck2video.errors import InputError
from deck2video.job.layout import JobFolder, Store

REPO = Path(__file__).resolve().parents[2]
ROOT = "s3://media/d2v"
JOB_ID = "talk-0123456789abcdef"


def every_url(store: Store, job: JobFolder) -> set[str]:
    """What layout.py makes for a two-slide job, relative to the root."""
    urls = {job.manifest, job.deck, job.voice_input(".m4a"), job.lexicon, job.reference}
    urls |= {job.video, job.captions_vtt, job.captions_srt, job.embedding("embedding-x.npy")}
    urls.add(job.quality)
    for n in (1, 2):
        urls |= {job.slide(n), job.notes(n), job.audio(n), job.speech_result(n)}
    entries = (store.cache.slides("k" * 64, 2), store.cache.audio("a" * 64))
    for entry in (*entries, store.cache.quality("a" * 64)):
        urls |= set(entry.files.values())
    urls |= set(store.cache.voice("embedding-x.npy").files.values())
    for kind in ("video", "audio"):
        urls |= set(store.cache.segment(kind, "a" * 64).files.values())
    return {url.removeprefix(store.url + "/") for url in urls}


def test_job_urls_sit_under_jobs_and_slides_sort_in_presentation_order():
    store = Store(ROOT + "/")
    job = store.job(JOB_ID)
    assert job.url == f"{ROOT}/jobs/{JOB_ID}"
    assert job.job_id == JOB_ID
    assert job.store == store
    assert job.store.cache.url == f"{ROOT}/cache"
    assert job.slide(7) == f"{job.url}/slides/0007.png"
    assert job.speech_result(12) == f"{job.url}/audio/0012.json"
    assert sorted([job.slide(10), job.slide(9)]) == [job.slide(9), job.slide(10)]
    assert JobFolder.at(job.url + "/") == job
    assert JobFolder.at(job) is job


@pytest.mark.parametrize(
    "url", ["s3://media/d2v", "/srv/jobs", "/srv/d2v/job-1", "http://x/jobs/1"]
)
def test_a_url_that_is_not_a_job_folder_is_refused(url):
    with pytest.raises(InputError):
        JobFolder.at(url)


def test_cache_entries_end_with_their_marker():
    caches = Store(ROOT).cache
    slides = caches.slides("k" * 64, 3)
    assert list(slides.files) == ["0001.png", "0002.png", "0003.png", "fonts.json", "complete"]
    assert slides.marker.endswith(f"/cache/slides/{'k' * 64}/complete")
    assert caches.audio("a" * 64).marker == f"{ROOT}/cache/audio/{'a' * 64}.json"
    assert caches.voice("e.npy").marker == f"{ROOT}/cache/voice/e.npy"
    assert caches.quality("q").marker == f"{ROOT}/cache/quality/q.json"


def _documented_paths(text: str) -> set[str]:
    """The paths in the README's job-folder block, relative to the root: each line is a folder
    (``<root>/...``, or the one above for an indented line) and the paths in it, then words."""
    block = text.split("## Job folder", 1)[1].split("```", 2)[1]
    paths, folder = set(), ""
    for line in block.strip("\n").splitlines():
        words = line.split()
        if not line.startswith(" "):
            folder, words = words[0].removeprefix("<root>/"), words[1:]
        for word in words:
            if not _PATH.fullmatch(word):
                break  # the rest of the line describes the paths
            paths.update(folder + name for name in _expand_braces(word))
    return paths


_PATH = re.compile(r"[\w<>{},.-]*[./][\w<>{},./-]*")


def _expand_braces(word: str) -> list[str]:
    found = re.fullmatch(r"(.*)\{(.*)\}(.*)", word)
    if not found:
        return [word]
    head, options, tail = found.groups()
    return [head + option + tail for option in options.split(",")]


def test_every_path_the_readme_shows_is_one_layout_makes():
    documented = _documented_paths((REPO / "README.md").read_text())
    assert len(documented) >= 15, documented
    store = Store(ROOT)
    made = {
        re.sub(r"(k|a){64}", "<sha256>", url)
        .replace(JOB_ID, "<job_id>")
        .replace("voice.m4a", "voice.<ext>")
        .replace("embedding-x", "<embedding>")
        for url in every_url(store, store.job(JOB_ID))
    }
    assert documented <= made, sorted(documented - made)


@pytest.mark.parametrize(
    "job_id", ["../cache", "a/b", "", "Talk", "x" * 90, "talk-0123\n", "{{x}}"]
)
def test_only_a_job_id_names_a_job_folder(job_id):
    with pytest.raises(InputError, match=r"^job id .*: not a job id$"):
        Store("s3://videos/d2v").job(job_id)
