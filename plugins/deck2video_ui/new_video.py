"""New video: the form, the uploads behind it, and each person's remembered voice.

The page uploads the deck (and a recording, unless one already used is chosen) here, one file
per request, then starts the run itself through Airflow's public REST API with the user's own
session, as a Re-take does: Airflow checks the user may trigger runs, validates the conf against
the DAG's params (whose patterns name the roots), records who triggered it and audits it.

Only a user whom Airflow lets trigger deck_to_video runs sees the form or may upload (403 for
the others). The uploads take Airflow's session cookie (SameSite=Lax, so no other site's page
sends it with a POST) and answer only a same-origin request whose body is typed
``application/octet-stream`` or JSON, which no cross-site form can send without a CORS preflight
that this app never grants.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from deck2video.config import Deployment
from deck2video.errors import Deck2VideoError, InputError
from deck2video.params import PARAMS, SETTING_PARAMS
from deck2video.roots import Roots
from deck2video_ui import runs, uploads
from deck2video_ui.app import _page, airflow_root

TRIGGER_RUNS = Depends(requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=runs.DAG_ID))
# The form's settings: the job's own (config.py's declarations, as the trigger form has them)
# and whether to wait for an approval.
FORM_PARAMS = (*SETTING_PARAMS, "approve_before_publish")

router = APIRouter(dependencies=[TRIGGER_RUNS])


def _area() -> str:
    deployment = Deployment.from_env()
    try:
        return uploads.uploads_area(deployment, Roots.for_service(deployment))
    except InputError as error:
        raise HTTPException(503, f"New video is not available here: {error}") from None


def _same_origin(request: Request, content_type: str) -> None:
    """Refuse what another site's page could send with the user's cookie (see the module)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != content_type:
        raise HTTPException(415, f"send the body as {content_type}")
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc not in _own_hosts(request):
        raise HTTPException(403, "not from this site")
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise HTTPException(403, "not from this site")


def _own_hosts(request: Request) -> set[str]:
    """This site as the browser names it: the request's Host, or Airflow's configured base URL
    (behind a proxy that rewrites Host)."""
    from airflow.configuration import conf

    configured = urlsplit(conf.get("api", "base_url", fallback="") or "").netloc
    return {host for host in (request.headers.get("host"), configured) if host}


def form_sections() -> dict[str, list[dict[str, Any]]]:
    """The settings the form offers, from the params (hence from config.py), by section in the
    order they are declared."""
    sections: dict[str, list[dict[str, Any]]] = {}
    for name in FORM_PARAMS:
        sections.setdefault(PARAMS[name]["section"], []).append({"name": name, **PARAMS[name]})
    return sections


@router.get("/new", response_class=HTMLResponse, name="new_video_page")
def new_video_page(request: Request, session: SessionDep, user: GetUserDep) -> Response:
    area = _area()
    limits = Deployment.from_env().limits
    return _page(
        request,
        "new.html",
        {
            "sections": form_sections(),
            "voices": uploads.voices_used(session),
            "remembered": uploads.remembered_voice(area, user.get_id()),
            "max_deck_mib": limits.max_deck_bytes / 2**20,
            "max_voice_mib": limits.max_voice_bytes / 2**20,
            "dag_runs": f"{airflow_root()}api/v2/dags/{runs.DAG_ID}/dagRuns",
        },
    )


@router.post("/api/uploads/{kind}", name="upload")
async def upload(
    request: Request, kind: str, name: str = Query("", max_length=255)
) -> JSONResponse:
    """One file, the request's body: stored in the uploads area once it passed the checks."""
    _same_origin(request, "application/octet-stream")
    area = _area()
    try:
        found = await uploads.receive(
            kind,
            name,
            request.headers.get("content-length"),
            request.stream(),
            area,
            Deployment.from_env().limits,
        )
    except uploads.UploadRefused as error:
        raise HTTPException(error.status, str(error)) from None
    except InputError as error:  # the deck's zip checks
        raise HTTPException(415, str(error)) from None
    return JSONResponse({"kind": found.kind, "url": found.url, "name": found.name})


@router.put("/api/me/voice", name="remember_voice")
async def remember_voice(request: Request, user: GetUserDep) -> JSONResponse:
    """Remember the voice this user just started a video with, for their next one."""
    _same_origin(request, "application/json")
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(400, 'send {"voice_url": ...}') from None
    voice = body.get("voice_url") if isinstance(body, dict) else None
    deployment = Deployment.from_env()
    try:
        checked = Roots.for_service(deployment).check_read("voice_url", str(voice or ""))
        uploads.remember_voice(_area(), user.get_id(), checked)
    except Deck2VideoError as error:
        raise HTTPException(400, str(error)) from None
    return JSONResponse({"voice_url": checked})
