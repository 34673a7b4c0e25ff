"""The operator's extra fonts (DECK2VIDEO_FONTS_DIR): a folder, or an S3 prefix fetched once into
a cache keyed by its listing (a real S3 server, real fontTools checks, a real render)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deck2video import storage
from deck2video.config import Deployment, Limits
from deck2video.fonts import font_set_for
from tests.support.font_decks import deck_with_runs, font_named, render

FACE = "Operator Corporate Face"


def put(url: str, data: bytes) -> None:
    storage.write_bytes(url, data)


def fonts_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".ttf", ".otf", ".ttc"))


def test_an_s3_prefix_is_fetched_checked_and_drawn_with(
    s3_bucket: str, scratch_dir: Path, tmp_path: Path
) -> None:
    prefix = f"s3://{s3_bucket}/fonts"
    put(f"{prefix}/corporate.ttf", font_named(FACE))
    put(f"{prefix}/broken.ttf", b"\x00\x01\x00\x00" + bytes(300))
    put(f"{prefix}/README.txt", b"our brand fonts")
    deployment = Deployment(fonts_dir=prefix)

    font_set = font_set_for(deployment)
    (folder,) = font_set.extra
    assert fonts_in(folder) == ["font-0003.ttf"]  # listed by name: README, broken, corporate
    assert len(font_set.warnings) == 2, font_set.warnings
    assert all("skipped" in w and "\n" not in w for w in font_set.warnings)
    assert any(f"{prefix}/broken.ttf" in w for w in font_set.warnings)
    assert any(f"{prefix}/README.txt" in w for w in font_set.warnings)
    assert not any("our brand" in w for w in font_set.warnings)  # no byte of a file in a message

    deck = deck_with_runs(tmp_path / "corporate.pptx", [(FACE, "Set in the operator's face")])
    fonts = render(deck, tmp_path / "out", font_set)
    (slide,) = fonts.report.slides
    assert [(u.asked, u.kind) for u in slide.faces] == [(FACE, "same")]
    assert "OperatorCorporateFace" in slide.pdf_fonts
    assert fonts.report.warnings == list(font_set.warnings)


def test_the_same_listing_is_fetched_once_and_a_new_one_changes_the_key(
    s3_bucket: str, scratch_dir: Path
) -> None:
    prefix = f"s3://{s3_bucket}/corporate-fonts"
    put(f"{prefix}/a.ttf", font_named(FACE))
    deployment = Deployment(fonts_dir=prefix)
    first = font_set_for(deployment)
    (folder,) = first.extra
    fetched = (folder / "font-0001.ttf").stat().st_mtime_ns

    again = font_set_for(deployment)
    assert again.extra == first.extra
    assert (folder / "font-0001.ttf").stat().st_mtime_ns == fetched  # not written again
    assert again.fingerprint() == first.fingerprint()

    put(f"{prefix}/b.ttf", font_named("Another Corporate Face"))
    added = font_set_for(deployment)
    assert added.extra != first.extra
    assert fonts_in(added.extra[0]) == ["font-0001.ttf", "font-0002.ttf"]
    assert added.fingerprint() != first.fingerprint()
    cache = folder.parent
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        (folder.name, added.extra[0].name)
    )  # no staging folder left behind


def test_a_font_over_the_size_limit_is_skipped(s3_bucket: str, scratch_dir: Path) -> None:
    prefix = f"s3://{s3_bucket}/fonts"
    data = font_named(FACE)
    put(f"{prefix}/big.ttf", data)
    font_set = font_set_for(Deployment(fonts_dir=prefix, limits=Limits(max_entry_bytes=1000)))
    assert fonts_in(font_set.extra[0]) == []
    (warning,) = font_set.warnings
    assert "big.ttf: skipped, larger than DECK2VIDEO_MAX_ENTRY_BYTES" in warning


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("fonts-nobody-made", "no objects under this prefix"),
        ("fonts/../jobs", "'..'"),
    ],
)
def test_an_s3_prefix_that_names_no_fonts_is_the_operators_error(
    s3_bucket: str, scratch_dir: Path, where: str, expected: str
) -> None:
    setting = f"s3://{s3_bucket}/{where}"
    with pytest.raises(ValueError, match="DECK2VIDEO_FONTS_DIR") as failure:
        font_set_for(Deployment(fonts_dir=setting))
    assert expected in str(failure.value)
    assert "\n" not in str(failure.value)


def test_a_bucket_that_does_not_exist_is_the_operators_error(
    s3_bucket: str, scratch_dir: Path
) -> None:
    with pytest.raises(ValueError, match="no such bucket"):
        font_set_for(Deployment(fonts_dir="s3://no-bucket-of-that-name/fonts"))


def test_a_folder_that_does_not_exist_is_the_operators_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-fonts"
    with pytest.raises(ValueError, match=r"^DECK2VIDEO_FONTS_DIR=") as failure:
        font_set_for(Deployment(fonts_dir=str(missing)))
    assert str(failure.value) == f"DECK2VIDEO_FONTS_DIR={str(missing)!r}: not a folder"
