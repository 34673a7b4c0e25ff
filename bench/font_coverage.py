"""How many deck-typeface pairs of a folder of real decks resolve to the face itself or a
metric-compatible one: with the machine's old font set (DejaVu only, the system's rules) and
with the project's (:mod:`deck2video.fonts`); and which CJK decks keep characters no font draws.

    .venv/bin/python -m bench.font_coverage /work/corpus
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from deck2video.config import Limits
from deck2video.fontreport import deck_text_runs
from deck2video.fonts import (
    FC_LIST,
    FC_MATCH,
    PROJECT_FONT_DIRS,
    _coverage,
    _drawn,
    _pattern,
    classify,
    config_xml,
)

_OLD_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/libreoffice")
_CJK = range(0x2E80, 0xA000)


def old_config(work: Path) -> str:
    dirs = "".join(f"<dir>{d}</dir>" for d in _OLD_DIRS)
    return (
        f'<?xml version="1.0"?>\n<fontconfig>{dirs}<cachedir>{work}/old-cache</cachedir>'
        '<include ignore_missing="yes">/etc/fonts/conf.d</include></fontconfig>\n'
    )


def resolver(config: Path) -> tuple[Callable[[str], str], set[int]]:
    env = {**os.environ, "FONTCONFIG_FILE": str(config)}
    memo: dict[str, str] = {}

    def resolve(face: str) -> str:
        if face not in memo:
            memo[face] = subprocess.run(
                [FC_MATCH, "-f", "%{family[0]}", _pattern(face)],
                env=env, capture_output=True, text=True, timeout=30, check=True,
            ).stdout  # fmt: skip
        return memo[face]

    covered = subprocess.run(
        [FC_LIST, "-f", "%{charset}\n"], env=env, capture_output=True, text=True, timeout=60,
        check=True,
    ).stdout  # fmt: skip
    return resolve, _coverage(covered)


def main(folder: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "old.conf").write_text(old_config(work))
        (work / "new.conf").write_text(config_xml(PROJECT_FONT_DIRS, (work / "new-cache",)))
        old, _ = resolver(work / "old.conf")
        new, covered = resolver(work / "new.conf")
        pairs: set[tuple[str, str]] = set()
        cjk_decks, cjk_missing, failed = 0, [], 0
        for deck in sorted(Path(folder).glob("*.pptx")):
            try:
                slides = deck_text_runs(deck, include_hidden=True, limits=Limits())
            except Exception:
                failed += 1
                continue
            pairs.update((deck.name, face) for s in slides for face in s.faces)
            text = "".join(s.text for s in slides)
            if any(ord(c) in _CJK for c in text):
                cjk_decks += 1
                missing = {c for c in text if _drawn(c) and ord(c) not in covered}
                if missing:
                    cjk_missing.append((deck.name, len(missing)))
        faces = sorted({face for _, face in pairs})
        for label, resolve in (("before", old), ("after", new)):
            good = [p for p in pairs if classify(p[1], resolve(p[1])) in ("same", "metric")]
            print(f"{label}: {len(good)} of {len(pairs)} deck-typeface pairs "
                  f"({100 * len(good) / max(1, len(pairs)):.0f}%) resolve to the face or a "
                  "metric-compatible one")  # fmt: skip
        print(f"{len(faces)} distinct typefaces; {failed} decks unreadable")
        print(f"CJK decks: {cjk_decks}; with characters no font draws: {cjk_missing}")
        for face in faces:
            print(f"  {face!r}: before {old(face)!r}, after {new(face)!r} "
                  f"({classify(face, new(face))}), in "
                  f"{sum(1 for _, f in pairs if f == face)} decks")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/corpus")
