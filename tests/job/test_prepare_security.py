"""The prepare step against the attacks of issue 9, each with inputs built here: URLs outside the
roots, files that are not what they claim, links out of the deck, and bombs. Every refusal is
one line naming the input (and slide) and the limit, holds no byte of any file, leaves only the
job's manifest (or nothing, for a refused URL) in storage and nothing in the temp folder. The
bombs run in a child process whose time and peak memory are bounded."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from deck2video import job
from deck2video.airflow_names import EXIT_BAD_INPUT
from deck2video.config import JobSettings, Limits
from deck2video.errors import InputError
from deck2video.job import load_manifest
from deck2video.roots import Roots
from deck2video.samples import SampleSlide, build_deck
from tests.support import bad_files, media
from tests.support.measure import run_measured
from tests.support.processes import leftovers

SECRET = "TOPSECRET-d2v-issue9"
SLIDES = [SampleSlide("One", "Hello there, this is the first slide."), SampleSlide("Two", "")]


class Service:
    """Storage as a shared service lays it out: inputs may come from ``allowed/`` only, videos
    go to ``videos/`` only; ``outside/`` holds what no run may touch."""

    def __init__(self, base: Path, voice: Path) -> None:
        self.base, self.store = base, base / "store"
        self.allowed, self.videos, self.outside = (
            base / "allowed",
            base / "videos",
            base / "outside",
        )
        for folder in (self.allowed, self.videos, self.outside):
            folder.mkdir()
        (self.outside / "secret.env").write_text(f"AWS_SECRET_ACCESS_KEY={SECRET}\n")
        self.deck = build_deck(self.allowed / "talk.pptx", SLIDES)
        self.voice = self.allowed / "voice.wav"
        self.voice.write_bytes(voice.read_bytes())
        self.roots = Roots(read=(f"{self.allowed}/",), write=(f"{self.videos}/",))

    def prepare(self, **changes) -> job.JobPlan:
        inputs = {"deck_url": str(self.deck), "voice_url": str(self.voice)}
        options = {
            "out_url": str(self.videos / "talk.mp4"),
            "root_url": str(self.store),
            "roots": self.roots,
            "settings": JobSettings(width=640, height=360),
        }
        merged = {**inputs, **options, **changes}
        return job.prepare(merged.pop("deck_url"), merged.pop("voice_url"), **merged)

    def stored(self) -> list[str]:
        return sorted(str(p.relative_to(self.store)) for p in self.store.rglob("*") if p.is_file())


@pytest.fixture
def service(tmp_path: Path, reference_voice: Path) -> Service:
    return Service(tmp_path, reference_voice)


def refusal(service: Service, scratch: Path, **changes) -> str:
    """The one-line refusal of a prepare; nothing of any file in it, nothing in temp."""
    with pytest.raises(InputError) as caught:
        service.prepare(**changes)
    message = str(caught.value)
    assert "\n" not in message
    assert SECRET not in message
    assert leftovers(scratch) == []
    return message


def only_the_manifest(service: Service, message: str) -> None:
    """A refused input: its job folder holds the manifest, which says why, and nothing else."""
    [manifest_file] = service.stored()
    assert manifest_file.endswith("manifest.json")
    manifest = load_manifest(str(service.store / Path(manifest_file).parent))
    assert (manifest.status, manifest.stage, manifest.reason) == ("failed", "prepare", message)
    assert SECRET not in (service.store / manifest_file).read_text()


# --- URLs outside the roots: refused before anything is read or stored ------------------------


def test_a_voice_from_proc_is_refused_before_anything_is_copied(service, scratch_dir):
    message = refusal(service, scratch_dir, voice_url="/proc/self/environ")
    assert message == (
        f"voice_url /proc/self/environ: not under a root allowed for reading ({service.allowed}/)"
    )
    assert service.stored() == []


def test_a_symlink_named_wav_is_refused(service, scratch_dir):
    (service.allowed / "environ.wav").symlink_to("/proc/self/environ")
    message = refusal(service, scratch_dir, voice_url=str(service.allowed / "environ.wav"))
    assert "voice_url" in message
    assert "symbolic link" in message
    assert service.stored() == []


def test_a_lexicon_outside_the_roots_is_refused_without_a_byte_of_it(service, scratch_dir):
    secret = service.outside / "secret.env"
    message = refusal(service, scratch_dir, lexicon_url=secret.as_uri())
    assert message.startswith(f"lexicon_url {secret.as_uri()}: not under a root allowed for")
    assert service.stored() == []


def test_an_output_outside_the_write_roots_creates_no_folder(service, scratch_dir):
    out = service.outside / "deep" / "er" / "talk.mp4"
    message = refusal(service, scratch_dir, out_url=str(out))
    assert message == (f"out_url {out}: not under a root allowed for writing ({service.videos}/)")
    assert not (service.outside / "deep").exists()
    assert service.stored() == []


def test_an_output_over_another_jobs_files_is_refused(service, scratch_dir):
    theirs = service.store / "jobs" / "their-job-0123" / "output" / "video.mp4"
    roots = Roots.only(str(service.base))  # even where the store is inside the roots
    message = refusal(service, scratch_dir, out_url=str(theirs), roots=roots)
    assert "inside the job store's own jobs, cache folders" in message
    assert service.stored() == []


# --- files that are not what they claim: judged by their first bytes, never copied -------------


def test_a_proc_file_is_judged_by_its_bytes_where_no_roots_apply(service, scratch_dir, monkeypatch):
    """The CLI reaches a person's own files; a link named .wav to /proc still is no voice."""
    (service.allowed / "environ.wav").symlink_to("/proc/self/environ")
    monkeypatch.setenv("D2V_TEST_SECRET", SECRET)  # in /proc/self/environ now
    message = refusal(service, scratch_dir, voice_url=str(service.allowed / "environ.wav"),
                      roots=Roots.anywhere())  # fmt: skip
    assert message.startswith(f"voice recording {service.allowed}/environ.wav: not an audio file")
    only_the_manifest(service, message)


def test_a_key_value_file_with_a_nul_is_no_lexicon(service, scratch_dir):
    environ = service.allowed / "environ.txt"
    environ.write_bytes(f"HOME=/root\0AWS_SECRET_ACCESS_KEY={SECRET}\0".encode())
    message = refusal(service, scratch_dir, lexicon_url=str(environ))
    assert message == f"lexicon {environ}: not a text file (it holds control characters)"
    only_the_manifest(service, message)


def test_a_nul_deep_in_a_lexicon_is_refused_by_prepare_not_by_speak(service, scratch_dir):
    lexicon = service.allowed / "words.txt"
    # Past the first bytes, which pass: the whole file is read and refused before any speech.
    lexicon.write_text("".join(f"word{n} = spoken\n" for n in range(10)) + "nginx = engine\x00x\n")
    message = refusal(service, scratch_dir, lexicon_url=str(lexicon))
    assert message == f"lexicon {lexicon} line 11: control characters (not a text lexicon)"
    only_the_manifest(service, message)


# --- links out of the deck: refused, or stripped; the renderer fetches nothing either way -----


def test_a_deck_linking_outside_is_refused_before_rendering_where_the_deployment_says(
    service, scratch_dir, loopback_listener, monkeypatch
):
    monkeypatch.setenv("DECK2VIDEO_EXTERNAL_LINKS", "refuse")
    linked = bad_files.external_picture_deck(
        service.allowed / "linked.pptx", f"{loopback_listener.url}/tracker.png"
    )
    message = refusal(service, scratch_dir, deck_url=str(linked))
    assert message == (
        "deck linked.pptx: slide 1 links to an outside image (1 such link(s)); links out of a "
        "deck are refused (DECK2VIDEO_EXTERNAL_LINKS=strip removes them instead)"
    )
    only_the_manifest(service, message)
    assert loopback_listener.connections == []


def test_links_are_stripped_by_default_with_a_warning_and_no_request(
    service, scratch_dir, loopback_listener
):
    linked = bad_files.external_picture_deck(
        service.allowed / "linked.pptx", f"{loopback_listener.url}/tracker.png"
    )
    plan = service.prepare(deck_url=str(linked))
    manifest = load_manifest(plan.job_url)
    assert manifest.warnings == ["slide 1: a link to an outside image was removed"]
    assert (Path(plan.job_url) / "slides" / "0001.png").is_file()
    assert loopback_listener.connections == []
    assert leftovers(scratch_dir) == []


# --- what is spoken: bounded before any synthesis ----------------------------------------------


def spoken_deck(service: Service, notes: str) -> str:
    return str(
        build_deck(
            service.allowed / "spoken.pptx", [SampleSlide("Fine"), SampleSlide("Talk", notes)]
        )
    )


def test_a_hundred_minute_pauses_are_refused(service, scratch_dir):
    message = refusal(service, scratch_dir, deck_url=spoken_deck(service, "[PAUSE 60] " * 100))
    assert message == (
        "deck spoken.pptx: slide 2: [PAUSE] markers add up to 6000 s, more than the limit of "
        "120 s per slide (DECK2VIDEO_MAX_PAUSE_SECONDS)"
    )
    only_the_manifest(service, message)


def test_a_lexicon_entry_of_a_megabyte_is_refused(service, scratch_dir):
    lexicon = service.allowed / "big.txt"
    lexicon.write_text("hello = " + "very " * 200_000 + "\n")
    message = refusal(service, scratch_dir, lexicon_url=str(lexicon))
    assert message == (
        f"lexicon {lexicon} line 1: 999999 characters, more than the limit of 200 "
        "(DECK2VIDEO_MAX_LEXICON_ENTRY_CHARS)"
    )
    only_the_manifest(service, message)


def test_a_lexicon_that_blows_a_sentence_up_is_refused(service, scratch_dir):
    lexicon = service.allowed / "blow-up.txt"
    lexicon.write_text("a = " + "b" * 190 + "\n")
    notes = " ".join(["a"] * 60) + "."  # 120 characters written, 60 x 190 + 60 spoken
    message = refusal(
        service, scratch_dir, deck_url=spoken_deck(service, notes), lexicon_url=str(lexicon)
    )
    assert message.startswith("deck spoken.pptx: slide 2: a sentence becomes 11460 characters")
    assert message.endswith("more than the limit of 4000 (DECK2VIDEO_MAX_EXPANDED_CHARS)")
    only_the_manifest(service, message)


def test_a_deck_too_long_to_narrate_is_refused_on_its_estimate(service, scratch_dir):
    notes = "This sentence is said over and over again. " * 200  # ~6 minutes
    limits = Limits(max_slide_narration_seconds=120)
    message = refusal(service, scratch_dir, deck_url=spoken_deck(service, notes), limits=limits)
    assert re.fullmatch(
        r"deck spoken.pptx: slide 2: narration estimated at \d+ s, more than the limit of 120 s "
        r"per slide \(DECK2VIDEO_MAX_SLIDE_NARRATION_SECONDS\)",
        message,
    ), message
    whole = refusal(service, scratch_dir, deck_url=spoken_deck(service, notes),
                    limits=Limits(max_job_narration_seconds=60))  # fmt: skip
    assert "narration estimated at" in whole
    assert "per job" in whole


# --- bombs: refused in a child process, within bounded time and memory ------------------------


def noise_text(chars: int) -> str:
    """Text that does not compress much (random letters and spaces), as a real bomb would be."""
    letters = np.random.default_rng(9).integers(0, 27, chars, dtype=np.uint8)
    return bytes(np.where(letters == 26, 32, letters + 97).astype(np.uint8)).decode()


@pytest.mark.parametrize(
    ("build", "says"),
    [
        pytest.param(
            lambda folder: bad_files.picture_deck(
                folder / "pixels.pptx", [bad_files.huge_png(16000, 16000)] * 6
            ),
            "slide 1: picture ppt/media/image1.png is over 179 megapixels",
            id="six-16000x16000-pictures",
        ),
        pytest.param(
            lambda folder: build_deck(
                folder / "title.pptx", [SampleSlide(noise_text(5_000_000), "Hi.")]
            ),
            "slide 1: its title has",
            id="five-megabyte-title",
        ),
        pytest.param(
            lambda folder: bad_files.entry_bomb(folder / "zeros.pptx", zero_mib=900, noise_mib=12),
            "part 'ppt/media/zeros.bin' unpacks to 943718400 bytes",
            id="900-MiB-zeros-beside-noise",
        ),
    ],
)
def test_a_bomb_is_refused_within_bounded_time_and_memory(
    build, says, service, tmp_path, scratch_dir
):
    deck = build(service.allowed)
    measured = run_measured(
        [sys.executable, "-m", "deck2video.cli", "prepare", "--deck", str(deck),
         "--voice", str(service.voice), "--out", str(service.videos / "bomb.mp4"),
         "--root", str(service.store), "--roots", f"{service.allowed},{service.videos}"],
        env={**os.environ, "TMPDIR": str(scratch_dir)},
    )  # fmt: skip
    print(f"\n{deck.name}: refused in {measured.line()}")
    assert measured.returncode == EXIT_BAD_INPUT, measured.stderr
    [line] = measured.stderr.strip().splitlines()
    assert line.startswith(f"deck2video: error: deck {deck.name}: "), line
    assert says in line, line
    assert measured.seconds < 60  # was 94 s (pictures) and 220 s (title) in soffice
    assert measured.peak_rss_mb < 400
    assert measured.peak_tree_mb < 500
    only_the_manifest(service, line.removeprefix("deck2video: error: "))
    assert leftovers(scratch_dir) == []


# --- decks our parser used to refuse ------------------------------------------------------------


def test_a_hostile_but_renderable_deck_becomes_a_clean_video(service, scratch_dir):
    """XML that python-pptx refuses (LibreOffice renders it), markup players would apply, and a
    bidi override meant to make a title read as something else."""
    slides = [
        SampleSlide("Pay \u202eLIVE\u202c", "<b>Hello</b> {\\an8}there, this is the first slide."),
        SampleSlide("Two", ""),
    ]
    deck = bad_files.malformed_xml_deck(service.allowed / "3d.pptx", slides, broken=1)
    out = service.videos / "3d.mp4"
    summary = job.run(
        str(deck), str(service.voice), out_url=str(out), root_url=str(service.store),
        roots=service.roots, settings=JobSettings(width=640, height=360),
    )  # fmt: skip
    manifest = load_manifest(summary.job_url)
    assert manifest.status == "completed"
    # The click-build reader reads the slide part strictly: it shows the slide as one still.
    assert manifest.warnings == [
        "slide 1: malformed XML, read leniently (the fault was dropped)",
        "slide 1: its animations were not understood (unreadable slide part: XMLSyntaxError);"
        " shown as one still",
    ]
    assert [s.title for s in manifest.slides] == ["Pay LIVE", "Two"]
    assert [c[2] for c in media.chapters(media.ffprobe(out))] == ["Pay LIVE", "Two"]
    for captions in (out.with_suffix(".vtt"), out.with_suffix(".srt")):
        text = captions.read_text()
        assert "Hello there, this is the first slide." in " ".join(text.split())
        assert not any(mark in text for mark in ("<b>", "&lt;b", "{\\an8}", "\u202e"))
    assert json.loads((Path(summary.job_url) / "manifest.json").read_text())["warnings"]
    assert leftovers(scratch_dir) == []
