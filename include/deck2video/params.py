"""Run parameters of one deck-to-video job, as JSON schemas, and their translation to a job.

The schemas give Airflow's trigger form its fields and validate CLI/REST conf before a run is
created; the batch DAG checks a deck's sidecar options against the same schemas. This module
imports nothing from Airflow (nor jsonschema): the DAG files wrap each spec in ``Param(**spec)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deck2video import storage
from deck2video.config import BACKENDS, LANGUAGES, JobSettings
from deck2video.errors import InputError

RESOLUTIONS = ("1920x1080", "1280x720", "3840x2160")

# Written for both Python's re (server-side validation) and ECMAScript (the UI form): refuse a
# ".." path segment and percent-encoded dots/slashes/NUL (file:// URLs are unquoted), then
# accept an s3:// object, a file:// URL or an absolute path, without control characters.
_NO_TRICKS = r"(?!.*(?:^|/)\.\.(?:/|$))(?!.*%(?:2[eEfF]|5[cC]|00))"
_LOCATION = r"(?:s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/|file:///|/)[^\x00-\x1f]*"
URL_PATTERN = f"^{_NO_TRICKS}{_LOCATION}$"
DECK_PATTERN = f"^{_NO_TRICKS}{_LOCATION}\\.[pP][pP][tT][xX]$"
VIDEO_PATTERN = f"^{_NO_TRICKS}{_LOCATION}\\.mp4$"

_URL_HELP = "An s3://bucket/key URL, a file:// URL or an absolute path; '..' is not allowed."
_DEFAULTS = JobSettings()

# name -> Param(**spec): "default" and "description" are Param's own arguments, the rest is the
# JSON schema ("section" groups fields in the trigger form).
PARAMS: dict[str, dict[str, Any]] = {
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
    "language": {
        "default": _DEFAULTS.language,
        "type": "string",
        "enum": list(LANGUAGES),
        "title": "Language",
        "description": "Language of the speaker notes.",
        "section": "Narration",
    },
    "backend": {
        "default": _DEFAULTS.backend,
        "type": "string",
        "enum": list(BACKENDS),
        "title": "Speech engine",
        "description": "Text-to-speech engine that reads the notes.",
        "section": "Narration",
    },
    "speed": {
        "default": _DEFAULTS.speed,
        "type": "number",
        "minimum": 0.5,
        "maximum": 2.0,
        "title": "Speaking speed",
        "description": "1.0 is normal; 1.2 speaks 20% faster, 0.8 slower (0.5 to 2).",
        "section": "Narration",
    },
    "silence_seconds": {
        "default": _DEFAULTS.silence_seconds,
        "type": "number",
        "minimum": 0,
        "maximum": 10,
        "title": "Silent slide length (s)",
        "description": "How long a slide without notes (or with [SILENCE]) stays on screen.",
        "section": "Narration",
    },
    "resolution": {
        "default": f"{_DEFAULTS.width}x{_DEFAULTS.height}",
        "type": "string",
        "enum": list(RESOLUTIONS),
        "title": "Resolution",
        "description": "Video size in pixels (width x height); slides are letter-boxed to fit.",
        "section": "Video",
    },
    "padding": {
        "default": _DEFAULTS.padding,
        "type": "number",
        "minimum": 0,
        "maximum": 5,
        "title": "Padding (s)",
        "description": "Seconds each slide stays on screen before and after its narration.",
        "section": "Video",
    },
    "include_hidden": {
        "default": _DEFAULTS.include_hidden,
        "type": "boolean",
        "title": "Include hidden slides",
        "description": "Show and narrate slides that are hidden in the deck.",
        "section": "Video",
    },
}

_URL_FIELDS = ("deck_url", "voice_url", "out_url", "lexicon_url")


def check_conf(conf: Mapping[str, Any]) -> None:
    """Refuse what a JSON schema cannot: unknown keys (a typo would silently be ignored) and
    URLs that the storage layer would refuse. The message names the field."""
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


def settings_from_params(params: Mapping[str, Any]) -> JobSettings:
    """The job settings a run's (validated) params ask for; absent ones keep their defaults."""
    values: dict[str, Any] = {}
    if params.get("resolution") is not None:
        resolution = str(params["resolution"])
        if resolution not in RESOLUTIONS:
            raise InputError(f"param resolution: {resolution!r} is not one of {RESOLUTIONS}")
        values["width"], values["height"] = (int(v) for v in resolution.split("x"))
    for name in ("language", "backend", "speed", "silence_seconds", "padding", "include_hidden"):
        if params.get(name) is not None:
            values[name] = params[name]
    return JobSettings.from_dict(values)


def out_url_for(params: Mapping[str, Any]) -> str:
    """The output URL asked for, else the deck's own location with .mp4 for .pptx."""
    if params.get("out_url"):
        return str(params["out_url"])
    deck_url = str(params["deck_url"])
    stem = deck_url[: -len(".pptx")] if deck_url.lower().endswith(".pptx") else deck_url
    return f"{stem}.mp4"
