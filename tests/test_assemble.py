"""Assembling stills + narration into the MP4, checked with real ffmpeg/ffprobe."""

from __future__ import annotations

import math
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deck2video import assemble
from deck2video.assemble import SlideClip, Video, assemble_video
from deck2video.captions import LINE_CHARS, Cue
from deck2video.errors import InputError, ProcessingError
from tests.support import media
from tests.support.bad_files import write_wav
from tests.support.media import sound, write_png

RATE = 24_000
SIZE = (640, 360)
PADDING = 0.4
MIN_SLIDE = 1.5
FRAME = 1 / 25  # the video's steady frame rate
GRID = 0.64  # slides last multiples of 16 frames (15 AAC frames)
MS = 0.0011  # boundaries are exact (on the slide grid), to the millisecond


@dataclass(frozen=True)
class Spec:
    colour: tuple[int, int, int]
    seconds: float  # narration length
    sound: str  # "tone", "noise" or "silence"
    title: str
    cues: tuple[Cue, ...] = ()


SPECS = (
    Spec(
        (200, 30, 30),
        2.0,
        "tone",
        'Intro; "costs" = #1 \\ ok\nsecond line',
        (
            Cue(0.0, 1.0, "First sentence."),
            Cue(1.0, 2.0, "The second one is longer, so it has to wrap onto two lines."),
        ),
    ),
    Spec((30, 180, 40), 0.3, "noise", "Short slide", (Cue(0.0, 0.3, "Short."),)),
    Spec((30, 40, 200), 0.0, "silence", "Silent"),
    Spec((230, 210, 40), 1.5, "tone", "Ünïcode — end", (Cue(0.0, 1.5, "Last words."),)),
)


# ---------------------------------------------------------------- inputs


def make_clips(
    folder: Path, specs: tuple[Spec, ...] = SPECS, size: tuple[int, int] = SIZE
) -> list[SlideClip]:
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for n, spec in enumerate(specs, start=1):
        image = write_png(folder / f"{n:04d}.png", spec.colour, size)
        audio = write_wav(folder / f"{n:04d}.wav", sound(spec.sound, spec.seconds, seed=n), RATE)
        clips.append(SlideClip(image=image, audio=audio, title=spec.title, cues=spec.cues))
    return clips


def corrupt_pixels_keep_crc(path: Path) -> Path:
    """Scramble the image data but fix up the chunk CRCs, so only a real decode notices."""
    data = bytearray(path.read_bytes())
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = bytes(data[at + 4 : at + 8])
        if kind == b"IDAT":
            body = bytes(np.random.default_rng(1).integers(0, 256, length, dtype=np.uint8))
            data[at + 8 : at + 8 + length] = body
            data[at + 8 + length : at + 12 + length] = struct.pack(">I", zlib.crc32(kind + body))
        at += 12 + length
    path.write_bytes(bytes(data))
    return path


# ---------------------------------------------------------------- the assembled sample


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Video:
    folder = tmp_path_factory.mktemp("assemble")
    clips = make_clips(folder / "inputs")
    return assemble_video(
        clips, folder / "out", padding=PADDING, min_slide_seconds=MIN_SLIDE, timeout=120
    )


def on_grid(seconds: float) -> float:
    return max(1, math.ceil(round(seconds / GRID, 6))) * GRID


def expected_length(spec: Spec) -> float:
    return on_grid(max(2 * PADDING + spec.seconds, MIN_SLIDE))


def test_intervals_are_narration_plus_padding_back_to_back(made: Video) -> None:
    assert len(made.intervals) == len(SPECS)
    assert made.intervals[0][0] == 0
    for (start, end), spec in zip(made.intervals, SPECS, strict=True):
        assert end - start == pytest.approx(expected_length(spec), abs=MS)
    for before, after in zip(made.intervals, made.intervals[1:], strict=False):
        assert before[1] == after[0]
    assert made.duration == made.intervals[-1][1]


def test_min_slide_seconds_extends_short_slides(made: Video) -> None:
    short, silent = made.intervals[1], made.intervals[2]
    assert short[1] - short[0] == pytest.approx(on_grid(MIN_SLIDE), abs=MS)
    assert silent[1] - silent[0] == pytest.approx(on_grid(MIN_SLIDE), abs=MS)


def test_output_has_h264_aac_and_a_caption_track(made: Video) -> None:
    streams = media.ffprobe(made.path, "-show_streams")["streams"]
    by_type = {}
    for stream in streams:
        by_type.setdefault(stream["codec_type"], []).append(stream)
    (video,) = by_type["video"]
    (audio,) = by_type["audio"]
    (subtitle,) = by_type["subtitle"]
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    assert (video["width"], video["height"]) == SIZE
    assert int(video["level"]) <= 42  # a level every player decodes
    assert video["r_frame_rate"] == video["avg_frame_rate"] == "25/1"  # a steady rate
    assert (audio["codec_name"], audio["channels"]) == ("aac", 1)
    assert subtitle["codec_name"] == "mov_text"
    assert subtitle["tags"]["language"] == "eng"


def test_video_and_audio_last_exactly_the_sum_of_intervals(made: Video) -> None:
    info = media.ffprobe(made.path, "-show_streams", "-show_format")
    total = sum(end - start for start, end in made.intervals)
    assert float(info["format"]["duration"]) == pytest.approx(total, abs=FRAME)
    for stream in info["streams"]:
        if stream["codec_type"] in ("video", "audio"):
            assert float(stream["duration"]) == pytest.approx(total, abs=0.002), stream
    # Sample-exact: the slides' AAC frames end where the last slide does.
    assert len(media.decoded_audio(made.path, RATE)) == round(total * RATE)


def test_one_chapter_per_slide_with_its_title_and_interval(made: Video) -> None:
    chapters = media.chapters(media.ffprobe(made.path, "-show_chapters"))
    assert [title for _, _, title in chapters] == [s.title for s in SPECS]
    for (chapter_start, chapter_end, _), (start, end) in zip(chapters, made.intervals, strict=True):
        assert chapter_start == pytest.approx(start, abs=MS)
        assert chapter_end == pytest.approx(end, abs=MS)


def test_each_interval_shows_its_slide_from_first_to_last_frame(
    made: Video, tmp_path: Path
) -> None:
    for (start, end), spec in zip(made.intervals, SPECS, strict=True):
        for at in (start + 0.04, (start + end) / 2, end - 0.04):
            colour = media.mean_colour(media.frame_at(made.path, at, tmp_path / "frame.png"))
            assert np.abs(colour - spec.colour).max() < 12, (spec.title, at, colour)


def test_narration_sits_after_the_padding_and_silence_fills_the_rest(made: Video) -> None:
    audio = media.decoded_audio(made.path, RATE)

    def rms(a: float, b: float) -> float:
        return float(np.sqrt(np.mean(audio[round(a * RATE) : round(b * RATE)] ** 2)))

    margin = 0.05  # AAC smears transitions by a few milliseconds
    for (start, end), spec in zip(made.intervals, SPECS, strict=True):
        speech_from, speech_to = start + PADDING, start + PADDING + spec.seconds
        assert rms(start + margin, speech_from - margin) < 0.003, spec.title
        assert rms(speech_to + margin, end - margin) < 0.003, spec.title
        if spec.sound != "silence":
            assert rms(speech_from + margin, speech_to - margin) > 0.05, spec.title


def test_audio_is_normalised_to_minus_16_lufs(made: Video) -> None:
    lufs, peak = media.loudness(made.path)
    assert lufs == pytest.approx(-16.0, abs=1.0)
    assert peak < 0.0


def test_caption_track_in_the_mp4_carries_the_cues(made: Video) -> None:
    srt = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(made.path), "-map", "0:s", "-f", "srt", "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    embedded = media.read_srt(srt.replace("\r\n", "\n"))
    written = media.read_srt(made.srt.read_text(encoding="utf-8"))
    assert [c.text for c in embedded] == [c.text for c in written]
    for a, b in zip(embedded, written, strict=True):
        assert (a.start, a.end) == pytest.approx((b.start, b.end), abs=MS)


@pytest.mark.parametrize("srt", [False, True], ids=["vtt", "srt"])
def test_caption_files_place_each_cue_in_its_slide(made: Video, srt: bool) -> None:
    text = (made.srt if srt else made.vtt).read_text(encoding="utf-8")
    assert text.startswith("1\n" if srt else "WEBVTT\n")
    parsed = (media.read_srt if srt else media.read_vtt)(text)
    expected = [
        (start + PADDING + cue.start, start + PADDING + cue.end, cue.text, (start, end))
        for (start, end), spec in zip(made.intervals, SPECS, strict=True)
        for cue in spec.cues
    ]
    assert len(parsed) == len(expected)
    for cue, (start, end, words, (slide_start, slide_end)) in zip(parsed, expected, strict=True):
        assert cue.start == pytest.approx(start, abs=MS)
        assert cue.end == pytest.approx(end, abs=MS)
        assert slide_start <= cue.start < cue.end <= slide_end + MS
        assert cue.text.replace("\n", " ") == words
        lines = cue.text.split("\n")
        assert len(lines) <= 2
        assert all(len(line) <= LINE_CHARS for line in lines)
    assert any("\n" in cue.text for cue in parsed)  # the long sentence wrapped


def test_moov_index_comes_before_the_media_data(made: Video) -> None:
    boxes = media.top_level_boxes(made.path)
    assert boxes.index("moov") < boxes.index("mdat")


def test_only_the_outputs_are_left_in_the_folder(made: Video) -> None:
    assert sorted(p.name for p in made.path.parent.iterdir()) == [
        "captions.srt",
        "captions.vtt",
        "video.mp4",
    ]
    assert (made.vtt, made.srt) == (
        made.path.parent / "captions.vtt",
        made.path.parent / "captions.srt",
    )


# ---------------------------------------------------------------- other decks


def test_silent_deck_without_cues_still_makes_a_video(tmp_path: Path) -> None:
    specs = (Spec((250, 250, 250), 0.0, "silence", "A"), Spec((0, 0, 0), 0.0, "silence", "B"))
    clips = make_clips(tmp_path / "in", specs, size=(1920, 1080))
    video = assemble_video(clips, tmp_path / "out", padding=0.5, min_slide_seconds=2.0, timeout=60)
    assert video.intervals == ((0.0, 2.56), (2.56, 5.12))
    streams = media.ffprobe(video.path, "-show_streams")["streams"]
    assert sorted(s["codec_type"] for s in streams if s["codec_type"] != "data") == [
        "audio",
        "video",
    ]
    (picture,) = [s for s in streams if s["codec_type"] == "video"]
    # Full HD must claim a level every player decodes.
    assert (picture["width"], picture["height"]) == (1920, 1080)
    assert int(picture["level"]) <= 41
    assert video.vtt.read_text(encoding="utf-8") == "WEBVTT\n"
    assert video.srt.read_text(encoding="utf-8") == ""
    assert np.abs(media.decoded_audio(video.path, RATE)).max() < 0.001
    frame = media.frame_at(video.path, 3.0, tmp_path / "frame.png")
    assert np.abs(media.mean_colour(frame) - (0, 0, 0)).max() < 12


def test_loud_peaky_narration_is_limited_and_still_reaches_the_target(tmp_path: Path) -> None:
    """Quiet speech-like bursts with high peaks: the gain must not clip them."""
    rng = np.random.default_rng(3)
    t = np.arange(4 * RATE) / RATE
    bursts = rng.laplace(0, 0.01, len(t)) * ((t % 0.5) < 0.3)
    bursts[::12000] = 0.5  # plosive-like spikes far above the speech level
    image = write_png(tmp_path / "a.png", (10, 10, 10))
    audio = write_wav(tmp_path / "a.wav", bursts, RATE)
    clip = SlideClip(image, audio, "Loud", ())
    for target in (-16.0, -23.0):
        video = assemble_video(
            [clip], tmp_path / f"out{target}", padding=0.2, min_slide_seconds=0,
            timeout=60, loudness_lufs=target,
        )  # fmt: skip
        lufs, peak = media.loudness(video.path)
        assert lufs == pytest.approx(target, abs=1.0)
        assert peak < 0.0


def test_longer_deck_keeps_boundaries_exact(tmp_path: Path) -> None:
    """Many slides with odd lengths: rounding must not drift the last boundary."""
    specs = tuple(
        Spec((20 * n % 256, 90, 255 - 20 * n % 256), 0.2 + 0.0371 * n, "tone", f"S{n}")
        for n in range(12)
    )
    clips = make_clips(tmp_path / "in", specs)
    video = assemble_video(clips, tmp_path / "out", padding=0.25, min_slide_seconds=0, timeout=60)
    chapters = media.chapters(media.ffprobe(video.path, "-show_chapters"))
    packets = media.ffprobe(
        video.path, "-select_streams", "v", "-show_entries", "packet=pts_time,flags"
    )
    keyframes = [float(p["pts_time"]) for p in packets["packets"] if "K" in p["flags"]]
    starts = [start for start, _ in video.intervals]
    assert all(min(abs(k - start) for k in keyframes) < MS for start in starts)
    assert [start for start, _, _ in chapters] == pytest.approx(starts, abs=MS)
    expected_total = sum(on_grid(0.5 + len(sound("tone", s.seconds)) / RATE) for s in specs)
    assert video.duration == pytest.approx(expected_total, abs=MS)
    assert len(packets["packets"]) == round(video.duration / FRAME)
    info = media.ffprobe(video.path, "-show_format")
    assert float(info["format"]["duration"]) == pytest.approx(video.duration, abs=0.002)


# ---------------------------------------------------------------- failures


def test_corrupt_png_fails_before_ffmpeg_and_leaves_nothing(tmp_path: Path) -> None:
    clips = make_clips(tmp_path / "in", SPECS[:2])
    clips[1].image.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "out"
    with pytest.raises(ProcessingError, match=r"0002.png"):
        assemble_video(clips, out, padding=0.1, min_slide_seconds=1, timeout=60)
    assert list(out.iterdir()) == []


def test_ffmpeg_failure_leaves_no_video_and_no_temp_files(tmp_path: Path) -> None:
    clips = make_clips(tmp_path / "in", SPECS[:2])
    corrupt_pixels_keep_crc(clips[1].image)
    with Image.open(clips[1].image) as img:
        img.verify()  # passes: only decoding the pixels finds the damage
    out = tmp_path / "out"
    with pytest.raises(ProcessingError, match="ffmpeg"):
        assemble_video(clips, out, padding=0.1, min_slide_seconds=1, timeout=60)
    assert list(out.iterdir()) == []


def test_timeout_is_enforced(tmp_path: Path) -> None:
    clips = make_clips(tmp_path / "in", SPECS[:1])
    out = tmp_path / "out"
    with pytest.raises(ProcessingError, match="timed out"):
        assemble_video(clips, out, padding=0.1, min_slide_seconds=1, timeout=0.001)
    assert list(out.iterdir()) == []


def test_narration_in_another_format_is_refused(tmp_path: Path) -> None:
    clips = make_clips(tmp_path / "in", SPECS[:1])
    write_wav(clips[0].audio, sound("tone", 1.0), 44_100)
    with pytest.raises(ProcessingError, match=r"0001.wav: 44100 Hz"):
        assemble_video(clips, tmp_path / "out", padding=0.1, min_slide_seconds=1, timeout=60)


def test_slides_of_different_sizes_are_refused(tmp_path: Path) -> None:
    clips = make_clips(tmp_path / "in", SPECS[:2])
    write_png(clips[1].image, (0, 0, 0), size=(320, 180))
    with pytest.raises(ProcessingError, match="mixed sizes 320x180, 640x360"):
        assemble_video(clips, tmp_path / "out", padding=0.1, min_slide_seconds=1, timeout=60)


def test_no_slides_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no slides"):
        assemble_video([], tmp_path, padding=0.1, min_slide_seconds=1, timeout=60)


# ---------------------------------------------------------------- pieces


def test_slide_lengths_round_up_to_the_slide_grid() -> None:
    pad = 12_000  # 0.5 s
    lengths = assemble.slide_lengths_ms([24_001, 0, 10], pad, min_slide_seconds=1.2)
    assert lengths == [2560, 1280, 1280]
    assert assemble.slide_lengths_ms([0], 0, min_slide_seconds=0) == [640]


def test_chapter_titles_are_escaped_for_ffmetadata() -> None:
    clip = SlideClip(Path("x.png"), Path("x.wav"), "a=b;c#d\\e\nf", ())
    text = assemble.chapters_metadata([clip], [(0, 1500)])
    assert text.startswith(";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1500\n")
    assert "title=a\\=b\\;c\\#d\\\\e\\\nf\n" in text
