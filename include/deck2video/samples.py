"""Sample inputs for `make demo` (and the tests and benchmarks): decks built with python-pptx and
a reference voice spoken by espeak-ng.

Every slide gets its own background colour and a big slide number, so a test that compares a video
frame with the rendered slide images can tell which slide is on screen.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Pt

from deck2video.procs import Sandbox, run_tool


@dataclass(frozen=True)
class SampleSlide:
    title: str
    notes: str = ""
    hidden: bool = False
    image: bool = False  # add a 4:3 picture to the slide


# Ordered so that any two colours one or two places apart (neighbours, or neighbours across a
# hidden slide) are far apart in RGB, which keeps frame-to-slide matching unambiguous.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (20, 40, 120),  # navy
    (235, 110, 170),  # pink
    (175, 235, 120),  # light green
    (20, 110, 60),  # dark green
    (95, 40, 150),  # purple
    (120, 220, 235),  # light cyan
    (35, 35, 35),  # near black
    (245, 200, 40),  # yellow
    (235, 235, 225),  # off white
    (0, 110, 125),  # teal
    (250, 150, 40),  # orange
    (140, 20, 30),  # maroon
)

# Exact ratios in EMU (914400 per inch): PowerPoint's own 13.333 x 7.5 in and 10 x 7.5 in sizes.
_SLIDE_SIZES = {"16:9": (Emu(12_192_000), Emu(6_858_000)), "4:3": (Emu(9_144_000), Emu(6_858_000))}
_TITLE_ONLY_LAYOUT = 5  # in python-pptx's default template: a title placeholder and nothing else


def slide_colour(index: int) -> tuple[int, int, int]:
    """Background colour of the 1-based slide ``index`` in decks made by :func:`build_deck`."""
    return PALETTE[(index - 1) % len(PALETTE)]


def build_deck(path: Path, slides: Sequence[SampleSlide], *, aspect: str = "16:9") -> Path:
    """Write a .pptx with one visually distinct slide per spec; returns ``path``."""
    if aspect not in _SLIDE_SIZES:
        raise ValueError(f"aspect {aspect!r} is not one of {sorted(_SLIDE_SIZES)}")
    path = Path(path)
    prs = Presentation()
    prs.slide_width, prs.slide_height = _SLIDE_SIZES[aspect]
    for number, spec in enumerate(slides, start=1):
        _add_slide(prs, number, spec)
    prs.core_properties.created = prs.core_properties.modified = _FIXED_TIME
    path.parent.mkdir(parents=True, exist_ok=True)
    prs.save(str(path))
    return _with_fixed_timestamps(path)


# Sample decks are byte-for-byte reproducible, so a re-run of the demo is the same job (and
# finishes from the caches) instead of a new one.
_FIXED_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def _with_fixed_timestamps(path: Path) -> Path:
    with zipfile.ZipFile(path) as source:
        parts = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, data in parts:
            target.writestr(
                zipfile.ZipInfo(name, date_time=_FIXED_TIME.timetuple()[:6]),
                data,
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return path


def _add_slide(prs: Any, number: int, spec: SampleSlide) -> None:
    width, height = int(prs.slide_width), int(prs.slide_height)
    background = slide_colour(number)
    ink = _contrasting_ink(background)
    slide = prs.slides.add_slide(prs.slide_layouts[_TITLE_ONLY_LAYOUT])

    fill = slide.background.fill
    fill.solid()
    fill.fore_color.rgb = RGBColor(*background)

    title = slide.shapes.title
    title.left, title.top = Emu(width // 20), Emu(height // 20)
    title.width, title.height = Emu(width * 18 // 20), Emu(height // 5)
    title.text = spec.title
    for paragraph in title.text_frame.paragraphs:
        for run in paragraph.runs:
            run.font.color.rgb = RGBColor(*ink)
            run.font.size = Pt(40)

    # The number sits on the left half so that a picture can take the right half.
    box = slide.shapes.add_textbox(
        Emu(width // 20), Emu(height * 3 // 10), Emu(width * 9 // 20), Emu(height * 6 // 10)
    )
    frame = box.text_frame
    frame.vertical_anchor = MSO_ANCHOR.MIDDLE
    paragraph = frame.paragraphs[0]
    paragraph.alignment = PP_ALIGN.CENTER
    run = paragraph.add_run()
    run.text = str(number)
    run.font.size = Pt(180)
    run.font.bold = True
    run.font.color.rgb = RGBColor(*ink)

    if spec.image:
        picture_height = height * 5 // 10
        picture_width = picture_height * 4 // 3
        slide.shapes.add_picture(
            io.BytesIO(_picture_png(number)),
            Emu(width * 19 // 20 - picture_width),
            Emu(height * 4 // 10),
            Emu(picture_width),
            Emu(picture_height),
        )

    if spec.notes:
        slide.notes_slide.notes_text_frame.text = spec.notes
    if spec.hidden:
        slide._element.set("show", "0")  # python-pptx has no API for hidden slides


def _contrasting_ink(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return (0, 0, 0) if luma > 140 else (255, 255, 255)


def _picture_png(seed: int) -> bytes:
    """A 4:3 PNG with a few shapes whose colours depend on ``seed`` (deterministic)."""
    image = Image.new("RGB", (800, 600), PALETTE[(seed + 5) % len(PALETTE)])
    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 60, 360, 360), fill=PALETTE[(seed + 7) % len(PALETTE)], outline="black")
    draw.rectangle((420, 240, 740, 540), fill=PALETTE[(seed + 9) % len(PALETTE)], outline="black")
    draw.polygon([(100, 540), (250, 400), (400, 540)], fill=(255, 255, 255), outline="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


_LONG_NOTE = """\
This slide has a long note, so the narration has to be split into sentence-sized pieces. \
Each piece is spoken and captioned on its own, which keeps the captions short and readable.

The pipeline has a few stages, and each one does a single job:
• Open the deck and read every slide's title, notes and hidden flag.
• Render the shown slides to images with LibreOffice, one image per slide.
▪ Turn the notes into speech with a local voice, sentence by sentence.
- Put the images and the audio together into one video with captions.
* Publish the video and its captions where the user asked for them.

Some notes are written like a list of bullet points without any full stops
so the narration adds a sentence break at the end of each line
and the voice still pauses in the right places

Numbers deserve care too. A value like 3.14 must stay in one piece, and so must \
abbreviations such as e.g. and Dr. Smith, or the U.S. office in Boston. \
Quotes written with “smart” characters become plain ones, and the voice does not read them out.

[PAUSE 0.5]

Timing matters as well. Every slide stays on screen for as long as its narration lasts, \
plus a short padding before and after, so that the viewer has a moment to look at the slide \
before the voice begins and a moment after it ends. Slides without notes still get a short \
silence, so they are visible in the video for at least a couple of seconds.

Finally, the whole job is deterministic: the same deck, the same voice and the same settings \
give the same job identifier, and a second run reuses the audio it already made. \
That makes it cheap to fix a typo in one slide's notes and produce the video again, \
because only the changed slide has to be spoken once more, and everything else comes from \
the cache. This long note is here to check all of that, from the splitting of sentences to the \
captions that follow the voice.
"""

DEMO_SLIDES: tuple[SampleSlide, ...] = (
    SampleSlide(
        "Deck to Video",
        "Welcome to the deck to video demo. "
        "This short deck shows how speaker notes become a narrated video.",
    ),
    SampleSlide(
        "Backstage: hidden slide",
        "This hidden slide is backstage material and must never be spoken.",
        hidden=True,
    ),
    SampleSlide("A slide without notes"),
    SampleSlide("A quiet moment", "[SILENCE]"),
    SampleSlide(
        "A picture in four by three",
        "This slide carries a picture with a four by three shape on a wide slide.",
        image=True,
    ),
    SampleSlide(
        "Café Zürich — naïve façade",
        "At the Café Zürich a coffee costs about 4 €, which is a naïve price for such a façade. "
        "The owner, Señor Muñoz, calls it très bien.",
    ),
    SampleSlide("How the narration is made", _LONG_NOTE),
    SampleSlide("Thank you", "Thanks for watching. That is the end of the demo."),
)


def build_demo_deck(path: Path) -> Path:
    """The deck `make demo` and the end-to-end tests use (16:9, every special case once)."""
    return build_deck(path, DEMO_SLIDES)


_REFERENCE_TEXT = (
    "Hello, this is a short recording of my voice. I am reading a few sentences so that the "
    "narration can sound a little more like me. Thank you for listening to this sample."
)
# ffmpeg encoder per output suffix; .wav keeps PCM.
_ENCODERS = {
    ".wav": ["-c:a", "pcm_s16le"],
    ".mp3": ["-c:a", "libmp3lame", "-q:a", "4"],
    ".flac": ["-c:a", "flac"],
    ".ogg": ["-c:a", "libvorbis", "-q:a", "4"],
    ".m4a": ["-c:a", "aac", "-b:a", "96k"],
}


def make_reference_voice(
    path: Path,
    *,
    voice: str = "en-gb",
    pitch: int = 50,
    text: str = _REFERENCE_TEXT,
    timeout: float = 60.0,
) -> Path:
    """Speak ~9 s of English with espeak-ng (by default a British voice, unlike the product's
    Piper voice; ``voice`` and ``pitch`` 0-99 make others) and write it in the format the
    suffix of ``path`` names (.wav/.mp3/.flac/.ogg/.m4a)."""
    path = Path(path).resolve()
    suffix = path.suffix.lower()
    if suffix not in _ENCODERS:
        raise ValueError(f"voice {path.name}: unsupported suffix (use one of {sorted(_ENCODERS)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="deck2video-voice-") as tmp:
        raw = Path(tmp).resolve() / "espeak.wav"
        run_tool(
            ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", "150", "-w", raw, text],
            timeout=timeout,
            what=f"speak reference voice {path.name}",
            sandbox=Sandbox(writable=(raw.parent,)),
        )
        # 44.1 kHz like a typical recording, so the voice stage really has to resample.
        decode: list[str | Path] = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", raw]
        run_tool(
            decode + ["-ac", "1", "-ar", "44100"] + _ENCODERS[suffix] + [path],
            timeout=timeout,
            what=f"encode reference voice {path.name}",
            sandbox=Sandbox(read_only=(raw,), writable=(path.parent,)),
        )
    return path


def write_demo_inputs(folder: Path) -> tuple[Path, Path]:
    """The demo's inputs: ``folder/demo.pptx`` and ``folder/voice.wav``."""
    folder.mkdir(parents=True, exist_ok=True)
    return build_demo_deck(folder / "demo.pptx"), make_reference_voice(folder / "voice.wav")


if __name__ == "__main__":  # python -m deck2video.samples demo FOLDER
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "demo":
        sys.exit("usage: python -m deck2video.samples demo FOLDER")
    for made in write_demo_inputs(Path(sys.argv[2])):
        print(f"wrote {made}")
