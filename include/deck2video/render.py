"""Render a deck's shown slides to PNG stills: LibreOffice -> PDF -> pdftoppm -> boxed PNGs.

Every still is exactly the video size: the page is scaled to fit inside it with its own aspect
ratio and centred on black (letter- or pillar-boxed), never stretched.

A deck is an untrusted document, and LibreOffice will fetch what it links to. So (besides the
checks in :mod:`deck2video.deck`, which refuse external links before this runs) soffice runs in
bubblewrap (``bwrap``, as every tool does: :mod:`deck2video.procs`): in new namespaces with no
network but a loopback of its own, seeing only the system's programs, the project's font set
(:mod:`deck2video.fonts`), the deck
(read-only) and its work folder; forced to read the file as a PowerPoint 2007+ deck; with a
profile in which macros are disabled and VBA is never loaded. Its whole process tree dies with
the pipeline (a PID namespace of its own).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from deck2video.config import Limits, ToolLimits, tool_environment
from deck2video.errors import InputError, ProcessingError
from deck2video.fonts import FontRender
from deck2video.procs import Sandbox, last_line, run_tool, scratch

# LibreOffice leaves hidden slides out of a PDF unless this export option is set; 7.4+ accepts
# the filter options as JSON after the filter name.
_PDF_SHOWN_ONLY = "pdf:impress_pdf_Export"
_PDF_WITH_HIDDEN = 'pdf:impress_pdf_Export:{"ExportHiddenSlides":{"type":"boolean","value":"true"}}'

# Pages go through pdftoppm in chunks so that at most a few uncompressed pages sit on disk at a
# time (a 1080p PPM is 6 MB) and two chunks can render at once on a multi-core machine.
_CHUNK_PAGES = 6
_RASTER_WORKERS = min(2, os.cpu_count() or 1)

_STILL_NAME = re.compile(r"^(\d{4})\.png$")
SOFFICE = "/usr/bin/soffice"
# The import filter for .pptx: without it LibreOffice picks a filter from the bytes, so a file
# named .pptx could be opened as any format it knows (including ones that run macros).
_PPTX_FILTER = "Impress MS PowerPoint 2007 XML"
# Settings the throwaway profile starts with: macros never run, VBA is never even loaded, and
# pictures are not fetched for untrusted documents.
_PROFILE_SETTINGS = {
    "/org.openoffice.Office.Common/Security/Scripting": {
        "MacroSecurityLevel": ("int", "3"),
        "DisableMacrosExecution": ("boolean", "true"),
        "BlockUntrustedRefererLinks": ("boolean", "true"),
    },
    "/org.openoffice.Office.Impress/Filter/Import/VBA": {"Load": ("boolean", "false")},
}


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    page_width: float  # points
    page_height: float


def render_slides(
    deck: Path,
    out_dir: Path,
    *,
    expected: int,
    include_hidden: bool,
    width: int,
    height: int,
    timeout: float,
    limits: Limits = Limits(),  # noqa: B008 (frozen, immutable)
    fonts: FontRender | None = None,
) -> list[Path]:
    """Write ``out_dir/0001.png ...``, one ``width`` x ``height`` RGB still per exported slide.

    ``expected`` is the number of slides the deck parser says are shown; a different page count
    means LibreOffice saw the deck differently, so the stills would not match the narration.
    ``timeout`` bounds the whole call (LibreOffice and poppler together); ``limits`` holds each
    tool's memory and CPU budget. Every tool runs in the deployment's sandbox (:mod:`procs`).
    With ``fonts``, LibreOffice sees exactly that font set, and ``fonts.report`` is filled in.
    """
    deck = Path(deck).resolve()
    out_dir = Path(out_dir)
    deadline = time.monotonic() + timeout
    label = f"deck {deck.name}"
    poppler = limits.tool("poppler")
    with scratch("render") as work:
        pdf = convert_to_pdf(
            deck,
            work,
            include_hidden=include_hidden,
            timeout=_time_left(deadline, label),
            limits=limits.tool("soffice"),
            fonts=fonts,
        )
        info = read_pdf_info(pdf, label=label, timeout=_time_left(deadline, label), limits=poppler)
        if info.pages != expected:
            raise InputError(
                f"{label}: rendered {info.pages} pages but expected {expected} shown slides"
            )
        if fonts is not None:
            fonts.inspect(
                deck, pdf, include_hidden=include_hidden, timeout=_time_left(deadline, label)
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        stills = rasterize(
            pdf,
            info,
            work,
            out_dir,
            size=(width, height),
            deadline=deadline,
            label=label,
            limits=poppler,
        )
    remove_stale_stills(out_dir, keep=len(stills))
    return stills


def convert_to_pdf(
    deck: Path,
    work: Path,
    *,
    include_hidden: bool,
    timeout: float,
    limits: ToolLimits | None = None,
    fonts: FontRender | None = None,
) -> Path:
    """Export ``deck`` to a PDF inside ``work`` with a throwaway LibreOffice profile.

    A private profile per call is what lets conversions run side by side: two soffice processes
    sharing one profile hand the job to each other and one of them silently writes nothing.
    HOME and TMPDIR point into ``work`` too, so nothing is left outside it.
    """
    outdir, home, temp = work / "pdf", work / "home", work / "tmp"
    for folder in (outdir, home, temp):
        folder.mkdir()
    write_profile(work / "profile")
    env = tool_environment(HOME=str(home), TMPDIR=str(temp), LANG="C.UTF-8")
    profile_url = (work / "profile").as_uri()
    # It sees the deck (read-only) and its work folder, nothing else of ours.
    font_env, font_dirs = fonts.prepare(deck, work) if fonts is not None else ({}, ())
    env.update(font_env)
    seen = Sandbox(read_only=(deck, Path("/etc/libreoffice"), *font_dirs), writable=(work,))
    try:
        result = run_tool(
            soffice_command(deck, outdir, profile_url, include_hidden),
            timeout=timeout,
            what=f"deck {deck.name}",
            env=env,
            limits=limits,
            sandbox=seen,
        )
    finally:
        remove_ipc_pipe(profile_url)
    # soffice exits 0 even when it cannot load the file; the missing PDF is the only sign.
    pdfs = sorted(outdir.glob("*.pdf"))
    if len(pdfs) != 1 or pdfs[0].stat().st_size == 0:
        raise ProcessingError(
            f"deck {deck.name}: LibreOffice produced no PDF ({last_line(result.stderr)})"
        )
    return pdfs[0]


def soffice_command(deck: Path, outdir: Path, profile_url: str, include_hidden: bool) -> list[str]:
    return [
        SOFFICE,
        f"-env:UserInstallation={profile_url}",
        "--headless",
        "--invisible",
        "--nologo",
        "--nodefault",
        "--norestore",
        "--nolockcheck",
        f"--infilter={_PPTX_FILTER}",
        "--convert-to",
        _PDF_WITH_HIDDEN if include_hidden else _PDF_SHOWN_ONLY,
        "--outdir",
        str(outdir),
        str(deck),
    ]


def write_profile(profile: Path) -> Path:
    """A new LibreOffice profile holding :data:`_PROFILE_SETTINGS` (LibreOffice adds the rest)."""
    items = []
    for path, props in _PROFILE_SETTINGS.items():
        for name, (kind, value) in props.items():
            items.append(
                f'<item oor:path="{path}"><prop oor:name="{name}" oor:op="fuse" '
                f'oor:type="xs:{kind}"><value>{value}</value></prop></item>'
            )
    settings = profile / "user" / "registrymodifications.xcu"
    settings.parent.mkdir(parents=True)
    settings.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        + "\n".join(items)
        + "\n</oor:items>\n",
        encoding="utf-8",
    )
    return settings


def remove_ipc_pipe(profile_url: str) -> None:
    """Delete the socket a killed soffice leaves in /tmp (it ignores TMPDIR for it); a soffice
    that exits normally removes it itself."""
    for folder in ("/tmp", "/var/tmp"):
        Path(folder, ipc_pipe_name(profile_url)).unlink(missing_ok=True)


def ipc_pipe_name(profile_url: str) -> str:
    """soffice names its socket after the MD5 of the profile URL in UTF-16LE, in unpadded hex."""
    digest = hashlib.md5(profile_url.encode("utf-16-le"), usedforsecurity=False).digest()
    return f"OSL_PIPE_{os.getuid()}_SingleOfficeIPC_{''.join(f'{b:x}' for b in digest)}"


def read_pdf_info(
    pdf: Path, *, label: str, timeout: float, limits: ToolLimits | None = None
) -> PdfInfo:
    """Page count and the first page's size; a deck's slides all share one size."""
    result = run_tool(["pdfinfo", pdf], timeout=timeout, what=label, limits=limits,
                      sandbox=Sandbox(read_only=(pdf,)))  # fmt: skip
    text = result.stdout.decode(errors="replace")
    pages = re.search(r"^Pages:\s+(\d+)", text, re.MULTILINE)
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", text, re.MULTILINE)
    if not pages or not size:
        raise ProcessingError(f"{label}: pdfinfo did not report pages and page size")
    return PdfInfo(int(pages[1]), float(size[1]), float(size[2]))


def fit_inside(page_width: float, page_height: float, width: int, height: int) -> tuple[int, int]:
    """The largest size with the page's aspect ratio that fits in ``width`` x ``height``."""
    if page_width * height >= page_height * width:  # page is wider than the frame
        return width, min(height, max(1, round(width * page_height / page_width)))
    return min(width, max(1, round(height * page_width / page_height))), height


def rasterize(
    pdf: Path,
    info: PdfInfo,
    work: Path,
    out_dir: Path,
    *,
    size: tuple[int, int],
    deadline: float,
    label: str,
    limits: ToolLimits | None = None,
) -> list[Path]:
    """Render every page of ``pdf`` to ``out_dir/NNNN.png`` at exactly ``size``."""
    scaled = fit_inside(info.page_width, info.page_height, *size)
    chunks = [
        (first, min(first + _CHUNK_PAGES - 1, info.pages))
        for first in range(1, info.pages + 1, _CHUNK_PAGES)
    ]
    with ThreadPoolExecutor(max_workers=_RASTER_WORKERS) as pool:
        futures: list[Future[None]] = [
            pool.submit(
                _render_chunk,
                pdf,
                (first, last),
                work,
                out_dir,
                scaled,
                size,
                deadline,
                label,
                limits,
            )
            for first, last in chunks
        ]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in done:
            future.result()  # re-raises the first failure
    return [out_dir / f"{page:04d}.png" for page in range(1, info.pages + 1)]


def _render_chunk(
    pdf: Path,
    pages: tuple[int, int],
    work: Path,
    out_dir: Path,
    scaled: tuple[int, int],
    size: tuple[int, int],
    deadline: float,
    label: str,
    limits: ToolLimits | None,
) -> None:
    # PPM, not PNG: each page is compressed once, after boxing, instead of twice.
    first, last = pages
    chunk_dir = work / f"pages-{first:04d}"
    chunk_dir.mkdir()
    run_tool(
        [
            "pdftoppm",
            "-scale-to-x",
            str(scaled[0]),
            "-scale-to-y",
            str(scaled[1]),
            "-f",
            str(first),
            "-l",
            str(last),
            pdf,
            chunk_dir / "page",
        ],
        timeout=_time_left(deadline, label),
        what=label,
        limits=limits,
        sandbox=Sandbox(read_only=(pdf,), writable=(chunk_dir,)),
    )
    # pdftoppm pads page numbers to the width of the document's last page number.
    rendered = {int(p.stem.rpartition("-")[2]): p for p in chunk_dir.glob("page-*.ppm")}
    for page in range(first, last + 1):
        if page not in rendered:
            raise ProcessingError(f"{label}: pdftoppm produced no image for page {page}")
        box_page(rendered[page], out_dir / f"{page:04d}.png", size)
        rendered[page].unlink()
    chunk_dir.rmdir()


def box_page(src: Path, dst: Path, size: tuple[int, int]) -> None:
    """Centre the page image on a black ``size`` canvas and write it as an RGB PNG."""
    with Image.open(src) as page:
        image = page.convert("RGB")
    if image.size != size:
        canvas = Image.new("RGB", size)  # black
        canvas.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
        image = canvas
    # Write beside the target and rename, so a killed run never leaves a half-written still.
    partial = dst.with_name(f".{dst.name}.partial")
    image.save(partial, format="PNG")
    os.replace(partial, dst)


def remove_stale_stills(out_dir: Path, *, keep: int) -> None:
    """Delete numbered stills beyond ``keep`` left by an earlier run of a longer deck."""
    for path in out_dir.iterdir():
        match = _STILL_NAME.match(path.name)
        if match and int(match[1]) > keep:
            path.unlink()


def _time_left(deadline: float, label: str) -> float:
    """Seconds left for the next tool; rounded so that timeout messages read cleanly."""
    left = round(deadline - time.monotonic(), 1)
    if left <= 0:
        raise ProcessingError(f"{label}: rendering ran out of time")
    return left
