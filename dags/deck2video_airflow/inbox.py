"""Which decks in an inbox prefix arrived during a time interval, and the run to start for each.

A deck ``talk.pptx`` may have a sidecar ``talk.json`` next to it with run options (the
deck_to_video params, e.g. ``{"voice_url": "voice.m4a", "speed": 1.1}``). Relative input URLs
are next to the deck, a relative ``out_url`` is in the outbox folder that mirrors the deck's
folder; an absolute one must be under the deployment's roots. Whoever may upload to the inbox
may write a sidecar, so it passes the same checks as a trigger's conf. The run id is derived
from the deck's URL, version (size, last-modified) and options, so planning the same interval
twice asks for the same runs.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from airflow.sdk import Param

from deck2video import storage
from deck2video.errors import InputError
from deck2video.params import PARAMS, check_conf
from deck2video.plaintext import for_log
from deck2video.roots import Roots

MAX_SIDECAR_BYTES = 64 * 1024
_INPUT_URLS = ("voice_url", "lexicon_url")


@dataclass
class InboxPlan:
    runs: list[dict[str, Any]] = field(default_factory=list)  # TriggerDagRunOperator kwargs
    skipped: list[str] = field(default_factory=list)  # "<deck url>: <why>"
    refused: list[str] = field(default_factory=list)  # "<deck url>: <what is wrong>"


def plan_inbox(
    inbox_url: str,
    outbox_url: str,
    voice_url: str,
    start: datetime,
    end: datetime,
    roots: Roots | None = None,
) -> InboxPlan:
    """Plan one run per deck (``*.pptx``) under ``inbox_url`` last modified in [start, end).

    Each run's conf is checked against deck_to_video's params (and ``roots``) here, so that one
    deck with bad options is reported by name instead of failing its trigger. Decks whose output
    already exists are skipped; decks with unusable options are refused.
    """
    objects = storage.list_objects(inbox_url)
    present = {obj.url for obj in objects}
    inbox_key = storage.parse(inbox_url).key.rstrip("/")
    arrived = sorted(
        (obj for obj in objects if _is_deck(obj.url) and start <= obj.modified < end),
        key=lambda obj: (obj.modified, obj.url),
    )
    plan = InboxPlan()
    for deck in arrived:
        try:
            relative = storage.parse(deck.url).key[len(inbox_key) :].lstrip("/")
            out_folder = storage.join(outbox_url, relative).rsplit("/", 1)[0]
            conf = {
                "deck_url": deck.url,
                "voice_url": voice_url,
                "out_url": storage.join(outbox_url, relative[: -len(".pptx")] + ".mp4"),
                **_sidecar_options(deck.url, present, out_folder),
            }
            check_conf(conf, roots)
            validate_run_conf(conf)
        except Exception as error:  # one bad deck must not hold up the others
            plan.refused.append(f"{for_log(deck.url)}: {for_log(' '.join(str(error).split()))}")
            continue
        if storage.exists(conf["out_url"]):
            plan.skipped.append(f"{for_log(deck.url)}: {for_log(conf['out_url'])} already exists")
            continue
        version = json.dumps(
            [deck.url, deck.size, deck.modified.isoformat(), conf], sort_keys=True, default=str
        )
        plan.runs.append({"trigger_run_id": run_id_for(deck.url, version), "conf": conf})
    return plan


def validate_run_conf(conf: dict[str, Any]) -> None:
    """Check a planned run's conf against deck_to_video's params, as its trigger will."""
    for name, spec in PARAMS.items():
        param = Param(**spec)
        try:
            param.resolve(conf[name]) if name in conf else param.resolve()
        except ValueError as error:  # ParamValidationError; its first line says what is wrong
            raise InputError(f"param {name}: {str(error).splitlines()[0]}") from None


def run_id_for(deck_url: str, version: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", PurePosixPath(deck_url).stem).strip("-")[:40] or "deck"
    return f"inbox__{stem}__{hashlib.sha256(version.encode()).hexdigest()[:20]}"


def _is_deck(url: str) -> bool:
    name = PurePosixPath(url).name
    return name.lower().endswith(".pptx") and not name.startswith("~$")  # PowerPoint lock file


def _sidecar_options(deck_url: str, present: set[str], out_folder: str) -> dict[str, Any]:
    sidecar = deck_url[: -len(".pptx")] + ".json"
    if sidecar not in present:
        return {}
    try:
        options = json.loads(storage.read_bytes(sidecar, max_bytes=MAX_SIDECAR_BYTES))
    except ValueError as error:  # a JSONDecodeError, or a UnicodeDecodeError (not text)
        line = f" (line {error.lineno})" if isinstance(error, json.JSONDecodeError) else ""
        raise InputError(f"sidecar {sidecar}: not JSON{line}") from None
    if not isinstance(options, dict):
        raise InputError(f"sidecar {sidecar}: must be a JSON object of run options")
    if "deck_url" in options:
        raise InputError(f"sidecar {sidecar}: may not name another deck (deck_url)")
    folder = deck_url.rsplit("/", 1)[0]
    for name in (*_INPUT_URLS, "out_url"):
        value = options.get(name)
        if isinstance(value, str) and value and not value.startswith(("/", "s3://", "file://")):
            # Relative: inputs next to the deck, the video in the outbox.
            options[name] = storage.join(out_folder if name == "out_url" else folder, value)
    return options
