"""The assemble step: stills + narration -> output/video.mp4 and captions, folding each slide's
speech result into the manifest (the speak tasks, running in parallel, never write it)."""

from __future__ import annotations

from pathlib import Path

from deck2video import storage
from deck2video.assemble import SlideClip, assemble_video
from deck2video.captions import Cue
from deck2video.config import Deployment, JobSettings
from deck2video.job import steps
from deck2video.job.budget import check_job_seconds
from deck2video.job.cache import SegmentStore
from deck2video.job.layout import JobFolder, numbered
from deck2video.job.state import load_manifest, speech_result, stage
from deck2video.manifest import Manifest, StageRecord
from deck2video.procs import scratch


def assemble(job: JobFolder) -> dict:
    """Build the video and captions in the job's output/ folder."""
    manifest = load_manifest(job)
    settings = JobSettings.from_dict(manifest.settings)
    limits = Deployment.from_env().limits
    with (
        stage(job, manifest, "assemble", "assembling_video") as record,
        scratch("assemble") as work,
    ):
        clips = _fetch_clips(job, manifest, work)
        narration = sum(slide.duration or 0.0 for slide in manifest.slides)
        check_job_seconds(f"job {job.job_id}", narration, limits, measured=True)
        video = assemble_video(
            clips,
            work / "output",
            padding=settings.padding,
            min_slide_seconds=settings.min_slide_seconds,
            timeout=limits.ffmpeg_timeout,
            tool_limits=limits.tool("ffmpeg"),
            transition=settings.transition,
            pieces=SegmentStore(job.store.cache.segment),
        )
        for slide, (start, end) in zip(manifest.slides, video.intervals, strict=True):
            slide.start, slide.end = round(start, 3), round(end, 3)
        for slide, step_starts in zip(manifest.slides, video.step_starts, strict=True):
            slide.step_starts = [round(t, 3) for t in step_starts] if slide.steps > 1 else []
        storage.upload(video.vtt, job.captions_vtt)
        storage.upload(video.srt, job.captions_srt)
        storage.upload(video.path, job.video)
        manifest.outputs = {
            "video": job.video,
            "captions_vtt": job.captions_vtt,
            "captions_srt": job.captions_srt,
        }
        record.detail["video_seconds"] = round(video.duration, 3)
        # What this run encoded (the rest was kept from earlier runs): slides by number.
        record.detail["encoded"] = {
            "sound": [manifest.slides[i].number for i in video.built.sound],
            "stills": len(video.built.stills),
        }
    return {"video_seconds": video.duration, "slides": len(clips)}


def _fetch_clips(job: JobFolder, manifest: Manifest, work: Path) -> list[SlideClip]:
    """Each slide's still, narration and cues, with its speech result recorded in the manifest."""
    clips, speech_seconds = [], 0.0
    for slide in manifest.slides:
        result = speech_result(job, slide.number)
        if slide.audio_key:  # the take this video replaces (a job older than take_keys)
            slide.take_keys.setdefault(str(slide.take), slide.audio_key)
        slide.audio_key = result["key"]
        slide.duration = round(result["duration"], 3)
        slide.synthesized = result["synthesized"]
        slide.take = result.get("take", 1)
        slide.take_keys[str(slide.take)] = slide.audio_key
        speech_seconds += result.get("seconds", 0.0)
        clips.append(
            SlideClip(
                image=storage.download(
                    job.slide(slide.number), work / "slides" / numbered(slide.number, ".png")
                ),
                audio=storage.download(
                    job.audio(slide.number), work / "audio" / numbered(slide.number, ".wav")
                ),
                title=slide.title,
                cues=tuple(Cue(*cue) for cue in result["cues"]),
                steps=tuple(steps.stills(job, slide, work / "steps")),
                step_starts=tuple(
                    steps.starts(job, slide, result["cues"], result["duration"], manifest)
                ),
            )
        )
    synthesized = sum(1 for s in manifest.slides if s.synthesized)
    manifest.stages["speak"] = StageRecord(
        status="done",
        seconds=round(speech_seconds, 3),
        detail={"synthesized": synthesized, "cached": len(manifest.slides) - synthesized},
    )
    return clips
