"""render.py with real LibreOffice and poppler: count, order, boxing, hidden slides, failures."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from bench import inputs
from deck2video import render as render_module
from deck2video import samples
from deck2video.errors import InputError, ProcessingError
from deck2video.render import fit_inside, ipc_pipe_name, remove_ipc_pipe, render_slides
from deck2video.samples import SampleSlide
from tests.support.processes import living_processes_mentioning

WIDTH, HEIGHT = 640, 360
BLACK = (0, 0, 0)


@pytest.fixture(scope="module")
def deck_with_hidden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four 16:9 slides, the second hidden; each slide has its own background colour."""
    return samples.build_deck(
        tmp_path_factory.mktemp("decks") / "talk.pptx",
        [
            SampleSlide("One"),
            SampleSlide("Two (hidden)", hidden=True),
            SampleSlide("Three", image=True),
            SampleSlide("Four"),
        ],
    )


def render(deck: Path, out_dir: Path, **kwargs) -> list[Path]:
    options = {
        "include_hidden": False,
        "width": WIDTH,
        "height": HEIGHT,
        "timeout": 120.0,
    } | kwargs
    return render_slides(deck, out_dir, **options)


def background(path: Path, x: int = 8, y: int = 8) -> tuple[int, int, int]:
    """A pixel near the top-left corner of the slide, where only the background is."""
    with Image.open(path) as image:
        return image.getpixel((x, y))


def assert_colour(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 4) -> None:
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), (
        f"{actual} != {expected}"
    )


def test_renders_shown_slides_in_order_at_exact_size(
    deck_with_hidden: Path, tmp_path: Path, scratch_dir: Path
) -> None:
    out_dir = tmp_path / "slides"
    out_dir.mkdir()
    (out_dir / "0009.png").write_bytes(b"left over from a longer deck")
    (out_dir / "notes.txt").write_text("not ours")

    stills = render(deck_with_hidden, out_dir, expected=3)

    assert stills == [out_dir / "0001.png", out_dir / "0002.png", out_dir / "0003.png"]
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "0001.png",
        "0002.png",
        "0003.png",
        "notes.txt",
    ]
    for still in stills:
        with Image.open(still) as image:
            assert image.format == "PNG"
            assert image.mode == "RGB"
            assert image.size == (WIDTH, HEIGHT)
    # The hidden second slide is skipped: stills show slides 1, 3 and 4.
    for still, slide_number in zip(stills, (1, 3, 4), strict=True):
        assert_colour(background(still), samples.slide_colour(slide_number))
        assert_colour(background(still, WIDTH - 8, HEIGHT - 8), samples.slide_colour(slide_number))
    assert list(scratch_dir.iterdir()) == []  # temp dir and LibreOffice profile removed


def test_include_hidden_exports_every_slide(deck_with_hidden: Path, tmp_path: Path) -> None:
    stills = render(deck_with_hidden, tmp_path / "slides", expected=4, include_hidden=True)

    assert [p.name for p in stills] == ["0001.png", "0002.png", "0003.png", "0004.png"]
    for number, still in enumerate(stills, start=1):
        assert_colour(background(still), samples.slide_colour(number))


def test_four_by_three_deck_is_pillar_boxed_not_stretched(make_deck, tmp_path: Path) -> None:
    deck = make_deck([SampleSlide("Square-ish", image=True)], aspect="4:3")

    [still] = render(deck, tmp_path / "slides", expected=1, width=1920, height=1080)

    with Image.open(still) as image:
        assert image.size == (1920, 1080)
        pixels = image.load()
    # A 4:3 page fitted to a height of 1080 is 1440 wide: 240 black columns on each side.
    colour = samples.slide_colour(1)
    for y in (0, 300, 540, 1079):
        for x in (0, 120, 239, 1680, 1800, 1919):
            assert pixels[x, y] == BLACK, (x, y)
        for x in (242, 260, 1677):
            assert_colour(pixels[x, y], colour)
    # No letterbox: the page touches the top and bottom rows.
    for x in (250, 1670):
        assert_colour(pixels[x, 0], colour)
        assert_colour(pixels[x, 1079], colour)


def test_wide_deck_in_square_frame_is_letter_boxed(make_deck, tmp_path: Path) -> None:
    deck = make_deck([SampleSlide("Wide")])

    [still] = render(deck, tmp_path / "slides", expected=1, width=640, height=640)

    with Image.open(still) as image:
        assert image.size == (640, 640)
        pixels = image.load()
    # A 16:9 page fitted to a width of 640 is 360 high: 140 black rows above and below.
    colour = samples.slide_colour(1)
    for x in (0, 320, 639):
        for y in (0, 139, 501, 639):
            assert pixels[x, y] == BLACK, (x, y)
        for y in (142, 497):
            assert_colour(pixels[x, y], colour)


@pytest.mark.parametrize(
    ("page", "frame", "expected"),
    [
        ((960, 540), (1920, 1080), (1920, 1080)),
        ((959.981, 540), (1920, 1080), (1920, 1080)),  # LibreOffice's 13.333 in x 7.5 in
        ((720, 540), (1920, 1080), (1440, 1080)),
        ((960, 540), (640, 640), (640, 360)),
        ((540, 960), (1920, 1080), (608, 1080)),  # portrait
        ((720, 540), (1440, 1080), (1440, 1080)),
    ],
)
def test_fit_inside_keeps_the_aspect_ratio(page, frame, expected) -> None:
    assert fit_inside(*page, *frame) == expected


def test_page_count_mismatch_names_both_numbers(
    deck_with_hidden: Path, tmp_path: Path, scratch_dir: Path
) -> None:
    out_dir = tmp_path / "slides"

    with pytest.raises(InputError, match=r"^deck talk\.pptx: rendered 3 pages but expected 4 "):
        render(deck_with_hidden, out_dir, expected=4)

    assert not out_dir.exists()
    assert list(scratch_dir.iterdir()) == []


def test_unreadable_deck_is_a_processing_error(tmp_path: Path, scratch_dir: Path) -> None:
    deck = tmp_path / "broken.pptx"
    deck.write_bytes(b"this is not a presentation\n")

    with pytest.raises(ProcessingError, match=r"^deck broken\.pptx: LibreOffice produced no PDF"):
        render(deck, tmp_path / "slides", expected=1)

    assert list(scratch_dir.iterdir()) == []


def test_timeout_kills_libreoffice_and_cleans_up(
    deck_with_hidden: Path, tmp_path: Path, scratch_dir: Path, monkeypatch
) -> None:
    profiles: list[str] = []
    real_cleanup = render_module.remove_ipc_pipe
    monkeypatch.setattr(
        render_module, "remove_ipc_pipe", lambda url: profiles.append(url) or real_cleanup(url)
    )
    started = time.monotonic()
    with pytest.raises(ProcessingError, match=r"^deck talk\.pptx: soffice timed out"):
        render(deck_with_hidden, tmp_path / "slides", expected=3, timeout=0.3)
    assert time.monotonic() - started < 5
    # A killed soffice leaves its IPC socket in /tmp whatever TMPDIR says; render removes it.
    # (This render's own socket: other programs on the machine may run soffice meanwhile.)
    [profile] = profiles
    assert not Path("/tmp", render_module.ipc_pipe_name(profile)).exists()

    # soffice.bin is a grandchild; its command line carries the private profile path. Killed
    # processes vanish within moments, a surviving converter would run on for seconds.
    deadline = time.monotonic() + 1.0
    while (survivors := living_processes_mentioning(str(scratch_dir))) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert survivors == []
    assert list(scratch_dir.iterdir()) == []


def test_ipc_pipe_name_matches_the_one_soffice_creates(
    deck_with_hidden: Path, tmp_path: Path
) -> None:
    # Kill soffice while its pipe exists, as a timeout would, and check we find and remove it.
    profile_url = (tmp_path / "profile").as_uri()
    pipe = Path("/tmp", ipc_pipe_name(profile_url))
    soffice = subprocess.Popen(
        [
            "soffice",
            f"-env:UserInstallation={profile_url}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path / "pdf"),
            str(deck_with_hidden),
        ],
        env=dict(os.environ, HOME=str(tmp_path)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while not pipe.exists():
            assert soffice.poll() is None, f"soffice exited without making {pipe}"
            time.sleep(0.01)
    finally:
        os.killpg(soffice.pid, signal.SIGKILL)
        soffice.wait()
    assert pipe.exists()  # left behind by the kill

    remove_ipc_pipe(profile_url)

    assert not pipe.exists()


def test_concurrent_renders_do_not_interfere(make_deck, tmp_path: Path) -> None:
    # Same file name in both, different shapes and slide counts, so crossed output would show.
    wide = make_deck([SampleSlide(f"Wide {n}") for n in range(1, 4)], name="a/deck.pptx")
    square = make_deck(
        [SampleSlide(f"Square {n}") for n in range(1, 6)], name="b/deck.pptx", aspect="4:3"
    )
    results: dict[str, list[Path]] = {}
    errors: list[BaseException] = []

    def run(key: str, deck: Path, expected: int) -> None:
        try:
            results[key] = render(deck, tmp_path / key, expected=expected)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=("wide", wide, 3)),
        threading.Thread(target=run, args=("square", square, 5)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert errors == []
    assert [len(results["wide"]), len(results["square"])] == [3, 5]

    for number, still in enumerate(results["wide"], start=1):
        assert_colour(background(still, 2, 2), samples.slide_colour(number))
    # 4:3 in 640x360: the page is 480 wide, so columns 0..79 are black.
    for number, still in enumerate(results["square"], start=1):
        assert background(still, 2, 2) == BLACK
        assert_colour(background(still, 84, 2), samples.slide_colour(number))


@pytest.mark.slow
def test_bench_deck_renders_thirty_full_hd_stills(tmp_path: Path) -> None:
    deck = inputs.build_bench_deck(tmp_path / "bench.pptx")

    started = time.monotonic()
    stills = render(deck, tmp_path / "slides", expected=30, width=1920, height=1080)
    elapsed = time.monotonic() - started

    assert len(stills) == 30
    for number in (1, 15, 30):
        with Image.open(stills[number - 1]) as image:
            assert image.size == (1920, 1080)
        assert_colour(background(stills[number - 1]), samples.slide_colour(number))
    print(f"rendered 30 slides at 1920x1080 in {elapsed:.1f} s on {os.cpu_count()} CPUs")
