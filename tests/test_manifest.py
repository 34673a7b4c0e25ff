"""The manifest's JSON: what tools outside Airflow read a job's state from."""

from __future__ import annotations

import json

import pytest

from deck2video.errors import InputError
from deck2video.manifest import (
    STATUSES,
    JobQuality,
    Manifest,
    SlideQuality,
    SlideRecord,
    StageRecord,
    WorstSlide,
)


def sample() -> Manifest:
    measured = SlideQuality(words=12, speech_seconds=4.0, similarity=0.5, dnsmos_ovrl=1.2)
    measured.problems = ["DNSMOS overall 1.20 < 2.5"]
    return Manifest(
        job_id="talk-0123456789abcdef",
        settings={"speed": 1.0},
        slides=[
            SlideRecord(1, 1, "Café Zürich", False, False, "ab" * 32, quality=measured),
            SlideRecord(2, 3, "Quiet", False, True, "cd" * 32),
        ],
        stages={"prepare": StageRecord(status="done", seconds=1.5, detail={"render_cached": True})},
        outputs={"video": "s3://videos/talk.mp4"},
        quality=JobQuality(
            mode="warn",
            thresholds={"min_dnsmos": 2.5},
            passed=False,
            worst=WorstSlide(1, "Café Zürich", 1.2, 0.5, ["DNSMOS overall 1.20 < 2.5"]),
            warnings=["slide 1: DNSMOS overall 1.20 < 2.5"],
        ),
    )


def test_json_round_trip_keeps_every_field():
    manifest = sample()
    again = Manifest.from_json(manifest.to_json())
    assert again == manifest
    assert "Café Zürich" in manifest.to_json()  # readable by hand, not \u-escaped


def test_fields_from_a_newer_version_are_ignored():
    data = json.loads(sample().to_json())
    data["added_later"] = {"anything": 1}
    assert Manifest.from_json(json.dumps(data)) == sample()


def test_slide_lookup_refuses_a_number_the_job_does_not_have():
    manifest = sample()
    assert manifest.slide(1).title == "Café Zürich"
    with pytest.raises(InputError, match=r"^job talk-0123456789abcdef: no slide 3 \(it has 2\)$"):
        manifest.slide(3)


def test_status_transitions_record_stage_and_reason():
    manifest = sample()
    manifest.set_status("failed", stage="speak", reason="slide 1: too long")
    assert (manifest.status, manifest.stage, manifest.reason) == (
        "failed",
        "speak",
        "slide 1: too long",
    )
    assert STATUSES[0] == "pending"
    assert STATUSES[-2:] == ("completed", "failed")
    with pytest.raises(AssertionError):
        manifest.set_status("exploded")
