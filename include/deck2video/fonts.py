"""The fonts slides are drawn with, and what each slide got.

The renderer (LibreOffice, in bubblewrap) sees exactly one font set: the families the project
installs (Debian packages, listed in README "Fonts"), the operator's extra fonts
(``DECK2VIDEO_FONTS_DIR``), and, for one render only, the deck's own embedded faces
(:mod:`deck2video.fontfiles`). It gets them through a fontconfig file written for that render
(``FONTCONFIG_FILE``), so a laptop's own fonts and rules never change a slide. The rules map the
names decks use to metric-compatible families (Calibri -> Carlito, Arial -> Liberation Sans, ...)
or, where no free font has the metrics, to the closest one (:data:`SUBSTITUTES`).

After the render, :func:`inspect` writes a :class:`~deck2video.fontreport.FontReport`: per slide,
each typeface the text asks for (theme fonts resolved), the face it got, and characters no font
draws.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from deck2video.config import Deployment, Limits, ToolLimits
from deck2video.errors import InputError
from deck2video.fontfiles import EmbeddedFont, extract_embedded
from deck2video.fontreport import FaceUse, FontReport, SlideFonts, deck_text_runs
from deck2video.fontsource import operator_fonts
from deck2video.procs import Sandbox, run_tool

_log = logging.getLogger(__name__)
_WINE_FONTS = "/usr/share/wine/fonts"
# Where the project's font packages put their files (Makefile APT_PACKAGES, images/airflow).
PROJECT_FONT_DIRS = tuple(
    Path(p)
    for p in (
        "/usr/share/fonts/truetype/crosextra",  # fonts-crosextra-carlito, -caladea
        "/usr/share/fonts/truetype/liberation2",  # fonts-liberation2
        "/usr/share/fonts/truetype/liberation",  # fonts-liberation (Liberation Sans Narrow)
        "/usr/share/fonts/opentype/noto",  # fonts-noto-cjk
        "/usr/share/fonts/truetype/noto",  # fonts-noto-core, fonts-noto-color-emoji
        "/usr/share/fonts/truetype/ancient-scripts",  # fonts-symbola
        "/usr/share/fonts/truetype/dejavu",  # fonts-dejavu-core
        "/usr/share/fonts/truetype/open-sans",  # fonts-open-sans
        "/usr/share/fonts/truetype/lato",  # fonts-lato
        "/usr/share/fonts/truetype/roboto/unhinted",  # fonts-roboto-unhinted
        "/usr/share/fonts/opentype/urw-base35",  # fonts-urw-base35
        "/usr/share/fonts/truetype/libreoffice",  # OpenSymbol (LibreOffice's own)
        _WINE_FONTS,  # fonts-wine: only its Tahoma is let in (config_xml)
    )
)
# fontconfig's cache of the system's font folders (made by the packages' install triggers).
_SYSTEM_CACHE = Path("/var/cache/fontconfig")
FC_MATCH = "/usr/bin/fc-match"
FC_LIST = "/usr/bin/fc-list"
PDFFONTS = "/usr/bin/pdffonts"

# Faces a deck names -> a free family with the same advance widths: text set in it wraps where
# the deck's author saw it wrap.
METRIC_COMPATIBLE = {
    "Calibri": "Carlito",
    # Calibri Light has Calibri's widths; Carlito has no Light weight, so it is drawn Regular.
    "Calibri Light": "Carlito",
    "Cambria": "Caladea",
    "Arial": "Liberation Sans",
    "Helvetica": "Liberation Sans",
    "Arial Narrow": "Liberation Sans Narrow",
    "Times New Roman": "Liberation Serif",
    "Times": "Liberation Serif",
    "Courier New": "Liberation Mono",
    "Courier": "Liberation Mono",
    "Book Antiqua": "P052",
    "Palatino Linotype": "P052",
    "Palatino": "P052",
    "Century Schoolbook": "C059",
    "New Century Schoolbook": "C059",
    "Bookman": "URW Bookman",
    # Monotype drew these to ITC's widths (a document set in one is copyfit in the other); the
    # URW fonts have the PostScript originals' metrics.
    "Bookman Old Style": "URW Bookman",
    "ITC Bookman": "URW Bookman",
    "Avant Garde": "URW Gothic",
    "ITC Avant Garde Gothic": "URW Gothic",
    "Century Gothic": "URW Gothic",
    "Zapf Chancery": "Z003",
    "Monotype Corsiva": "Z003",
    # Wine's Tahoma, drawn to Tahoma's metrics, carries the name itself (fonts-wine); its ASCII
    # widths match Tahoma's to 0.5 % of the em (README "Fonts").
    "Tahoma": "Tahoma",
    # Monospaced at 0.600 em, like Liberation Mono (every ASCII width, to 0.5 % of the em).
    "Andale Mono": "Liberation Mono",
    "Symbol": "Standard Symbols PS",
}
# Faces with no metric-compatible free font -> the closest one (README "Fonts" says why).
SUBSTITUTES = {
    "Aptos": "Liberation Sans",  # a grotesque; its widths are nearer Arial's than Calibri's
    "Aptos Display": "Liberation Sans",
    "Aptos Narrow": "Liberation Sans Narrow",
    "Segoe UI": "Open Sans",  # the same designer's humanist sans, near in width and x-height
    "Segoe UI Light": "Open Sans",
    "Segoe UI Semibold": "Open Sans",
    "Helvetica Neue": "Liberation Sans",
    "Arial Black": "Liberation Sans",
    "Verdana": "DejaVu Sans",  # both wide humanist screen faces (DejaVu is narrower)
    "Trebuchet MS": "Open Sans",
    "Gill Sans MT": "Lato",
    "Georgia": "Caladea",
    "Garamond": "P052",
    "Consolas": "Liberation Mono",
    "Lucida Console": "Liberation Mono",
    "Monaco": "Liberation Mono",
    "Segoe UI Emoji": "Symbola",
    "Apple Color Emoji": "Symbola",
    "Noto Color Emoji": "Symbola",
    "Segoe UI Symbol": "Symbola",
}
# East-Asian faces by the Noto CJK family that draws their script: the names decks use, in
# their own script too (a theme's <a:font script="Jpan" typeface="ＭＳ Ｐゴシック"/>).
_CJK_NAMES = {
    "Noto Sans CJK JP": "MS PGothic,ＭＳ Ｐゴシック,MS Gothic,ＭＳ ゴシック,Meiryo,メイリオ,"
    "Meiryo UI,Yu Gothic,游ゴシック,Yu Gothic UI,游ゴシック Light,Hiragino Sans,"
    "ヒラギノ角ゴ ProN W3",
    "Noto Serif CJK JP": "MS Mincho,ＭＳ 明朝,MS PMincho,ＭＳ Ｐ明朝,Yu Mincho,游明朝",
    "Noto Sans CJK SC": "DengXian,等线,DengXian Light,等线 Light,Microsoft YaHei,微软雅黑,"
    "Microsoft YaHei UI,SimHei,黑体,Hiragino Sans GB,Hiragino Sans GB W3,冬青黑体简体中文",
    "Noto Serif CJK SC": "SimSun,宋体,NSimSun,新宋体,FangSong,仿宋,KaiTi,楷体",
    "Noto Sans CJK TC": "Microsoft JhengHei,微軟正黑體",
    "Noto Serif CJK TC": "PMingLiU,新細明體,MingLiU,細明體",
    "Noto Sans CJK KR": "Malgun Gothic,맑은 고딕,Gulim,굴림,Dotum,돋움",
    "Noto Serif CJK KR": "Batang,바탕,Gungsuh,궁서",
}
CJK_FACES = {name: noto for noto, names in _CJK_NAMES.items() for name in names.split(",")}
# What a generic family, and a face nobody maps, falls back to, in order: then every script.
_FALLBACK = {
    "sans-serif": ("Liberation Sans", "DejaVu Sans"),
    "serif": ("Liberation Serif", "DejaVu Serif"),
    "monospace": ("Liberation Mono", "DejaVu Sans Mono"),
}
_EVERY_SCRIPT = (
    "Noto Sans CJK JP", "Noto Sans", "Noto Sans Arabic", "Noto Sans Hebrew",
    "Noto Sans Devanagari", "Noto Sans Thai", "Symbola",
)  # fmt: skip


@dataclass(frozen=True)
class FontSet:
    """The folders of fonts one deployment renders with (an operator's folder last)."""

    dirs: tuple[Path, ...] = PROJECT_FONT_DIRS
    extra: tuple[Path, ...] = ()
    # The S3 listing the extra folder was fetched from stands for its files in the fingerprint:
    # every worker that fetched the same listing renders to the same cache key.
    extra_digest: str = ""
    warnings: tuple[str, ...] = ()  # operator fonts skipped

    @property
    def folders(self) -> tuple[Path, ...]:
        return tuple(d for d in (*self.dirs, *self.extra) if d.is_dir())

    def fingerprint(self) -> str:
        """Changes when a font file or a rule changes: part of the slides' cache key."""
        scanned = [d for d in self.dirs if d.is_dir()] if self.extra_digest else self.folders
        # A folder's mtime changes when a file is added or removed: the memo's key.
        stamps = tuple((f, f.stat().st_mtime_ns) for f in scanned)
        return _fingerprint(stamps, rules_xml(), self.extra_digest)


@functools.cache
def _fingerprint(folders: tuple[tuple[Path, int], ...], rules: str, extra_digest: str) -> str:
    digest = hashlib.sha256(f"{rules}\0{extra_digest}".encode())
    for folder, _ in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


@dataclass
class FontRender:
    """One render's fonts: what the sandbox must see, and (after :meth:`inspect`) the report."""

    font_set: FontSet
    limits: Limits = field(default_factory=Limits)
    embedded: list[EmbeddedFont] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    report: FontReport | None = None
    _config: Path | None = None
    _seen: tuple[Path, ...] = ()

    def prepare(self, deck: Path, work: Path) -> tuple[dict[str, str], tuple[Path, ...]]:
        """Write the render's fontconfig file (and the deck's own faces) into ``work``;
        returns the environment soffice needs and the folders the sandbox must show it."""
        self.embedded, skipped = extract_embedded(deck, work / "fonts-embedded", self.limits)
        self.warnings = [*self.font_set.warnings, *skipped]
        (work / "fc-cache").mkdir(exist_ok=True)
        self._config = work / "fonts.conf"
        folders = (*self.font_set.folders, *([work / "fonts-embedded"] if self.embedded else []))
        self._config.write_text(
            config_xml(folders, (_SYSTEM_CACHE, work / "fc-cache"), self.embedded),
            encoding="utf-8",
        )
        seen = tuple(p for p in (*self.font_set.extra, _SYSTEM_CACHE) if p.is_dir())
        self._seen = (work, *seen)
        return {"FONTCONFIG_FILE": str(self._config)}, seen

    def inspect(self, deck: Path, pdf: Path, *, include_hidden: bool, timeout: float) -> FontReport:
        """The report of what each shown slide asked for and got (see :mod:`fontreport`)."""
        slides = deck_text_runs(deck, include_hidden=include_hidden, limits=self.limits)
        faces = sorted({face for slide in slides for face in slide.faces})
        sandbox = Sandbox(read_only=self._seen)
        env = {"FONTCONFIG_FILE": str(self._config), "PATH": "/usr/bin"}
        tool = ToolLimits(memory_mb=self.limits.poppler_memory_mb, setting="DECK2VIDEO_POPPLER")
        got = self._resolve(faces, env, timeout, tool, sandbox)
        covered = _coverage(self._fc_list(env, timeout, tool, sandbox))
        page_fonts = _pdf_fonts(pdf, len(slides), timeout, tool)
        embedded = {font.family for font in self.embedded}
        report = FontReport(embedded=sorted(embedded), warnings=list(self.warnings))
        for number, slide in enumerate(slides, start=1):
            uses = tuple(
                FaceUse(face, got.get(face, ""), classify(face, got.get(face, ""), embedded))
                for face in sorted(slide.faces)
            )
            missing = "".join(
                sorted({c for c in slide.text if _drawn(c) and ord(c) not in covered})
            )
            report.slides.append(
                SlideFonts(number, slide.index, uses, missing, tuple(page_fonts.get(number, ())))
            )
        self.report = report
        return report

    def _resolve(
        self,
        faces: list[str],
        env: dict[str, str],
        timeout: float,
        tool: ToolLimits,
        sandbox: Sandbox,
    ) -> dict[str, str]:
        if not faces:
            return {}
        script = f'for f in "$@"; do {FC_MATCH} -f "%{{family[0]}}\\n" "$f"; done'
        patterns = [_pattern(face) for face in faces]
        result = run_tool(
            ["/usr/bin/sh", "-c", script, "sh", *patterns],
            timeout=timeout, what="fonts: fc-match", env=env, limits=tool, sandbox=sandbox,
        )  # fmt: skip
        answers = result.stdout.decode(errors="replace").splitlines()
        return dict(zip(faces, answers, strict=False))

    def _fc_list(
        self, env: dict[str, str], timeout: float, tool: ToolLimits, sandbox: Sandbox
    ) -> str:
        return run_tool(
            [FC_LIST, "-f", "%{charset}\n"],
            timeout=timeout, what="fonts: fc-list", env=env, limits=tool, sandbox=sandbox,
        ).stdout.decode(errors="replace")  # fmt: skip


def classify(asked: str, got: str, embedded: Iterable[str] = ()) -> str:
    """``same``, ``metric`` (metric-compatible), ``embedded`` (the deck's own) or ``substitute``
    (a different design: text may reflow)."""
    if got.casefold() in {e.casefold() for e in embedded}:
        return "embedded"
    if _lookup(METRIC_COMPATIBLE, asked, "").casefold() == got.casefold():
        return "metric"  # before "same": a clone may carry the original's name (Tahoma)
    if got.casefold() == asked.casefold():
        return "same"
    return "substitute"


def _lookup(table: dict[str, str], name: str, default: str) -> str:
    folded = {key.casefold(): value for key, value in table.items()}
    return folded.get(name.casefold(), default)


def _pattern(face: str) -> str:
    """A family name as a fontconfig pattern (its syntax characters escaped)."""
    return "".join("\\" + c if c in "\\-:," else c for c in face)


def _drawn(char: str) -> bool:
    """A character that needs a glyph: not a control, format, space or private-use character
    (Symbol and Wingdings text sits in the private-use area and LibreOffice recodes it)."""
    import unicodedata

    return not char.isspace() and unicodedata.category(char) not in ("Cc", "Cf", "Co", "Cs")


def _coverage(fc_list_output: str) -> set[int]:
    covered: set[int] = set()
    for line in fc_list_output.splitlines():
        for item in line.split():
            first, _, last = item.partition("-")
            try:
                covered.update(range(int(first, 16), int(last or first, 16) + 1))
            except ValueError:
                continue
    return covered


def _pdf_fonts(pdf: Path, pages: int, timeout: float, tool: ToolLimits) -> dict[int, list[str]]:
    """Page -> the fonts the PDF embeds for it (subset prefixes dropped)."""
    script = f'for p in $(seq 1 {pages}); do echo "== $p"; {PDFFONTS} -f $p -l $p "$1"; done'
    out = run_tool(
        ["/usr/bin/sh", "-c", script, "sh", str(pdf)], timeout=timeout, what="fonts: pdffonts",
        limits=tool, sandbox=Sandbox(read_only=(pdf,)),
    ).stdout.decode(errors="replace")  # fmt: skip
    fonts: dict[int, list[str]] = {}
    page = 0
    for line in out.splitlines():
        if line.startswith("== "):
            page = int(line[3:])
            fonts[page] = []
        elif line and not line.startswith(("name ", "-----")):
            name = line.split()[0].split("+", 1)[-1]
            if name not in fonts[page]:
                fonts[page].append(name)
    return fonts


def rules_xml(embedded: Iterable[EmbeddedFont] = ()) -> str:
    """The fontconfig rules: each name a deck uses -> the family that draws it."""
    # First: a face that is neither installed nor named below falls back to sans-serif (the
    # aliases that follow then expand it).
    not_generic = "".join(
        f'<test qual="all" name="family" compare="not_eq"><string>{g}</string></test>'
        for g in _FALLBACK
    )
    rules = [
        f'<match target="pattern">{not_generic}'
        '<edit name="family" mode="append_last"><string>sans-serif</string></edit></match>'
    ]
    named = {**SUBSTITUTES, **METRIC_COMPATIBLE, **CJK_FACES}
    named.update({font.typeface: font.family for font in embedded})
    for name, family in sorted(named.items()):
        if name == family:
            continue  # the font carries the name itself
        rules.append(
            f'<alias binding="same"><family>{escape(name)}</family>'
            f"<accept><family>{escape(family)}</family></accept></alias>"
        )
    for generic, families in _FALLBACK.items():
        prefer = "".join(f"<family>{f}</family>" for f in (*families, *_EVERY_SCRIPT))
        rules.append(f"<alias><family>{generic}</family><prefer>{prefer}</prefer></alias>")
    return "\n".join(rules)


def config_xml(
    folders: Iterable[Path], caches: Iterable[Path], embedded: Iterable[EmbeddedFont] = ()
) -> str:
    """A whole fontconfig file: only ``folders``, the project's rules, no system settings."""
    lines = [
        '<?xml version="1.0"?>',
        '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">',
        "<fontconfig>",
        *(f"<dir>{escape(str(folder))}</dir>" for folder in folders),
        *(f"<cachedir>{escape(str(cache))}</cachedir>" for cache in caches),
        # LibreOffice 7.4 leaves colour bitmap emoji out of a PDF (the glyph is blank): the
        # monochrome Symbola draws them instead.
        "<selectfont><rejectfont><glob>*/NotoColorEmoji.ttf</glob></rejectfont></selectfont>",
        # fonts-wine's folder holds Windows bitmap faces and its own Courier and Symbol, which
        # would shadow Liberation Mono and the rules above: only its Tahoma is let in.
        f"<selectfont><acceptfont><glob>{_WINE_FONTS}/tahoma*.ttf</glob></acceptfont>"
        f"<rejectfont><glob>{_WINE_FONTS}/*</glob></rejectfont></selectfont>",
        rules_xml(embedded),
        "</fontconfig>",
    ]
    return "\n".join(lines) + "\n"


def font_set_for(deployment: Deployment) -> FontSet:
    """The project's fonts plus the operator's (``DECK2VIDEO_FONTS_DIR``: a folder or an S3
    prefix, see :mod:`deck2video.fontsource`), if any."""
    extra = operator_fonts(deployment.fonts_dir, deployment.root_url, deployment.limits)
    if extra is None:
        return FontSet()
    return FontSet(extra=(extra.folder,), extra_digest=extra.digest, warnings=extra.warnings)


def check_fonts(report: FontReport, deck_name: str, mode: str) -> None:
    """Log each problem (a substitute, a missing glyph, a skipped embedded font); in ``fail``
    mode, the first substitute or missing glyph fails the job."""
    for line in (*report.warnings, *report.problems()):
        _log.warning("deck %s: %s", deck_name, line)
    problems = report.problems()
    if mode == "fail" and problems:
        raise InputError(f"deck {deck_name}: {problems[0]} (DECK2VIDEO_FONT_CHECK=fail)")
