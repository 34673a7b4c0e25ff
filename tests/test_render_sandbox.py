"""render.py against hostile decks, with real LibreOffice: nothing is fetched or embedded from
outside the deck, only PowerPoint's own format is read, the tools stay within their limits,
and nothing outlives a killed pipeline. Each attack is first shown to work on a plain soffice
(the way the renderer used to call it), so that the safe outcome is not an accident."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from deck2video.config import Limits, tool_environment
from deck2video.errors import InputError, ProcessingError
from deck2video.procs import run_tool, sweep_stale
from deck2video.render import SOFFICE, render_slides, write_profile
from deck2video.samples import SampleSlide, build_deck
from tests.support import bad_files
from tests.support.processes import (
    leftovers,
    living_processes_mentioning,
    unsandboxed,
    wait_until,
)

MAGENTA = (255, 0, 255)


def render(deck: Path, out: Path, **options) -> list[Path]:
    settings = {"expected": 1, "include_hidden": False, "width": 640, "height": 360}
    return render_slides(deck, out, **{**settings, "timeout": 120.0, **options})


def plain_soffice(deck: Path, work: Path, to: str) -> Path:
    """What the renderer used to run: soffice with a fresh profile, no sandbox, no filter."""
    with unsandboxed():
        run_tool(
            [SOFFICE, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless",
             "--convert-to", to, "--outdir", work / to, deck],
            timeout=120, what=f"plain soffice to {to}", env=tool_environment(HOME=str(work)),
        )  # fmt: skip
    return work / to / f"{deck.stem}.{to}"


def magenta_pixels(image: Path) -> int:
    with Image.open(image) as picture:
        pixels = picture.convert("RGB").getdata()
        return sum(1 for r, g, b in pixels if r > 230 and g < 40 and b > 230)


def first_page(pdf: Path, work: Path) -> Path:
    with unsandboxed():
        run_tool(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", pdf, work / "page"],
                 timeout=60, what="pdftoppm")  # fmt: skip
    return next(work.glob("page*.png"))


def test_a_linked_picture_is_never_fetched(loopback_listener, tmp_path: Path, scratch_dir: Path):
    deck = bad_files.external_picture_deck(
        tmp_path / "linked.pptx", f"{loopback_listener.url}/p.png"
    )
    plain_soffice(deck, tmp_path / "plain", "pdf")
    assert loopback_listener.connections, "plain soffice did not fetch: the deck is harmless"
    fetched_before = len(loopback_listener.connections)

    stills = render(deck, tmp_path / "slides")

    assert len(stills) == 1
    assert len(loopback_listener.connections) == fetched_before, loopback_listener.requests
    assert leftovers(scratch_dir) == []


def test_a_linked_local_file_is_never_embedded(tmp_path: Path):
    secret = tmp_path / "outside" / "secret.png"
    secret.parent.mkdir()
    secret.write_bytes(bad_files.small_png(MAGENTA, size=400))
    deck = bad_files.external_picture_deck(tmp_path / "local.pptx", secret.as_uri())
    plain = first_page(plain_soffice(deck, tmp_path / "plain", "pdf"), tmp_path / "plain")
    assert magenta_pixels(plain) > 100, "plain soffice did not embed it: the deck is harmless"

    [still] = render(deck, tmp_path / "slides")

    assert magenta_pixels(still) == 0


def test_only_powerpoint_files_are_read_whatever_the_name(tmp_path: Path):
    """An OpenDocument presentation (which may carry Basic macros) named .pptx."""
    source = build_deck(tmp_path / "source.pptx", [SampleSlide("Really ODF")])
    disguised = tmp_path / "disguised.pptx"
    plain_soffice(source, tmp_path, "odp").rename(disguised)
    assert plain_soffice(disguised, tmp_path / "plain", "pdf").stat().st_size > 0

    with pytest.raises(
        ProcessingError, match=r"^deck disguised\.pptx: LibreOffice produced no PDF"
    ):
        render(disguised, tmp_path / "slides")


def test_the_profile_never_runs_macros(tmp_path: Path):
    settings = write_profile(tmp_path / "profile").read_text()
    for setting in (
        '"MacroSecurityLevel" oor:op="fuse" oor:type="xs:int"><value>3<',
        '"DisableMacrosExecution" oor:op="fuse" oor:type="xs:boolean"><value>true<',
        '"BlockUntrustedRefererLinks" oor:op="fuse" oor:type="xs:boolean"><value>true<',
        'Impress/Filter/Import/VBA"><prop oor:name="Load" oor:op="fuse" oor:type="xs:boolean">'
        "<value>false<",
    ):
        assert setting in settings


def test_libreoffice_over_its_memory_limit_is_bad_input(tmp_path: Path, scratch_dir: Path):
    deck = build_deck(tmp_path / "talk.pptx", [SampleSlide("One")])
    # Too little even to start: it aborts, or its libraries do not fit (either is the limit).
    with pytest.raises(InputError, match=r"ran out of its 120 MiB memory limit.*SOFFICE_MEMORY_MB"):
        render(deck, tmp_path / "slides", limits=Limits(soffice_memory_mb=120))
    assert leftovers(scratch_dir) == []


def test_killing_the_pipeline_kills_libreoffice_and_the_next_run_sweeps(
    tmp_path: Path, scratch_dir: Path
):
    """SIGKILL: no cleanup code of ours runs. soffice.bin must still die, and its folders go."""
    deck = build_deck(tmp_path / "long.pptx", [SampleSlide(f"S{n}") for n in range(40)])
    pipeline = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            from pathlib import Path
            from deck2video.render import render_slides
            render_slides(Path({str(deck)!r}), Path({str(tmp_path / "out")!r}),
                          expected=40, include_hidden=False, width=1920, height=1080,
                          timeout=300)
        """)],
        env={**os.environ, "TMPDIR": str(scratch_dir)}, start_new_session=True,
    )  # fmt: skip
    try:
        assert wait_until(
            lambda: any("soffice.bin" in p for p in living_processes_mentioning(str(scratch_dir))),
            timeout=60,
        ), "soffice.bin never started"
    finally:
        os.kill(pipeline.pid, signal.SIGKILL)
        pipeline.wait()

    assert wait_until(lambda: not living_processes_mentioning(str(scratch_dir)), timeout=10), (
        living_processes_mentioning(str(scratch_dir))
    )
    [left] = [p for p in scratch_dir.iterdir() if p.name.startswith("deck2video-render-")]
    assert sweep_stale(scratch_dir) == [left]
    assert leftovers(scratch_dir) == []
