"""Run parameters of one deck-to-video job, as JSON schemas, and their translation to a job.

The schemas give Airflow's trigger form its fields and validate CLI/REST conf before a run is
created; the batch DAG checks a deck's sidecar options against the same schemas. This module
imports nothing from Airflow (nor jsonschema): the DAG files wrap each spec in ``Param(**spec)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from deck2video import storage
from deck2video.config import (
    MAX_TAKE,
    JobSettings,
    QualitySettings,
    Setting,
    choosable,
    quality_choosable,
)
from deck2video.errors import InputError
from deck2video.roots import Roots

# Written for both Python's re (server-side validation) and ECMAScript (the UI form): refuse a
# ".." path segment and percent-encoded dots/slashes/NUL (file:// URLs are unquoted), then
# accept an s3:// object, a file:// URL or an absolute path, without control characters.
_NO_TRICKS = r"(?!.*(?:^|/)\.\.(?:/|$))(?!.*%(?:2[eEfF]|5[cC]|00))"
_LOCATION = r"(?:s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/|file:///|/)[^\x00-\x1f]*"
URL_PATTERN = f"^{_NO_TRICKS}{_LOCATION}$"
_PPTX, _MP4 = r"\.[pP][pP][tT][xX]", r"\.mp4"
DECK_PATTERN = f"^{_NO_TRICKS}{_LOCATION}{_PPTX}$"
VIDEO_PATTERN = f"^{_NO_TRICKS}{_LOCATION}{_MP4}$"

_URL_HELP = "An s3://bucket/key URL, a file:// URL or an absolute path; '..' is not allowed."

# name -> Param(**spec): "default" and "description" are Param's own arguments, the rest is the
# JSON schema ("section" groups fields in the trigger form).
INPUTS: dict[str, dict[str, Any]] = {
    "deck_url": {
        "type": "string",
        "pattern": DECK_PATTERN,
        "title": "Deck (.pptx)",
        "description": f"The PowerPoint deck whose speaker notes are narrated. {_URL_HELP}",
        "section": "Inputs",
    },
    "voice_url": {
        "type": "string",
        "pattern": URL_PATTERN,
        "title": "Voice recording",
        "description": "A short recording of the narrator's voice (wav, mp3, m4a, flac or ogg; "
        f"at least a few seconds of speech). {_URL_HELP}",
        "section": "Inputs",
    },
    "out_url": {
        "default": None,
        "type": ["null", "string"],
        "pattern": VIDEO_PATTERN,
        "title": "Output video (.mp4)",
        "description": "Where to publish the video; the captions (.vtt, .srt) go next to it. "
        f"Empty: next to the deck, with the deck's name. {_URL_HELP}",
        "section": "Inputs",
    },
    "lexicon_url": {
        "default": None,
        "type": ["null", "string"],
        "pattern": URL_PATTERN,
        "title": "Pronunciation lexicon",
        "description": "Optional text file of 'written = spoken' lines (e.g. 'SQL = sequel'), "
        f"with optional [en]/[fr] sections; applied before synthesis. {_URL_HELP}",
        "section": "Narration",
    },
}


def setting_param(declared: Setting, default: Any) -> dict[str, Any]:
    """A job setting's Param spec, from its one declaration in :mod:`deck2video.config`."""
    spec: dict[str, Any] = {
        "default": default,
        "type": _JSON_TYPES[type(default)],
        "title": declared.title,
        "description": declared.help,
        "section": declared.section,
    }
    if declared.choices is not None:
        spec["enum"] = list(declared.choices)
    if declared.minimum is not None:
        spec["minimum"] = declared.minimum
    if declared.maximum is not None:
        spec["maximum"] = declared.maximum
    return spec


# What one run asks for beyond the job's inputs and settings: neither changes the job id.
RUN_OPTIONS: dict[str, dict[str, Any]] = {
    "approve_before_publish": {
        "default": False,
        "type": "boolean",
        "title": "Approve before publishing",
        "description": "Wait after assembly until someone approves the video in Airflow "
        "(Required actions); a rejected video is not published.",
        "section": "Review",
    },
    "takes": {
        "default": {},
        "type": "object",
        "propertyNames": {"pattern": "^[1-9][0-9]{0,3}$"},
        "additionalProperties": {"type": "integer", "minimum": 1, "maximum": MAX_TAKE},
        "title": "Re-takes",
        "description": 'Slides to record anew, by their PowerPoint number: {"7": 2} speaks '
        "slide 7 again as its second take (speech engines sample, so it sounds different); "
        "the other slides keep the take of the job's current video, from the cache. The "
        "deck2video page's Re-take button fills this in.",
        "section": "Review",
    },
}

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}
SETTING_PARAMS = tuple(name for name, _, _ in choosable())
QUALITY_PARAMS = tuple(name for name, _, _ in quality_choosable())
PARAMS: dict[str, dict[str, Any]] = {
    **INPUTS,
    **{
        name: setting_param(declared, default)
        for name, declared, default in (*choosable(), *quality_choosable())
    },
    **RUN_OPTIONS,
}

_URL_FIELDS = ("deck_url", "voice_url", "out_url", "lexicon_url")
# The locations read from and the one written to (under the deployment's read or write roots),
# each with what its URL must end with.
_READ_FIELDS = {"deck_url": _PPTX, "voice_url": "", "lexicon_url": ""}
_WRITE_FIELDS = {"out_url": _MP4}
# ECMAScript's "u" flag (the form's validator) allows escaping these only; Python accepts them.
_SYNTAX = re.compile(r"([\^$\\.*+?()\[\]{}|/])")


def params_for(roots: Roots) -> dict[str, dict[str, Any]]:
    """:data:`PARAMS` for a deployment: each location's pattern accepts only URLs under its
    ``roots`` (and outside the job store's own folders), and its help names them, so that Airflow
    refuses such a conf when the run is triggered, before it exists. Unlimited roots (None)
    keep the plain patterns."""
    found = {name: dict(spec) for name, spec in PARAMS.items()}
    for fields, prefixes in (
        (_READ_FIELDS, roots.read),
        (_WRITE_FIELDS, roots.write),
    ):
        if prefixes is None:
            continue
        allowed = "Allowed locations: " + ", ".join(prefixes) + "."
        for name, suffix in fields.items():
            found[name]["pattern"] = _under(prefixes, roots.reserved, suffix)
            found[name]["description"] = f"{found[name]['description']} {allowed}"
    return found


def _under(prefixes: tuple[str, ...], reserved: tuple[str, ...], suffix: str) -> str:
    """A pattern for a URL under one of ``prefixes`` (however a local path is spelled), not
    under ``reserved``, ending with ``suffix``."""
    refused = f"(?!(?:{_spellings(reserved)}))" if reserved else ""
    return f"^{_NO_TRICKS}{refused}(?:{_spellings(prefixes)})[^\\x00-\\x1f]*{suffix}$"


def _spellings(prefixes: tuple[str, ...]) -> str:
    """An alternation of the prefixes: a local one as a path and as a file:// URL."""
    spelled: list[str] = []
    for prefix in prefixes:
        local = not prefix.startswith("s3://")
        forms = (prefix, f"file://{prefix}", f"file://localhost{prefix}") if local else (prefix,)
        spelled.extend(_SYNTAX.sub(r"\\\1", form) for form in forms)
    return "|".join(spelled)


def check_conf(conf: Mapping[str, Any], roots: Roots | None = None) -> None:
    """Refuse what a JSON schema cannot: unknown keys (a typo would silently be ignored), URLs
    that the storage layer would refuse and, given ``roots``, URLs outside them (the output
    too when it defaults to the deck's folder). The message names the field."""
    unknown = sorted(set(conf) - set(PARAMS))
    if unknown:
        raise InputError(
            f"conf: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(PARAMS))})"
        )
    for name in _URL_FIELDS:
        value = conf.get(name)
        if value is None:
            continue
        try:
            storage.parse(value)
        except InputError as error:
            raise InputError(f"param {name}: {error}") from None
    if roots is None:
        return
    for name in _READ_FIELDS:
        if conf.get(name) is not None:
            roots.check_read(f"param {name}", conf[name])
    if conf.get("deck_url") is not None or conf.get("out_url") is not None:
        roots.check_write("param out_url", out_url_for(conf))


def settings_from_params(params: Mapping[str, Any]) -> JobSettings:
    """The job settings a run's (validated) params ask for; absent ones keep their defaults."""
    return JobSettings.from_choices({name: params.get(name) for name in SETTING_PARAMS})


def params_from_settings(settings: JobSettings) -> dict[str, Any]:
    """The params that ask for ``settings`` (the inverse of :func:`settings_from_params`)."""
    return {name: getattr(settings, name) for name in SETTING_PARAMS}


def quality_from_params(params: Mapping[str, Any]) -> QualitySettings:
    """The quality thresholds a run's params ask for (run-level: not part of the job id)."""
    return QualitySettings.from_choices({name: params.get(name) for name in QUALITY_PARAMS})


def out_url_for(params: Mapping[str, Any]) -> str:
    """The output URL asked for, else the deck's own location with .mp4 for .pptx."""
    if params.get("out_url"):
        return str(params["out_url"])
    deck_url = str(params["deck_url"])
    stem = deck_url[: -len(".pptx")] if deck_url.lower().endswith(".pptx") else deck_url
    return f"{stem}.mp4"


def takes_for(params: Mapping[str, Any], narrated: Iterable[int]) -> dict[int, int]:
    """The takes a run asks for (PowerPoint slide number -> take), checked against the slides
    the video narrates, so that a re-take of a hidden or missing slide is refused by name."""
    takes: dict[int, int] = {}
    for slide, take in (params.get("takes") or {}).items():
        try:
            takes[int(slide)] = int(take)
        except (TypeError, ValueError):
            raise InputError(
                f"param takes: {str(slide)[:20]!r} -> {str(take)[:20]!r} is not "
                "slide number -> take"
            ) from None
    shown = sorted(set(narrated))
    unknown = sorted(set(takes) - set(shown))
    if unknown:
        listed = ", ".join(map(str, shown[:20])) + (", ..." if len(shown) > 20 else "")
        raise InputError(
            f"param takes: slide {', '.join(map(str, unknown[:5]))} is not narrated in this "
            f"video (its slides: {listed})"
        )
    bad = sorted(slide for slide, take in takes.items() if not 1 <= take <= MAX_TAKE)
    if bad:
        raise InputError(f"param takes: slide {bad[0]}: a take is 1..{MAX_TAKE}")
    return takes
