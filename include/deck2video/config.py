"""Job settings (they change the output, so they are part of the job id) and deployment limits."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any

from deck2video.errors import InputError

BACKENDS = ("piper", "melo")
# Language settings and the MeloTTS voice each maps to (deck2video.speech.melo.VOICES).
# Piper speaks English only: refused here, before any work, and again by load_backend for
# callers that load a backend directly.
LANGUAGES = ("en", "en-us", "en-gb", "en-in", "en-au", "es", "fr", "zh", "ja", "ko")


@dataclass(frozen=True)
class JobSettings:
    """What a user chooses per job. Every field changes the video, hence the job id."""

    width: int = 1920
    height: int = 1080
    padding: float = 0.5  # seconds of still slide before and after each narration
    min_slide_seconds: float = 2.0
    silence_seconds: float = 1.0  # length of an empty or [SILENCE] slide's narration
    include_hidden: bool = False
    speed: float = 1.0  # >1 speaks faster
    backend: str = "piper"
    language: str = "en"

    def __post_init__(self) -> None:
        _check_range("width", self.width, 160, 7680)
        _check_range("height", self.height, 120, 4320)
        if self.width % 2 or self.height % 2:
            raise InputError(f"setting width/height: {self.width}x{self.height} must be even")
        _check_range("padding", self.padding, 0.0, 10.0)
        _check_range("min_slide_seconds", self.min_slide_seconds, 0.0, 60.0)
        _check_range("silence_seconds", self.silence_seconds, 0.0, 60.0)
        _check_range("speed", self.speed, 0.5, 2.0)
        if self.backend not in BACKENDS:
            raise InputError(f"setting backend: {self.backend!r} is not one of {BACKENDS}")
        if self.language not in LANGUAGES:
            raise InputError(f"setting language: {self.language!r} is not one of {LANGUAGES}")
        if self.backend == "piper" and not self.language.startswith("en"):
            raise InputError(
                f"setting language: backend piper speaks English only; {self.language!r} "
                "needs the melo backend"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobSettings:
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InputError(f"settings: unknown key(s) {', '.join(unknown)}")
        return cls(
            **{k: _coerce(k, v, cls.__dataclass_fields__[k].default) for k, v in data.items()}
        )


@dataclass(frozen=True)
class Limits:
    """Deployment guards against oversized or hostile input, and timeouts for external tools."""

    max_deck_bytes: int = 200 * 1024 * 1024
    max_slides: int = 500
    max_uncompressed_bytes: int = 1024 * 1024 * 1024
    max_zip_entries: int = 20_000
    max_compression_ratio: float = 100.0
    max_voice_bytes: int = 50 * 1024 * 1024
    soffice_timeout: float = 300.0
    ffmpeg_timeout: float = 600.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """Read overrides from DECK2VIDEO_<FIELD> environment variables."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f"DECK2VIDEO_{f.name.upper()}")
            if raw is not None:
                values[f.name] = type(getattr(cls, f.name))(raw)
        return cls(**values)


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise InputError(f"setting {name}: {value} is outside {low}..{high}")


def _coerce(name: str, value: Any, default: Any) -> Any:
    """Accept JSON/CLI values ("1.5", 2) for typed fields, refusing anything ambiguous."""
    kind = type(default)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1", "yes"):
            return True
        if str(value).lower() in ("false", "0", "no"):
            return False
        raise InputError(f"setting {name}: {value!r} is not a boolean")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InputError(f"setting {name}: {value!r} is not a {kind.__name__}") from None
