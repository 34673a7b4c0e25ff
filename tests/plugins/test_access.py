"""Who gets what from the deck2video app on the real api-server: nothing without a session
(401) or with a forged token (403); a job's few known files, streamed with byte ranges, and a
404 for every other path, however it is spelled."""

from __future__ import annotations

import pytest

from deck2video import storage
from tests.support.airflow_servers import Api

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def job_paths(made_jobs) -> dict[str, str]:
    job = made_jobs.finished.job_id
    return {
        "jobs": "/deck2video/",
        "job": f"/deck2video/jobs/{job}",
        "run tab": f"/deck2video/runs/deck_to_video/{made_jobs.finished.run_id}",
        "video": f"/deck2video/jobs/{job}/video.mp4",
        "captions": f"/deck2video/jobs/{job}/captions.vtt",
        "slide": f"/deck2video/jobs/{job}/slides/2.png",
        "audio": f"/deck2video/jobs/{job}/slides/2.wav",
        "retake": f"/deck2video/api/jobs/{job}/slides/2/retake",
        "script": "/deck2video/static/job.js",
        "thumbnail": f"/deck2video/jobs/{job}/thumbnail.png",
        "rows": f"/deck2video/api/rows?run={made_jobs.finished.run_id}",
    }


def test_without_a_session_every_path_is_refused(airflow_servers, job_paths):
    anonymous = Api(airflow_servers.base)
    for name, path in job_paths.items():
        status, _, body = anonymous.raw(path)
        assert status == 401, (name, status, body[:200])


def test_a_person_without_a_session_is_told_to_sign_in(airflow_servers, job_paths):
    status, headers, body = Api(airflow_servers.base).raw(job_paths["job"], {"Accept": "text/html"})
    assert status == 401
    assert headers["content-type"].startswith("text/html")
    assert b"Sign in" in body


def test_a_forged_token_is_refused(airflow_servers, job_paths):
    forged = Api(airflow_servers.base, token="e30.e30.not-signed")
    for name, path in job_paths.items():
        status, _, body = forged.raw(path)
        assert status == 403, (name, status, body[:200])


def test_a_signed_in_viewer_may_read(airflow_servers, job_paths):
    viewer = airflow_servers.api("viewer")
    for name, path in job_paths.items():
        status, _, _ = viewer.raw(path)
        assert status == 200, (name, status)


@pytest.mark.parametrize(
    "path",
    [
        "/deck2video/jobs/{job}/manifest.json",
        "/deck2video/jobs/{job}/slides/3.png",  # hidden: not a slide of the video
        "/deck2video/jobs/{job}/slides/99.wav",
        "/deck2video/jobs/{job}/slides/0001.png/../../manifest.json",
        "/deck2video/jobs/{job}/input/deck.pptx",
        "/deck2video/jobs/{job}/audio/0001.wav",
        "/deck2video/jobs/..%2F..%2Fcache/video.mp4",
        "/deck2video/jobs/%2e%2e/video.mp4",
        "/deck2video/jobs/no-such-job-0000/video.mp4",
        "/deck2video/jobs/{job}%2F..%2F{failed}/video.mp4",
        "/deck2video/static/..%2Fapp.py",
        "/deck2video/static/job.js%00.png",
        "/deck2video/api/jobs/{job}/slides/3/retake",
    ],
)
def test_nothing_outside_a_job_folder_or_unknown_to_the_job_is_served(
    airflow_servers, made_jobs, path
):
    admin = airflow_servers.admin
    path = path.format(job=made_jobs.finished.job_id, failed=made_jobs.failed.job_id)
    status, _, body = admin.raw(path)
    assert status == 404, (path, status, body[:200])


def test_video_is_streamed_with_byte_ranges(airflow_servers, made_jobs, job_paths):
    admin = airflow_servers.admin
    whole = storage.read_bytes(made_jobs.finished.folder(airflow_servers.root).video)
    status, headers, body = admin.raw(job_paths["video"])
    assert (status, headers["content-type"], body) == (200, "video/mp4", whole)
    assert headers["accept-ranges"] == "bytes"

    status, headers, body = admin.raw(job_paths["video"], {"Range": "bytes=100-1123"})
    assert (status, body) == (206, whole[100:1124])
    assert headers["content-range"] == f"bytes 100-1123/{len(whole)}"
    status, headers, body = admin.raw(job_paths["video"], {"Range": "bytes=-16"})
    assert (status, body) == (206, whole[-16:])
    status, headers, body = admin.raw(job_paths["video"], {"Range": f"bytes={len(whole) - 5}-"})
    assert (status, body) == (206, whole[-5:])
    status, headers, _ = admin.raw(job_paths["video"], {"Range": f"bytes={len(whole)}-"})
    assert (status, headers["content-range"]) == (416, f"bytes */{len(whole)}")


def test_bad_ranges_and_pages_get_4xx_and_invalid_ranges_the_whole_file(
    airflow_servers, made_jobs, job_paths
):
    admin = airflow_servers.admin
    whole = storage.read_bytes(made_jobs.finished.folder(airflow_servers.root).video)
    status, _, _ = admin.raw(job_paths["video"], {"Range": f"bytes={'9' * 5000}-"})
    assert status == 416  # was a 500: the digits were made into an integer
    status, _, body = admin.raw(job_paths["video"], {"Range": f"bytes=0-{'9' * 5000}"})
    assert (status, body) == (206, whole)
    status, _, body = admin.raw(job_paths["video"], {"Range": "bytes=5-3"})
    assert (status, body) == (200, whole)  # RFC 9110: an invalid range is ignored
    for page in ("0", "-1", "9" * 50, "x"):
        assert admin.raw(f"{job_paths['jobs']}?page={page}")[0] == 422
        assert admin.raw(f"{job_paths['job']}?page={page}")[0] == 422
    status, _, body = admin.raw(f"{job_paths['jobs']}?page=2", {"Accept": "text/html"})
    assert status == 200
    assert b"past the last one" in body
    assert b'rel="prev"' in body
    for query in ("status=sleeping", f"q={'x' * 201}"):
        assert admin.raw(f"{job_paths['jobs']}?{query}")[0] == 422


def test_pages_forbid_scripts_from_elsewhere(airflow_servers, job_paths):
    _, headers, _ = airflow_servers.admin.raw(job_paths["job"])
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'self'" in policy
    assert headers["x-content-type-options"] == "nosniff"
