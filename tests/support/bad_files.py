"""Builders for test inputs: hostile or broken ones, shared by the stage tests and the
end-to-end tests, and the WAV writer they and the good-input builders use."""

from __future__ import annotations

import io
import re
import shutil
import struct
import wave
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from pptx import Presentation
from pptx.util import Inches

from deck2video.procs import run_tool
from deck2video.samples import SampleSlide, build_deck
from tests.support.processes import unsandboxed

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def not_a_zip(path: Path) -> Path:
    path.write_text("this is a plain text file, not a presentation\n")
    return path


def zip_without_presentation(path: Path) -> Path:
    """An Office Open XML zip (content types and all) that holds a Word document, not slides."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return path


def encrypted_deck(path: Path) -> Path:
    """What PowerPoint writes for a password-protected deck: an OLE compound file."""
    path.write_bytes(OLE_MAGIC + bytes(4096))
    return path


def zip_bomb(path: Path, megabytes: int = 64) -> Path:
    """A small zip that inflates to ``megabytes`` of zeros, beside a presentation part."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ppt/presentation.xml", "<p:presentation/>")
        archive.writestr("ppt/media/zeros.bin", bytes(megabytes * 1024 * 1024))
    return path


def short_speech(path: Path) -> Path:
    """About a second of real speech (espeak-ng) between stretches of silence."""
    with unsandboxed():
        run_tool(["espeak-ng", "-v", "en-us", "-w", path, "Hi there."], timeout=60,
                 what="espeak-ng")  # fmt: skip
    with wave.open(str(path)) as clip:
        rate, speech = clip.getframerate(), np.frombuffer(clip.readframes(-1), "<i2")
    silence = np.zeros(rate, dtype="<i2")
    return write_wav(path, np.concatenate([silence, speech, silence]), rate)


def silent_wav(path: Path, seconds: float = 5.0, rate: int = 24000) -> Path:
    return tone_wav(path, seconds, rate=rate, amplitude=0.0)


def tone_wav(
    path: Path, seconds: float, *, rate: int = 24000, amplitude: float = 0.3, hz: float = 220.0
) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    return write_wav(path, amplitude * np.sin(2 * np.pi * hz * t), rate)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """A 16-bit PCM WAV. ``samples`` are floats in [-1, 1] (clipped, then scaled to 16 bits) or
    int16 values written as they are; one column per channel for more than one channel."""
    if samples.dtype.kind == "f":
        samples = np.clip(samples, -1, 1) * 32767
    frames = samples.astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1 if frames.ndim == 1 else frames.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames.tobytes())
    return path


# --- hostile decks: the attacks of issue 9 -------------------------------------------------------


def rewrite_zip(path: Path, dest: Path, edits: dict) -> Path:
    """A copy of the zip ``path`` with each part named in ``edits`` passed through its
    ``edit(bytes) -> bytes``."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            out.writestr(info, edits[info.filename](data) if info.filename in edits else data)
    return dest


def picture_deck(path: Path, pictures: list[bytes]) -> Path:
    """A one-slide deck (title "Pictures", short notes) holding each PNG of ``pictures``."""
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Pictures"
    slide.notes_slide.notes_text_frame.text = "Look at these."
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # python-pptx reads the size
    try:
        for n, png in enumerate(pictures):
            slide.shapes.add_picture(
                io.BytesIO(png), Inches(1 + n % 3), Inches(2 + n // 3), Inches(1)
            )
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    prs.save(str(path))
    return path


def small_png(colour: tuple[int, int, int] = (255, 0, 255), size: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def huge_png(width: int, height: int) -> bytes:
    """A valid black PNG of ``width`` x ``height`` (1 bit per pixel, so it is built in a moment
    and weighs a few kilobytes): a decompression bomb for whoever decodes it."""
    compressor = zlib.compressobj(9)
    row = bytes(1 + -(-width // 8))  # filter byte + packed pixels
    chunks = [compressor.compress(row) for _ in range(height)] + [compressor.flush()]
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(chunks))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def external_picture_deck(path: Path, target: str, *, rel_type: str = "image") -> Path:
    """A deck whose slide 1 shows a picture linked from ``target`` (``TargetMode="External"``):
    LibreOffice fetches it while rendering. ``rel_type="hyperlink"`` disguises the link as a
    hyperlink that the picture nevertheless draws from."""
    source = picture_deck(path.with_name(f"source-{path.name}"), [small_png((0, 200, 0))])
    relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

    def link_rels(data: bytes) -> bytes:
        text = data.decode()
        text = re.sub(
            r'Type="[^"]*/image" Target="[^"]*"',
            f'Type="{relationships}/{rel_type}" Target="{target}" TargetMode="External"',
            text,
        )
        return text.encode()

    def link_blip(data: bytes) -> bytes:
        return re.sub(rb'r:embed="(rId\d+)"', rb'r:link="\1"', data)

    rewrite_zip(
        source,
        path,
        {"ppt/slides/_rels/slide1.xml.rels": link_rels, "ppt/slides/slide1.xml": link_blip},
    )
    source.unlink()
    return path


def malformed_xml_deck(path: Path, slides: list[SampleSlide], broken: int) -> Path:
    """A deck whose slide ``broken`` carries a 3-D scene with an undeclared namespace prefix:
    LibreOffice renders it, strict XML parsers (python-pptx's lxml) refuse it."""
    source = build_deck(path.with_name(f"source-{path.name}"), slides)
    scene = (
        b'<a:scene3d><a:camera prst="orthographicFront"/><a:lightRig rig="threePt" dir="t"/>'
        b'</a:scene3d><a:sp3d x14:prstMaterial="warm:Matte"/>'
    )

    def break_it(data: bytes) -> bytes:
        return data.replace(b"</a:xfrm></p:spPr>", b"</a:xfrm>" + scene + b"</p:spPr>", 1)

    rewrite_zip(source, path, {f"ppt/slides/slide{broken}.xml": break_it})
    source.unlink()
    return path


def entry_bomb(path: Path, zero_mib: int = 900, noise_mib: int = 12) -> Path:
    """A deck with one part of ``zero_mib`` MiB of zeros beside ``noise_mib`` MiB of random
    data: the deck as a whole compresses less than 100:1, the zeros part 1000:1."""
    source = build_deck(path.with_name(f"source-{path.name}"), [SampleSlide("Bomb", "Boom.")])
    shutil.copy(source, path)
    source.unlink()
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("ppt/media/zeros.bin", "w", force_zip64=True) as part:
            block = bytes(1024 * 1024)
            for _ in range(zero_mib):
                part.write(block)
        archive.writestr(
            "ppt/media/noise.bin", np.random.default_rng(9).bytes(noise_mib * 1024 * 1024)
        )
    return path


def many_clicks_deck(path: Path, clicks: int = 10_000) -> Path:
    """Two slides, the second with ``clicks`` click effects on one text box."""
    from tests.support.build_decks import Effect, set_timing, timing_xml

    build_deck(path, [SampleSlide("One", "First."), SampleSlide("Two", "Second.")])
    prs = Presentation(str(path))
    box = prs.slides[1].shapes.add_textbox(0, 0, Inches(2), Inches(1))
    box.text_frame.text = "Again"
    set_timing(prs.slides[1], timing_xml([[Effect(box.shape_id)]] * clicks))
    prs.save(str(path))
    return path
