"""Every setting, declared once: what a user chooses per job, and how a deployment runs.

- :class:`JobSettings`: per job. Each field's type, default, bounds and help are declared here,
  once; the CLI options (:mod:`deck2video.cli`), the Airflow trigger form's JSON schema
  (:mod:`deck2video.params`) and the validation are all derived from that declaration. Every
  field changes the video, so the settings are part of the job id.
- :class:`QualitySettings`: per run, declared the same way: the thresholds the narration's
  measured quality is checked against. They decide whether a job's output is published, not
  what it is, so they are not part of the job id.
- :class:`Deployment`: per installation, read from ``DECK2VIDEO_*`` environment variables. This
  is the one module that reads the environment; :class:`Limits` are part of it.

Over 400 lines on purpose: one place to read every setting is what this module is for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from deck2video import __version__
from deck2video.errors import InputError, SettingError

BACKENDS = ("piper", "melo")
# Language settings and the MeloTTS model and speaker each is spoken with. Piper speaks English
# only: refused here, before any work, and again by load_backend for callers that load a backend
# directly.
LANGUAGE_VOICES: dict[str, tuple[str, str]] = {
    "en": ("EN", "EN-Default"),
    "en-us": ("EN", "EN-US"),
    "en-gb": ("EN", "EN-BR"),
    "en-in": ("EN", "EN_INDIA"),
    "en-au": ("EN", "EN-AU"),
    "es": ("ES", "ES"),
    "fr": ("FR", "FR"),
    "zh": ("ZH", "ZH"),
    "ja": ("JP", "JP"),
    "ko": ("KR", "KR"),
}
LANGUAGES = tuple(LANGUAGE_VOICES)
# The trigger form offers these sizes; the CLI takes any even WIDTHxHEIGHT within the bounds.
RESOLUTIONS = ("1920x1080", "1280x720", "3840x2160")
TRANSITIONS = ("none", "fade")
ENV_PREFIX = "DECK2VIDEO_"
# The speech image built from this version of the package (images/speech/README.md): tagged with
# the version, never "latest", so a worker runs the speech code its DAG files expect.
SPEECH_IMAGE = f"deck2video-speech:{__version__}"
# Re-takes of one slide that a job keeps apart in the cache: more is a typo, not patience.
MAX_TAKE = 1000
QUALITY_MODES = ("warn", "fail")
MIB = 1024 * 1024
# Deployment settings: the most slides one speech task may speak, the choices of those with a
# few, and those read case-insensitively.
MAX_SLIDES_PER_TASK = 100
# What a speak task costs besides synthesis (task and process start, imports, the DAG parse, the
# container start, the model load), in seconds, and its synthesis seconds per second of
# estimated narration, where it runs: the defaults of DECK2VIDEO_SPEECH_TASK_FIXED_SECONDS and
# DECK2VIDEO_SPEECH_SYNTHESIS_FACTOR. CPU: `make bench-stack` (docs/airflow.md, "Scaling"); GPU:
# the speech image's model load, measured on the real MeloTTS + OpenVoice V2 architectures.
SPEECH_TASK_COSTS: dict[str, tuple[float, float]] = {
    "local": (2.3, 0.16),  # Piper in the worker process
    "docker": (2.8, 0.16),  # Piper in the speech image, no GPU (DECK2VIDEO_DOCKER_GPUS=none)
    "docker-gpu": (12.0, 0.05),  # MeloTTS + the OpenVoice converter on a GPU
}
_ALLOWED = {
    "speech_runner": ("local", "docker"),
    "docker_gpus": ("all", "none"),
    "external_links": ("refuse", "strip"),
    "tool_sandbox": ("bwrap", "none"),
    "font_check": ("warn", "fail"),
}
_LOWER_CASE = frozenset(
    {
        "speech_runner",
        "docker_gpus",
        "melo_device",
        "external_links",
        "tool_sandbox",
        "font_check",
    }
)


# --- job settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """The declaration of one job setting, from which its option, form field and check derive."""

    title: str
    help: str
    section: str  # the trigger form's group
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    # Part of a setting chosen as one value (width and height: "resolution"), not on its own.
    part_of: str | None = None


def _setting(default: Any, **declaration: Any) -> Any:
    return field(default=default, metadata={"setting": Setting(**declaration)})


RESOLUTION = Setting(
    title="Resolution",
    help="Video size in pixels (WIDTHxHEIGHT); slides are letter-boxed to fit.",
    section="Video",
    choices=RESOLUTIONS,
)


@dataclass(frozen=True)
class JobSettings:
    """What a user chooses per job. Every field changes the video, hence the job id."""

    width: int = _setting(
        1920, title="Width", help="Video width in pixels.", section="Video",
        minimum=160, maximum=7680, part_of="resolution",
    )  # fmt: skip
    height: int = _setting(
        1080, title="Height", help="Video height in pixels.", section="Video",
        minimum=120, maximum=4320, part_of="resolution",
    )  # fmt: skip
    padding: float = _setting(
        0.5, title="Padding (s)", section="Video", minimum=0.0, maximum=5.0,
        help="Seconds each slide stays on screen before and after its narration.",
    )  # fmt: skip
    min_slide_seconds: float = _setting(
        2.0, title="Shortest slide (s)", section="Video", minimum=0.0, maximum=60.0,
        help="No slide is shown for less than this, however short its narration.",
    )  # fmt: skip
    silence_seconds: float = _setting(
        1.0, title="Silent slide length (s)", section="Narration", minimum=0.0, maximum=10.0,
        help="How long a slide without notes (or with [SILENCE]) is narrated by silence.",
    )  # fmt: skip
    include_hidden: bool = _setting(
        False, title="Include hidden slides", section="Video",
        help="Show and narrate slides that are hidden in the deck.",
    )  # fmt: skip
    builds: bool = _setting(
        True, title="Click builds", section="Video",
        help="Play each slide's click animations as steps, moved on by [CLICK] in the notes "
        "or spread over its sentences; off: every slide as one still.",
    )  # fmt: skip
    max_steps_per_slide: int = _setting(
        50, title="Most build steps per slide", section="Video", minimum=1, maximum=1000,
        help="A slide with more click steps than this is refused.",
    )  # fmt: skip
    max_steps_per_deck: int = _setting(
        1000, title="Most build steps per deck", section="Video", minimum=1, maximum=10000,
        help="A deck with more stills (slides and their steps) than this is refused.",
    )  # fmt: skip
    transition: str = _setting(
        "none", title="Transition", section="Video", choices=TRANSITIONS,
        help="Between slides (not between steps): none, or fade (a crossfade over the "
        "slides' padding).",
    )  # fmt: skip
    speed: float = _setting(
        1.0, title="Speaking speed", section="Narration", minimum=0.5, maximum=2.0,
        help="1.0 is normal; 1.2 speaks 20% faster, 0.8 slower (0.5 to 2).",
    )  # fmt: skip
    backend: str = _setting(
        "piper", title="Speech engine", section="Narration", choices=BACKENDS,
        help="Text-to-speech engine that reads the notes.",
    )  # fmt: skip
    language: str = _setting(
        "en", title="Language", section="Narration", choices=LANGUAGES,
        help="Language of the speaker notes.",
    )  # fmt: skip
    # Off by default: `make bench-voice` measures +0.12 similarity but up to 0.28-0.42 lower
    # DNSMOS overall (Praat's pitch change itself costs it), over the 0.15 the issue allows.
    match_voice: bool = _setting(
        False, title="Match the presenter's voice", section="Narration",
        help="Where no voice-cloning converter is configured, move the speech engine's voice "
        "to the recording's pitch and vocal-tract length (measured on it); off: the engine's "
        "own voice.",
    )  # fmt: skip

    def __post_init__(self) -> None:
        for name, declared in declarations():
            _check(name, getattr(self, name), declared)
        if self.width % 2 or self.height % 2:
            raise InputError(f"setting width/height: {self.width}x{self.height} must be even")
        if self.backend == "piper" and not self.language.startswith("en"):
            raise InputError(
                f"setting language: backend piper speaks English only; {self.language!r} "
                "needs the melo backend"
            )

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSettings:
        """Settings from JSON/CLI values ("1.5", 2, "true"); unknown keys are refused."""
        return _from_dict(cls, data)

    @classmethod
    def from_choices(cls, choices: Mapping[str, Any]) -> JobSettings:
        """Settings from what a user chose (CLI options, run params): ``resolution`` stands for
        width and height; a missing or None choice keeps its default."""
        values = {k: v for k, v in choices.items() if v is not None and k != "resolution"}
        if choices.get("resolution") is not None:
            values["width"], values["height"] = parse_resolution(str(choices["resolution"]))
        return cls.from_dict(values)


def declarations(kind: type = JobSettings) -> Iterator[tuple[str, Setting]]:
    """Each setting's name and declaration (job settings by default), in declaration order."""
    for f in fields(kind):
        yield f.name, f.metadata["setting"]


def choosable() -> Iterator[tuple[str, Setting, Any]]:
    """What a user chooses, as (name, declaration, default): width and height as "resolution"."""
    defaults = JobSettings()
    for name, declared in declarations():
        if declared.part_of is None:
            yield name, declared, getattr(defaults, name)
        elif declared.part_of == "resolution" and name == "width":
            yield "resolution", RESOLUTION, defaults.resolution


@dataclass(frozen=True)
class QualitySettings:
    """What a run asks of its narration's measured quality (:mod:`deck2video.quality`), and
    what a slide that misses it does: ``warn`` records and logs it, ``fail`` fails the job
    before anything is published. Not part of the job id: re-checking a finished job with
    other thresholds reuses all of its work."""

    quality_mode: str = _setting(
        "warn", title="Quality check", section="Quality", choices=QUALITY_MODES,
        help="warn: a slide below a threshold is recorded and logged; fail: the job fails "
        "before publishing, naming each slide.",
    )  # fmt: skip
    min_similarity: float = _setting(
        0.6, title="Minimum voice similarity", section="Quality", minimum=0.0, maximum=1.0,
        help="Speaker similarity of each slide's narration to the voice recording (0 to 1; "
        "0 turns the check off).",
    )  # fmt: skip
    min_dnsmos: float = _setting(
        2.5, title="Minimum DNSMOS overall", section="Quality", minimum=1.0, maximum=5.0,
        help="DNSMOS overall quality of each slide's speech (1 to 5; noise or garble scores "
        "under 2, clean speech over 3).",
    )  # fmt: skip
    min_wpm: float = _setting(
        100.0, title="Slowest speaking rate (words/min)", section="Quality", minimum=0.0,
        maximum=1000.0, help="Slowest spoken words per minute of speech, pauses left out.",
    )  # fmt: skip
    max_wpm: float = _setting(
        260.0, title="Fastest speaking rate (words/min)", section="Quality", minimum=0.0,
        maximum=1000.0, help="Fastest spoken words per minute of speech, pauses left out.",
    )  # fmt: skip
    max_silence_seconds: float = _setting(
        2.0, title="Longest unasked silence (s)", section="Quality", minimum=0.1, maximum=60.0,
        help="Longest silence inside a slide's narration that no [PAUSE] asked for.",
    )  # fmt: skip

    def __post_init__(self) -> None:
        for name, declared in declarations(QualitySettings):
            _check(name, getattr(self, name), declared)
        if self.min_wpm > self.max_wpm:
            raise InputError(f"setting min_wpm: {self.min_wpm:g} is above max_wpm {self.max_wpm:g}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualitySettings:
        return _from_dict(cls, data)

    @classmethod
    def from_choices(cls, choices: Mapping[str, Any]) -> QualitySettings:
        """From CLI options or run params: a missing or None choice keeps its default."""
        return cls.from_dict({k: v for k, v in choices.items() if v is not None})


def quality_choosable() -> Iterator[tuple[str, Setting, Any]]:
    """The quality settings as (name, declaration, default), like :func:`choosable`."""
    defaults = QualitySettings()
    for name, declared in declarations(QualitySettings):
        yield name, declared, getattr(defaults, name)


def parse_resolution(text: str) -> tuple[int, int]:
    """ "1280x720" -> (1280, 720); the bounds are checked by JobSettings."""
    try:
        width, height = (int(v) for v in text.strip().lower().split("x"))
    except ValueError:
        raise InputError(f"setting resolution: {text!r} is not WIDTHxHEIGHT") from None
    return width, height


def _check(name: str, value: Any, declared: Setting) -> None:
    if declared.choices is not None and value not in declared.choices:
        raise InputError(f"setting {name}: {value!r} is not one of {declared.choices}")
    low, high = declared.minimum, declared.maximum
    if low is not None and high is not None and not low <= value <= high:
        raise InputError(f"setting {name}: {value} is outside {low:g}..{high:g}")


def _from_dict(kind: type, data: Mapping[str, Any]) -> Any:
    defaults = {f.name: f.default for f in fields(kind)}
    unknown = sorted(set(data) - set(defaults))
    if unknown:
        raise InputError(f"settings: unknown key(s) {', '.join(unknown)}")
    return kind(**{k: _coerce(k, v, defaults[k]) for k, v in data.items()})


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


# --- deployment ----------------------------------------------------------------------------------


def _variable(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ToolLimits:
    """Per-process budgets of an external tool; ``setting`` names what to raise in messages."""

    memory_mb: int | None = None
    cpu_seconds: int | None = None
    setting: str = ""  # e.g. "DECK2VIDEO_SOFFICE" -> DECK2VIDEO_SOFFICE_MEMORY_MB


@dataclass(frozen=True)
class Limits:
    """Every size that drives time or memory, and the budgets of the external tools.

    Each is read from ``DECK2VIDEO_<NAME>`` (e.g. ``DECK2VIDEO_MAX_SLIDES=200``). A breach is an
    :class:`InputError` naming the input (and slide) and the variable, so it fails at once. The
    defaults keep one job under about 2 GB resident (docs/security.md lists what each protects).
    """

    # The deck as a file and as a zip.
    max_deck_bytes: int = _variable(200 * MIB, "largest deck file (bytes)")
    max_slides: int = _variable(500, "most slides in a deck")
    max_uncompressed_bytes: int = _variable(1024 * MIB, "a deck's parts unpacked, in all (bytes)")
    max_zip_entries: int = _variable(20_000, "most parts (zip entries) in a deck")
    max_compression_ratio: float = _variable(
        100.0, "unpacked : packed size of a whole deck over 128 MiB unpacked"
    )
    max_entry_bytes: int = _variable(256 * MIB, "largest single part of a deck, unpacked (bytes)")
    max_entry_ratio: float = _variable(
        100.0, "unpacked : packed size of any one part over 32 MiB (zip bombs hide in one part)"
    )
    # What the deck holds.
    max_picture_pixels: int = _variable(
        40_000_000, "pixels in one picture, read from its header before rendering"
    )
    max_title_chars: int = _variable(5000, "characters in a slide's title")
    max_slide_text_chars: int = _variable(50_000, "characters of text on one slide, in all")
    max_notes_chars: int = _variable(20_000, "characters in one slide's speaker notes")
    # What is spoken.
    max_pause_seconds: float = _variable(120.0, "[PAUSE] seconds on one slide, in all")
    max_slide_narration_seconds: float = _variable(
        1800.0, "narration of one slide (estimated from the text, then measured)"
    )
    max_job_narration_seconds: float = _variable(
        3600.0, "narration of the whole deck (estimated from the text, then measured)"
    )
    max_expanded_chars: int = _variable(
        4000, "characters one sentence may become once numbers and the lexicon are spelled out"
    )
    synthesis_timeout: float = _variable(300.0, "seconds one synthesis call may take")
    # The other inputs.
    max_voice_bytes: int = _variable(50 * MIB, "largest voice recording (bytes)")
    max_lexicon_bytes: int = _variable(1 * MIB, "largest lexicon file (bytes)")
    max_lexicon_entries: int = _variable(5000, "most entries in one lexicon")
    max_lexicon_entry_chars: int = _variable(200, "characters on either side of a lexicon entry")
    # The external tools: wall-clock timeouts (a breach may be load: retried) and memory and
    # CPU-time limits per process (a breach is the input's doing: not retried).
    soffice_timeout: float = _variable(300.0, "seconds LibreOffice and poppler may take per deck")
    soffice_memory_mb: int = _variable(1536, "LibreOffice's address space (MiB)")
    soffice_cpu_seconds: int = _variable(240, "LibreOffice's CPU time (seconds)")
    poppler_memory_mb: int = _variable(1024, "pdftoppm's and pdfinfo's address space (MiB)")
    poppler_cpu_seconds: int = _variable(240, "pdftoppm's CPU time per batch of pages (seconds)")
    ffmpeg_timeout: float = _variable(600.0, "seconds each ffmpeg run may take")
    ffmpeg_memory_mb: int = _variable(1024, "ffmpeg's address space (MiB)")
    ffmpeg_cpu_seconds: int = _variable(600, "ffmpeg's CPU time per run (seconds)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(_env_name(f.name), "").strip()
            if raw:
                values[f.name] = _typed(f, raw)
        return cls(**values)

    @staticmethod
    def variable(name: str) -> str:
        """The environment variable of a limit, as breach messages name it."""
        return _env_name(name)

    def tool(self, name: str) -> ToolLimits:
        """The per-process budget of ``soffice``, ``poppler`` or ``ffmpeg``, for run_tool."""
        return ToolLimits(
            memory_mb=getattr(self, f"{name}_memory_mb"),
            cpu_seconds=getattr(self, f"{name}_cpu_seconds"),
            setting=self.variable(name),
        )


@dataclass(frozen=True)
class Deployment:
    """How this installation runs, from ``DECK2VIDEO_<FIELD>`` variables (empty = default).

    Give every process of a deployment (CLI, Airflow's dag-processor, scheduler and workers,
    the speech containers) the same values: a worker parses the DAG files again to run a task,
    so it must see what the dag-processor saw.
    """

    root: str = _variable("", "storage root of jobs/ and cache/ (default ~/.deck2video)")
    s3_endpoint_url: str = _variable("", "S3 endpoint, e.g. http://minio:9000 (default AWS)")
    lexicon: str = _variable("", "a deployment-wide pronunciation lexicon file (a local path)")
    openvoice_dir: str = _variable("", "OpenVoice V2 converter weights: enables voice cloning")
    melo_dir: str = _variable("", "MeloTTS models: <dir>/<EN|ES|FR|ZH|JP|KR>/ (default HF cache)")
    melo_device: str = _variable("auto", "MeloTTS device: auto, cuda or cpu")
    speech_runner: str = _variable("local", "local: speak in the worker; docker: speech image")
    speech_image: str = _variable(
        SPEECH_IMAGE, "the speech image (docker runner): an exact tag or name@sha256:digest"
    )
    speech_queue: str = _variable("gpu", "Celery queue of the speak tasks")
    cpu_queue: str = _variable(
        "default", "Celery queue of every other deck2video task (compose: deck2video, served by "
        "a worker that runs only these, whose container may create the tools' sandbox)"
    )  # fmt: skip
    speech_pool: str = _variable("gpu", "Airflow pool of the speak tasks: its size caps GPU jobs")
    speech_slides_per_task: int = _variable(
        0, "slides per speak task: 0 sizes groups from the fixed cost and each slide's "
        "estimated narration; 1 maps over slides; N over groups of N (one start, one load)"
    )  # fmt: skip
    speech_task_fixed_seconds: float = _variable(
        0.0, "a speak task's fixed cost (start, imports, container, model load), seconds, that "
        "sizes the groups so it stays under a fifth of a task; 0: this runner's measured "
        "default (local 2.3, docker 2.8, docker with GPUs 12)"
    )  # fmt: skip
    speech_synthesis_factor: float = _variable(
        0.0, "synthesis seconds per second of estimated narration, for sizing speech groups; "
        "0: the default (0.16 on CPU, 0.05 with GPUs)"
    )  # fmt: skip
    speech_max_task_seconds: float = _variable(
        300.0, "most synthesis one sized speak task is given, seconds: a long deck spreads over "
        "the workers, no task holds a GPU for long"
    )  # fmt: skip
    docker_url: str = _variable("unix://var/run/docker.sock", "Docker Engine API")
    docker_network: str = _variable("bridge", "speech containers' network mode (tests: host)")
    docker_gpus: str = _variable("all", "all: every GPU to each container; none: CPU hosts")
    docker_mem_limit: str = _variable("8g", "speech containers' memory limit")
    storage_conn_id: str = _variable(
        "deck2video_storage", "Airflow connection (aws type) whose credentials containers get"
    )
    inbox_schedule: str = _variable("@hourly", "cron schedule of the deck_inbox DAG")
    inbox_url: str = _variable("", "where decks are dropped (default <root>/inbox)")
    outbox_url: str = _variable("", "where inbox videos are published (default <root>/videos)")
    inbox_voice_url: str = _variable("", "voice for inbox decks (default <inbox>/voice.wav)")
    uploads_url: str = _variable(
        "", "where the Videos page's New video stores uploaded decks and recordings (default "
        "<root>/uploads): under the read and write roots, outside the inbox"
    )  # fmt: skip
    read_roots: str = _variable(
        "", "URL prefixes decks, voices and lexicons may be read from, comma-separated "
        "(default: Airflow <root> and the inbox; the CLI anywhere)"
    )  # fmt: skip
    write_roots: str = _variable(
        "", "URL prefixes videos may be published under, comma-separated "
        "(default: Airflow <root> and the outbox; the CLI anywhere)"
    )  # fmt: skip
    external_links: str = _variable(
        "strip", "a deck's links to outside pictures and objects: refuse the deck, or strip "
        "them (with a warning in the manifest)"
    )  # fmt: skip
    tool_sandbox: str = _variable(
        "bwrap", "bwrap: every tool that reads a user's bytes (LibreOffice, poppler, ffmpeg) "
        "runs in bubblewrap: no network, no other process, none of the worker's secrets; "
        "none: unsandboxed"
    )  # fmt: skip
    fonts_dir: str = _variable(
        "", "a folder, or an s3:// prefix (fetched once per listing, cached), of the operator's "
        "extra fonts (corporate faces) the renderer also sees"
    )  # fmt: skip
    font_check: str = _variable(
        "warn", "warn: a substituted typeface or a character no font draws is logged and "
        "recorded; fail: the job fails, naming the slide and the face"
    )  # fmt: skip
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        for name, allowed in _ALLOWED.items():
            if getattr(self, name) not in allowed:
                raise SettingError(
                    f"{_env_name(name)}={getattr(self, name)!r}: use one of {allowed}"
                )
        if not 0 <= self.speech_slides_per_task <= MAX_SLIDES_PER_TASK:
            raise SettingError(
                f"{ENV_PREFIX}SPEECH_SLIDES_PER_TASK={self.speech_slides_per_task}: "
                f"use 0 (sized automatically) or 1 to {MAX_SLIDES_PER_TASK}"
            )
        for name in ("speech_task_fixed_seconds", "speech_synthesis_factor"):
            if not 0 <= getattr(self, name) < 3600:
                raise SettingError(f"{_env_name(name)}={getattr(self, name)}: use 0 to 3600")
        if not 1 <= self.speech_max_task_seconds <= 86400:
            raise SettingError(
                f"{_env_name('speech_max_task_seconds')}={self.speech_max_task_seconds}: "
                "use 1 to 86400"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Deployment:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "limits":
                continue
            raw = environ.get(_env_name(f.name), "").strip()
            if raw:
                values[f.name] = raw.lower() if f.name in _LOWER_CASE else _typed(f, raw)
        return cls(**values, limits=Limits.from_env(environ))

    @property
    def speech_task_costs(self) -> tuple[float, float]:
        """(fixed seconds, synthesis seconds per narration second) of one speak task here."""
        gpu = self.speech_runner == "docker" and self.docker_gpus == "all"
        fixed, factor = SPEECH_TASK_COSTS["docker-gpu" if gpu else self.speech_runner]
        return (
            self.speech_task_fixed_seconds or fixed,
            self.speech_synthesis_factor or factor,
        )

    @property
    def root_url(self) -> str:
        return (self.root or str(Path.home() / ".deck2video")).rstrip("/")

    @property
    def inbox(self) -> str:
        return self.inbox_url or f"{self.root_url}/inbox"

    @property
    def outbox(self) -> str:
        return self.outbox_url or f"{self.root_url}/videos"

    @property
    def uploads(self) -> str:
        return self.uploads_url or f"{self.root_url}/uploads"


# The storage variables a process passes on to a child that reads the same storage.
STORAGE_VARIABLES = (
    f"{ENV_PREFIX}S3_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
)


def storage_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's storage endpoint and credentials, for a child (e.g. a speech container)."""
    environ = os.environ if environ is None else environ
    return {name: environ[name] for name in STORAGE_VARIABLES if environ.get(name)}


# What an external tool may see of this process's environment: never the storage credentials,
# Airflow's settings or ours.
_PASSED_ON = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "HOME")


def tool_environment(**extra: str) -> dict[str, str]:
    """The little of this process's environment a tool needs, plus ``extra``."""
    passed = {name: os.environ[name] for name in _PASSED_ON if os.environ.get(name)}
    passed.setdefault("PATH", "/usr/bin:/bin")
    return {**passed, **extra}


def tool_sandbox() -> str:
    """This deployment's DECK2VIDEO_TOOL_SANDBOX, read when a tool starts (procs.run_tool)."""
    return Deployment.from_env().tool_sandbox


def _env_name(name: str) -> str:
    """The environment variable of a deployment field or limit: ``DECK2VIDEO_<FIELD>``."""
    return f"{ENV_PREFIX}{name.upper()}"


def _typed(declared: Any, raw: str) -> Any:
    try:
        return type(declared.default)(raw)
    except ValueError:
        name = _env_name(declared.name)
        raise SettingError(f"{name}={raw!r}: not a {type(declared.default).__name__}") from None


def variables() -> Iterator[tuple[str, str, str]]:
    """(variable, default, help) for every deployment variable: what the docs list."""
    for f in fields(Deployment):
        if f.name != "limits":
            yield _env_name(f.name), str(f.default), f.metadata["help"]
    for f in fields(Limits):
        yield Limits.variable(f.name), str(f.default), f.metadata["help"]
