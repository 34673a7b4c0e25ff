"""The soundtrack: a slide's sound encoded alone, segments joined sample-exactly, only missing
segments encoded; loudness and the limiter. Real ffmpeg encodes and decodes every track."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from deck2video import soundtrack
from deck2video.audio import write_wav
from deck2video.errors import ProcessingError
from deck2video.job.cache import SegmentStore
from deck2video.job.layout import Caches
from deck2video.soundtrack import AAC_FRAME, Slide, Soundtrack
from tests.support import media

RATE = 24_000
GRID = 15_360  # samples in 640 ms: the slide grid


def narration(seconds: float, frequency: float) -> np.ndarray:
    return np.round(media.tone(seconds, frequency) * 32767).astype(np.int16)


def slides(pad: int = RATE // 2) -> list[Slide]:
    spoken = [narration(1.3, 220.0), narration(0.4, 330.0), narration(2.1, 150.0)]
    return [Slide(n, pad, -(-(len(n) + 2 * pad) // GRID) * GRID) for n in spoken]


def build(made: list[Slide], work: Path, store) -> Soundtrack:
    return soundtrack.build(
        made, work, loudness_lufs=-16.0, timeout=60, what="test", limits=None, pieces=store
    )


def decoded(track: Soundtrack, tmp_path: Path) -> np.ndarray:
    """The soundtrack as a player hears it: muxed the way the video is, then decoded."""
    out = tmp_path / f"{track.path.parent.name}.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *map(str, soundtrack.mux_inputs(track.path)),
         "-c", "copy", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    return media.decoded_audio(out, RATE)


def normalised(slide: Slide) -> np.ndarray:
    track = soundtrack.slide_track(slide)
    return track / np.abs(track).max()


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture
def store(tmp_path: Path) -> SegmentStore:
    return SegmentStore(Caches(str(tmp_path / "cache")).segment)


def test_slides_joined_from_their_own_segments_play_sample_exactly(tmp_path, store) -> None:
    made = slides()
    track = build(made, tmp_path / "first", store)
    assert track.built == (0, 1, 2)
    audio = decoded(track, tmp_path)
    assert len(audio) == sum(s.length for s in made)  # not a sample more or less
    at = 0
    for slide in made:
        heard = audio[at : at + slide.length]
        # Each narration where it belongs (a shift of one sample would cost the similarity),
        # and silence on both sides of every join.
        assert similarity(heard, normalised(slide)) > 0.999
        edges = np.r_[heard[: 2 * AAC_FRAME], heard[-2 * AAC_FRAME :]]
        assert np.abs(edges).max() < 1e-3
        at += slide.length


def test_a_rerun_encodes_only_the_slide_that_changed(tmp_path, store) -> None:
    made = slides()
    first = build(made, tmp_path / "first", store)
    again = build(made, tmp_path / "again", store)
    assert again.built == ()
    assert again.path.read_bytes() == first.path.read_bytes()
    edited = list(made)
    longer = narration(3.0, 330.0)
    edited[1] = Slide(longer, made[1].pad, -(-(len(longer) + 2 * made[1].pad) // GRID) * GRID)
    changed = build(edited, tmp_path / "edited", store)
    assert changed.built == (1,)
    before, after = decoded(first, tmp_path), decoded(changed, tmp_path)
    assert len(after) == sum(s.length for s in edited)
    # The kept slides sound the same, the last one now later by the middle slide's growth.
    assert np.allclose(after[: made[0].length], before[: made[0].length], atol=1e-4)
    assert np.allclose(after[-made[2].length :], before[-made[2].length :], atol=1e-4)
    middle = after[made[0].length : made[0].length + edited[1].length]
    assert similarity(middle, normalised(edited[1])) > 0.999


def test_padding_shorter_than_a_frame_makes_the_deck_one_segment(tmp_path, store) -> None:
    made = slides(pad=AAC_FRAME // 2)
    assert soundtrack.slide_groups(made) == [[0, 1, 2]]
    track = build(made, tmp_path / "one", store)
    assert track.built == (0, 1, 2)
    audio = decoded(track, tmp_path)
    assert len(audio) == sum(s.length for s in made)
    starts = np.cumsum([0] + [s.length for s in made])
    for slide, start in zip(made, starts, strict=False):
        assert similarity(audio[start : start + slide.length], normalised(slide)) > 0.999
    assert build(made, tmp_path / "again", store).built == ()


class Wrong:
    """A store that hands back a segment with one AAC frame missing, and says it is fine."""

    def __init__(self, real: SegmentStore) -> None:
        self.real = real

    def fetch(self, kind: str, key: str, dest: Path) -> bool:
        if not self.real.fetch(kind, key, dest):
            return False
        frames = soundtrack.adts_frames(dest.read_bytes(), what="test")
        dest.write_bytes(b"".join(frames[:-1]))
        return True

    def keep(self, kind: str, key: str, path: Path) -> None:
        self.real.keep(kind, key, path)


def test_a_kept_segment_of_the_wrong_length_is_encoded_again(tmp_path, store) -> None:
    made = slides()
    build(made, tmp_path / "first", store)
    track = build(made, tmp_path / "again", Wrong(store))
    assert track.built == (0, 1, 2)
    assert len(decoded(track, tmp_path)) == sum(s.length for s in made)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"ID3 not audio", "not one AAC frame per ADTS frame at byte 0"),
        (bytes([0xFF, 0xF1, 0x50, 0x80, 0x10, 0x1F, 0xFC]), "runs past the end"),
        (bytes([0xFF, 0xF1, 0x50, 0x80, 0x00, 0xFF, 0xFD]), "not one AAC frame"),  # 2 blocks
    ],
)
def test_adts_frames_refuses_anything_but_single_aac_frames(data: bytes, problem: str) -> None:
    with pytest.raises(ProcessingError, match=problem):
        soundtrack.adts_frames(data, what="segment")


def test_one_meter_run_gives_each_track_the_loudness_it_has_alone(tmp_path: Path) -> None:
    tracks = [
        soundtrack.slide_track(Slide(narration(seconds, f) // div, RATE // 2, length))
        for seconds, f, div, length in ((2.0, 220.0, 1, 5 * GRID), (0.6, 440.0, 8, 3 * GRID),
                                        (4.0, 150.0, 30, 8 * GRID), (0.0, 100.0, 1, GRID))
    ]  # fmt: skip
    measured = soundtrack.loudness(tracks, tmp_path, timeout=60, what="test")
    assert measured[-1] is None  # silence has no loudness to normalise
    for track, lufs in zip(tracks[:-1], measured, strict=False):
        write_wav(tmp_path / "alone.wav", track)
        assert lufs == pytest.approx(media.loudness(tmp_path / "alone.wav").integrated, abs=0.1)
    assert sorted(tmp_path.iterdir()) == [tmp_path / "alone.wav"]  # its own file is gone


def test_limiter_keeps_peaks_under_the_ceiling_and_leaves_quiet_parts_alone() -> None:
    rng = np.random.default_rng(5)
    track = rng.normal(0, 0.02, RATE * 3).astype(np.float32)
    track[RATE : RATE + 50] = 0.99  # one loud burst
    out = soundtrack.normalise(track, measured_lufs=-26.0, target_lufs=-16.0)
    assert np.abs(out).max() <= 10 ** (soundtrack.PEAK_CEILING_DBFS / 20) + 1e-6
    gain = out / np.where(track == 0, 1, track)
    far = slice(2 * RATE, 3 * RATE)
    assert np.allclose(gain[far], gain[far][0], rtol=1e-4)  # plain gain away from the burst
    near = gain[RATE - 1000 : RATE + 1000]
    assert np.abs(np.diff(near)).max() < 0.05  # ramps, not steps
    assert soundtrack.normalise(track, None, -16.0) is track
