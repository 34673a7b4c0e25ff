"""The publish step: copy the finished video, its captions and its quality report to the run's
output location."""

from __future__ import annotations

from dataclasses import dataclass

from deck2video import storage
from deck2video.job.layout import JobFolder
from deck2video.job.state import load_manifest, save_manifest, stage


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


def publish(job: JobFolder) -> PublishResult:
    """Captions and quality report first, the video last: once the video is there, the whole
    output is."""
    manifest = load_manifest(job)
    out_url = manifest.outputs["video"]
    quality_url = sibling_url(out_url, ".quality.json") if manifest.quality else None
    result = PublishResult(
        out_url, sibling_url(out_url, ".vtt"), sibling_url(out_url, ".srt"), quality_url
    )
    with stage(job, manifest, "publish", "assembling_video"):
        storage.copy(job.captions_vtt, result.vtt_url)
        storage.copy(job.captions_srt, result.srt_url)
        if quality_url:
            storage.copy(job.quality, quality_url)
            manifest.outputs["quality"] = quality_url
        storage.copy(job.video, result.video_url)
        manifest.outputs.update(captions_vtt=result.vtt_url, captions_srt=result.srt_url)
    manifest.set_status("completed", stage="publish")
    save_manifest(job, manifest)
    return result
