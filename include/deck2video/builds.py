"""Click builds: a slide's entrance animations -> the steps a presenter clicks through.

A slide's timing tree (``p:timing``) holds a main sequence of groups; a group that waits for a
click (``delay="indefinite"``) starts a new step, and everything in it ("with previous",
"after previous", timed delays) belongs to that step. An entrance effect (``presetClass="entr"``)
on a shape, or on a range of its paragraphs (``p:txEl/p:pRg``, as ``bldP`` builds by paragraph
write it), makes that content invisible until its step. Exit, emphasis and motion effects are
not played: their shapes stay as laid out, the slide's static state.

Step ``k`` of a slide is the content visible after ``k`` clicks; the last step is the slide as
it is rendered without builds. The steps are rendered in one LibreOffice call from a derived
deck (:func:`write_steps_deck`) in which each shown slide appears once per step, with what is
not yet visible hidden (shapes: ``hidden``; paragraphs: transparent text and bullets, so they
keep their space, as in PowerPoint).

A timing tree this reader does not understand leaves the slide as one still, with a warning;
it never fails the job. Only a breach of the step caps does (an ``InputError`` naming the
slide), checked while counting, before anything else is read.

About 400 lines: reading the timing tree and writing the derived deck are two halves of one
format (the same element names and step numbering); splitting them would split that knowledge.
"""

from __future__ import annotations

import copy
import posixpath
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from deck2video.errors import InputError

P = "http://schemas.openxmlformats.org/presentationml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
NS = {"p": P, "a": A, "r": R}
SLIDE_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.slide+xml"
SLIDE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide"
# Parsing refuses entities and network access: a deck is an untrusted document.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
# Where a fill may sit in a run's properties (a:rPr): before everything but a:ln.
_RUN_EFFECTS = ("ln", "noFill", "solidFill", "gradFill", "blipFill", "pattFill", "grpFill",
                "effectLst", "effectDag", "highlight")  # fmt: skip
# What may come before a bullet colour in a paragraph's properties (a:pPr).
_BEFORE_BULLET_COLOUR = ("lnSpc", "spcBef", "spcAft")
_TRANSPARENT = f'<a:srgbClr xmlns:a="{A}" val="000000"><a:alpha val="0"/></a:srgbClr>'


class NotUnderstood(Exception):
    """A timing tree outside what this reader handles: the slide is shown as one still."""


@dataclass(frozen=True)
class Reveal:
    """What an entrance effect reveals: a whole shape, or its paragraphs ``first``..``last``."""

    shape_id: str
    first: int | None = None
    last: int | None = None


@dataclass(frozen=True)
class SlideBuild:
    """One shown slide's builds: ``reveals[k]`` appear at step ``k + 1`` (step 0: no click)."""

    part: str  # e.g. ppt/slides/slide3.xml
    reveals: tuple[tuple[Reveal, ...], ...] = ()
    warning: str | None = None  # why its animations were not understood, if they were not

    @property
    def steps(self) -> int:
        return len(self.reveals) + 1


@dataclass(frozen=True)
class BuildPlan:
    slides: tuple[SlideBuild, ...]  # one per shown slide, in order
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def steps(self) -> tuple[int, ...]:
        return tuple(slide.steps for slide in self.slides)

    @property
    def pages(self) -> int:
        return sum(self.steps)

    @property
    def any_builds(self) -> bool:
        return self.pages > len(self.slides)


def plan_builds(
    deck: Path,
    shown: Sequence[int],
    *,
    max_steps_per_slide: int,
    max_steps_per_deck: int,
    label: str,
) -> BuildPlan:
    """The builds of the deck's shown slides (``shown``: their 1-based positions).

    Raises InputError when a slide has more steps than ``max_steps_per_slide``, or the deck more
    than ``max_steps_per_deck``; every other problem makes a slide one still, with a warning.
    """
    slides, warnings, total = [], [], 0
    with zipfile.ZipFile(deck) as archive:
        parts = slide_parts(archive)
        for index in shown:
            part = parts[index - 1]
            try:
                build = read_slide_build(
                    archive, part, max_steps=max_steps_per_slide, label=f"{label}: slide {index}"
                )
            except NotUnderstood as problem:
                build = SlideBuild(part, warning=str(problem))
                warnings.append(
                    f"slide {index}: its animations were not understood ({problem}); "
                    "shown as one still"
                )
            total += build.steps
            if total > max_steps_per_deck:
                raise InputError(
                    f"{label}: slide {index} brings the deck to more than {max_steps_per_deck} "
                    "build steps (setting max_steps_per_deck)"
                )
            slides.append(build)
    return BuildPlan(tuple(slides), tuple(warnings))


def no_builds(count: int) -> BuildPlan:
    """Every shown slide as one still (builds turned off)."""
    return BuildPlan(tuple(SlideBuild("") for _ in range(count)))


def slide_parts(archive: zipfile.ZipFile) -> list[str]:
    """The deck's slide parts in presentation order."""
    presentation = _parse(archive, "ppt/presentation.xml")
    targets = _relationship_targets(archive, "ppt/presentation.xml")
    ids = presentation.findall(f"{{{P}}}sldIdLst/{{{P}}}sldId")
    return [targets[sld.get(f"{{{R}}}id")] for sld in ids]


def read_slide_build(
    archive: zipfile.ZipFile, part: str, *, max_steps: int, label: str
) -> SlideBuild:
    """One slide's click steps; NotUnderstood for a tree outside what is handled."""
    try:
        slide = _parse(archive, part)
    except (KeyError, etree.XMLSyntaxError) as error:
        raise NotUnderstood(f"unreadable slide part: {type(error).__name__}") from None
    main = slide.find(f"{{{P}}}timing//{{{P}}}cTn[@nodeType='mainSeq']")
    if main is None:
        return SlideBuild(part)
    groups = main.findall(f"{{{P}}}childTnLst/{{{P}}}par")
    clicks = sum(1 for group in groups if _waits_for_click(group))
    if clicks + 1 > max_steps:  # counted before anything else is read: a hostile tree is fast
        raise InputError(
            f"{label} has {clicks + 1} build steps; the limit is {max_steps} "
            "(setting max_steps_per_slide)"
        )
    steps: list[list[Reveal]] = [[]]
    for group in groups:
        if _waits_for_click(group):
            steps.append([])
        steps[-1] += _entrances(group)
    shapes = _shape_paragraphs(slide)
    for reveal in (r for step in steps for r in step):
        _check_target(reveal, shapes)
    # Content revealed at step 0 (timed, no click) is simply visible; later clicks that reveal
    # nothing new (exits, emphasis) are not steps of their own.
    revealed = tuple(tuple(step) for step in steps[1:] if step)
    return SlideBuild(part, revealed)


def _waits_for_click(group: etree._Element) -> bool:
    delays = group.xpath("./p:cTn/p:stCondLst/p:cond/@delay", namespaces=NS)
    return "indefinite" in delays


def _entrances(group: etree._Element) -> list[Reveal]:
    reveals = []
    for effect in group.iter(f"{{{P}}}cTn"):
        if effect.get("presetClass") != "entr":
            continue
        targets = {
            _reveal(target) for target in effect.iter(f"{{{P}}}tgtEl") if len(target)
        }  # every behaviour of an effect names the same target
        if len(targets) != 1:
            raise NotUnderstood(f"an entrance effect with {len(targets)} targets")
        reveals.append(targets.pop())
    return reveals


def _reveal(target: etree._Element) -> Reveal:
    shape = target.find(f"{{{P}}}spTgt")
    if shape is None or len(target) != 1:
        kinds = ", ".join(etree.QName(child).localname for child in target)
        raise NotUnderstood(f"an entrance effect on {kinds or 'nothing'}")
    shape_id = shape.get("spid", "")
    if len(shape) == 0:
        return Reveal(shape_id)
    paragraphs = shape.find(f"{{{P}}}txEl/{{{P}}}pRg")
    if paragraphs is None or len(shape) != 1:
        kinds = ", ".join(etree.QName(child).localname for child in shape.iter())
        raise NotUnderstood(f"an entrance effect on part of a shape ({kinds})")
    try:
        first, last = int(paragraphs.get("st", "")), int(paragraphs.get("end", ""))
    except ValueError:
        raise NotUnderstood("a paragraph range that is not numbers") from None
    return Reveal(shape_id, first, last)


def _shape_paragraphs(slide: etree._Element) -> dict[str, int]:
    """Each shape's id -> how many paragraphs its text has (0 without text)."""
    found = {}
    for props in slide.iterfind(f"{{{P}}}cSld/{{{P}}}spTree//{{{P}}}cNvPr"):
        shape = props.getparent().getparent()
        found[props.get("id", "")] = len(shape.findall(f"{{{P}}}txBody/{{{A}}}p"))
    return found


def _check_target(reveal: Reveal, shapes: dict[str, int]) -> None:
    if reveal.shape_id not in shapes:
        shape = reveal.shape_id[:20]
        raise NotUnderstood(f"an entrance effect on shape {shape!r}, which is not on the slide")
    if reveal.first is None:
        return
    count = shapes[reveal.shape_id]
    if not 0 <= reveal.first <= reveal.last < count:  # type: ignore[operator]
        raise NotUnderstood(
            f"paragraphs {reveal.first}-{reveal.last} of shape {reveal.shape_id}, which has {count}"
        )


# --- the derived deck ----------------------------------------------------------------------------


def write_steps_deck(deck: Path, plan: BuildPlan, dest: Path) -> Path:
    """A copy of ``deck`` in which each slide with builds appears once per step, in order.

    Earlier steps are new slide parts inserted before the slide, which stays as the last step;
    each shares the slide's relationships (layout, pictures) but not its notes.
    """
    with zipfile.ZipFile(deck) as source:
        presentation = _parse(source, "ppt/presentation.xml")
        pres_rels = _parse(source, "ppt/_rels/presentation.xml.rels")
        types = _parse(source, "[Content_Types].xml")
        targets = {v: k for k, v in _relationship_targets(source, "ppt/presentation.xml").items()}
        new_parts: dict[str, bytes] = {}
        names = set(source.namelist())
        for build in plan.slides:
            if build.steps == 1:
                continue
            slide = _parse(source, build.part)
            rels_name = _rels_name(build.part)
            rels = _parse(source, rels_name) if rels_name in names else None
            sld_id = presentation.find(
                f"{{{P}}}sldIdLst/{{{P}}}sldId[@{{{R}}}id='{targets[build.part]}']"
            )
            for step in range(build.steps - 1):
                part = _free_name(names, build.part, step)
                names.add(part)
                new_parts[part] = _step_slide(slide, build, step)
                if rels is not None:
                    new_parts[_rels_name(part)] = _without_notes(rels)
                rel_id = _add_relationship(pres_rels, posixpath.relpath(part, "ppt"))
                sld_id.addprevious(_new_slide_id(presentation, rel_id))
                etree.SubElement(
                    types,
                    f"{{{TYPES}}}Override",
                    PartName=f"/{part}",
                    ContentType=SLIDE_TYPE,
                )
        new_parts["ppt/presentation.xml"] = _serialise(presentation)
        new_parts["ppt/_rels/presentation.xml.rels"] = _serialise(pres_rels)
        new_parts["[Content_Types].xml"] = _serialise(types)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
            for info in source.infolist():
                if info.filename not in new_parts:
                    out.writestr(info, source.read(info))
            for name, data in new_parts.items():
                out.writestr(name, data)
    return dest


def _step_slide(slide: etree._Element, build: SlideBuild, step: int) -> bytes:
    """The slide as it looks at ``step``: what later steps reveal is hidden, its space kept."""
    copied = copy.deepcopy(slide)
    shapes = {
        props.get("id"): props
        for props in copied.iterfind(f"{{{P}}}cSld/{{{P}}}spTree//{{{P}}}cNvPr")
    }
    for reveal in (r for later in build.reveals[step:] for r in later):
        props = shapes[reveal.shape_id]
        if reveal.first is None:
            props.set("hidden", "1")
            continue
        paragraphs = props.getparent().getparent().findall(f"{{{P}}}txBody/{{{A}}}p")
        for paragraph in paragraphs[reveal.first : reveal.last + 1]:  # type: ignore[operator]
            _make_transparent(paragraph)
    timing = copied.find(f"{{{P}}}timing")
    if timing is not None:  # the step is a still: nothing left to animate
        copied.remove(timing)
    return _serialise(copied)


def _make_transparent(paragraph: etree._Element) -> None:
    """Text and bullet drawn fully transparent: laid out exactly as before, but unseen."""
    for props in paragraph.xpath("./a:r/a:rPr | ./a:fld/a:rPr", namespaces=NS):
        _transparent_run(props)
    for run in paragraph.xpath("./a:r[not(a:rPr)] | ./a:fld[not(a:rPr)]", namespaces=NS):
        run.insert(0, etree.Element(f"{{{A}}}rPr"))
        _transparent_run(run[0])
    props = paragraph.find(f"{{{A}}}pPr")
    if props is None:
        props = etree.Element(f"{{{A}}}pPr")
        paragraph.insert(0, props)
    for old in props.xpath("./a:buClr | ./a:buClrTx", namespaces=NS):
        props.remove(old)
    colour = etree.Element(f"{{{A}}}buClr")
    colour.append(etree.fromstring(_TRANSPARENT))
    before = [c for c in props if etree.QName(c).localname in _BEFORE_BULLET_COLOUR]
    props.insert(props.index(before[-1]) + 1 if before else 0, colour)


def _transparent_run(props: etree._Element) -> None:
    for old in list(props):
        if etree.QName(old).localname in _RUN_EFFECTS:
            props.remove(old)
    fill = etree.Element(f"{{{A}}}solidFill")
    fill.append(etree.fromstring(_TRANSPARENT))
    props.insert(0, fill)


def _without_notes(rels: etree._Element) -> bytes:
    copied = copy.deepcopy(rels)
    for rel in list(copied):
        if rel.get("Type", "").endswith("/notesSlide"):
            copied.remove(rel)
    return _serialise(copied)


def _add_relationship(rels: etree._Element, target: str) -> str:
    taken = {rel.get("Id") for rel in rels}
    number = len(taken) + 1
    while f"rId{number}" in taken:
        number += 1
    etree.SubElement(
        rels, f"{{{RELS}}}Relationship", Id=f"rId{number}", Type=SLIDE_REL, Target=target
    )
    return f"rId{number}"


def _new_slide_id(presentation: etree._Element, rel_id: str) -> etree._Element:
    ids = presentation.findall(f"{{{P}}}sldIdLst/{{{P}}}sldId")
    element = etree.Element(f"{{{P}}}sldId")
    element.set("id", str(max(int(s.get("id", "255")) for s in ids) + 1))
    element.set(f"{{{R}}}id", rel_id)
    return element


def _free_name(names: set[str], part: str, step: int) -> str:
    stem = part.removesuffix(".xml")
    candidate, extra = f"{stem}-step{step}.xml", 0
    while candidate in names:
        extra += 1
        candidate = f"{stem}-step{step}-{extra}.xml"
    return candidate


def _rels_name(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def _relationship_targets(archive: zipfile.ZipFile, part: str) -> dict[str, str]:
    """A part's relationship ids -> the parts they point at (normalised zip names)."""
    rels = _parse(archive, _rels_name(part))
    folder = posixpath.dirname(part)
    return {
        rel.get("Id", ""): _resolve(folder, rel.get("Target", ""))
        for rel in rels
        if rel.get("TargetMode") != "External"
    }


def _resolve(folder: str, target: str) -> str:
    """A relationship's target as a zip name: relative to the part's folder, or from the root."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(folder, target))


def _parse(archive: zipfile.ZipFile, part: str) -> etree._Element:
    return etree.fromstring(archive.read(part), _PARSER)


def _serialise(element: etree._Element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", standalone=True)
