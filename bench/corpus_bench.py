"""How many real-world decks prepare accepts: the deck checks, then (``--render``) the render.

Every .pptx under a folder goes through what prepare does to a deck before any speech: the
container and content checks (:func:`deck2video.deck.open_deck`), the external links stripped or
refused as the deployment says, and with ``--render`` LibreOffice in its sandbox at a small size.
Decks that cannot become videos whatever deck2video does (a password, no shown slide) are
counted apart; the share that matters is of the others. Each refusal is listed with its reason.

    .venv/bin/python -m bench.corpus_bench /work/corpus [--render] [--external-links refuse]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import tempfile
import time
from pathlib import Path

from deck2video.config import Deployment, Limits
from deck2video.deck import open_deck, sniff_deck, strip_external
from deck2video.errors import InputError, ProcessingError
from deck2video.render import render_slides

# Refusals that no deck2video change could avoid: the deck itself has nothing to narrate, or is
# no zip that a reader can open (a text file, a zip cut short before its central directory).
_UNUSABLE = (
    "password-protected", "no shown slides", "has no slides", "old binary .ppt", "not a zip file"
)  # fmt: skip
_RENDER_SIZE = (320, 180)  # small: the page count and the sandbox matter here, not pixels


def judge(path: Path, deployment: Deployment, *, render: bool, work: Path) -> tuple[str, str]:
    """(outcome, detail): "ok", "unusable" or "refused", and why."""
    limits = deployment.limits
    try:
        problem = sniff_deck(path.read_bytes()[:8])
        if problem:
            raise InputError(f"deck {path.name}: {problem}")
        deck = open_deck(path, limits)
        shown = deck.shown()
        to_render = path
        if deck.external:
            if deployment.external_links == "refuse":
                kinds = sorted({link.kind for link in deck.external})
                return "refused", f"links to outside {', '.join(kinds)}"
            to_render = strip_external(path, work / path.name, deck.external)
        if render:
            render_slides(
                to_render,
                work / "slides",
                expected=len(shown),
                include_hidden=False,
                width=_RENDER_SIZE[0],
                height=_RENDER_SIZE[1],
                timeout=limits.soffice_timeout,
                limits=limits,
            )
        warned = f"{len(deck.external)} external link(s) stripped" if deck.external else ""
        return "ok", warned
    except InputError as error:
        reason = str(error).removeprefix(f"deck {path.name}: ")
        unusable = any(marker in reason for marker in _UNUSABLE)
        return ("unusable" if unusable else "refused"), reason
    except ProcessingError as error:
        return "refused", f"processing: {error}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--render", action="store_true", help="also render each accepted deck")
    parser.add_argument("--external-links", choices=("strip", "refuse"))
    args = parser.parse_args()
    deployment = Deployment.from_env()
    if args.external_links:
        deployment = dataclasses.replace(deployment, external_links=args.external_links)
    outcomes: collections.Counter[str] = collections.Counter()
    started = time.perf_counter()
    for path in sorted(args.folder.rglob("*.pptx")):
        with tempfile.TemporaryDirectory(prefix="corpus-") as work:
            outcome, detail = judge(path, deployment, render=args.render, work=Path(work))
        outcomes[outcome] += 1
        if outcome != "ok" or detail:
            print(f"{outcome:8} {path.name}: {detail}", flush=True)
    usable = outcomes["ok"] + outcomes["refused"]
    print(
        f"{sum(outcomes.values())} decks: {outcomes['unusable']} unusable (password, no shown "
        f"slide, no readable zip); of the {usable} others {outcomes['ok']} accepted "
        f"({100 * outcomes['ok'] / max(usable, 1):.1f}%), {outcomes['refused']} refused; "
        f"{'render included, ' if args.render else ''}{time.perf_counter() - started:.0f} s; "
        f"limits {Limits.variable('max_entry_ratio')}={deployment.limits.max_entry_ratio:g}"
    )


if __name__ == "__main__":
    main()
