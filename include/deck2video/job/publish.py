"""The publish step: copy the finished video, its captions and its quality report to the run's
output location.

The output belongs to the run, not to the job: two runs of one job (same deck, voice and
settings) share every file up to the video, and each publishes where it was asked to. The
manifest lists each publication; it never decides where one goes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from deck2video import storage
from deck2video.config import Deployment
from deck2video.job.layout import JobFolder
from deck2video.job.state import load_manifest, save_manifest, stage
from deck2video.manifest import now
from deck2video.roots import Roots


@dataclass(frozen=True)
class PublishResult:
    video_url: str
    vtt_url: str
    srt_url: str
    quality_url: str | None = None  # <name>.quality.json, where the job's quality was checked


def sibling_url(url: str, suffix: str) -> str:
    """``s3://b/videos/talk.mp4`` -> ``s3://b/videos/talk.vtt``."""
    head, _, name = url.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{head}/{stem}{suffix}" if head else f"{stem}{suffix}"


def publish(job: JobFolder, out_url: str, *, roots: Roots | None = None) -> PublishResult:
    """Captions and quality report first, the video last: once the video is there, the whole
    output is.

    ``roots`` says where ``out_url`` may be (default: what this deployment allows a service).
    """
    roots = (roots or Roots.for_service(Deployment.from_env())).guarding(job.store.url)
    manifest = load_manifest(job)
    out_url = roots.check_write("out_url", out_url)  # the URL written is the URL checked
    quality_url = sibling_url(out_url, ".quality.json") if manifest.quality else None
    wanted = PublishResult(
        out_url, sibling_url(out_url, ".vtt"), sibling_url(out_url, ".srt"), quality_url
    )
    result = PublishResult(
        roots.check_write("out_url", wanted.video_url),
        roots.check_write("out_url", wanted.vtt_url),
        roots.check_write("out_url", wanted.srt_url),
        None if wanted.quality_url is None else roots.check_write("out_url", wanted.quality_url),
    )
    with stage(job, manifest, "publish", "assembling_video"):
        storage.copy(job.captions_vtt, result.vtt_url)
        storage.copy(job.captions_srt, result.srt_url)
        if quality_url:
            storage.copy(job.quality, quality_url)
        storage.copy(job.video, result.video_url)
        manifest.published.append({**asdict(result), "at": now()})
    manifest.set_status("completed", stage="publish")
    save_manifest(job, manifest)
    return result
