"""The manifest's JSON: what tools outside Airflow read a job's state from."""

from __future__ import annotations

import json

import pytest

from deck2video.errors import InputError
from deck2video.manifest import STATUSES, Manifest, SlideRecord, StageRecord


def sample() -> Manifest:
    return Manifest(
        job_id="talk-0123456789abcdef",
        settings={"speed": 1.0},
        slides=[SlideRecord(1, 1, "Café Zürich", False, False, "ab" * 32)],
        stages={"prepare": StageRecord(status="done", seconds=1.5, detail={"render_cached": True})},
        outputs={"video": "s3://videos/talk.mp4"},
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
    with pytest.raises(InputError, match=r"^job talk-0123456789abcdef: no slide 2 \(it has 1\)$"):
        manifest.slide(2)


def test_status_transitions_record_stage_and_reason():
    manifest = sample()
    manifest.set_status("failed", stage="speak", reason="slide 1: too long")
    assert (manifest.status, manifest.stage, manifest.reason) == (
        "failed",
        "speak",
        "slide 1: too long",
    )
    assert STATUSES[0] == "pending" and STATUSES[-2:] == ("completed", "failed")
    with pytest.raises(AssertionError):
        manifest.set_status("exploded")
