"""The deck2video pages and files: a FastAPI app that Airflow's api-server mounts (the plugin in
../deck2video_plugin.py), shown inside the Airflow UI by its external views.

Every route takes the signed-in user from Airflow's own session (cookie or bearer token) and
asks Airflow's auth manager whether that user may read deck_to_video's runs: without a session
the answer is 401, with a bad token 403. Files are looked up by kind, job and PowerPoint slide
number (``jobs.file_url``), never by a path from the request, and streamed through this app:
no storage URL, credential or file outside a job folder reaches the browser.

Re-takes are started by the page itself through Airflow's public REST API, with the user's own
session: Airflow checks the user may trigger runs, validates the conf against the DAG's params,
records who triggered it, and writes its audit log, as for any run. This app only says what to
ask for (``GET .../retake``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from airflow.api_fastapi.app import API_ROOT_PATH, get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from deck2video import storage
from deck2video.config import Deployment
from deck2video.job import JobFolder, Store
from deck2video.manifest import Manifest
from deck2video_ui import downloads, jobs, listing, media, pages, progress, runs
from deck2video_ui.links import AirflowLinks

HERE = Path(__file__).parent
STATIC = {  # name -> content type: the only static files there are
    "deck2video.css": "text/css; charset=utf-8",
    "producer.css": "text/css; charset=utf-8",
    "job.js": "text/javascript; charset=utf-8",
    "list.js": "text/javascript; charset=utf-8",
    "new.js": "text/javascript; charset=utf-8",
    "top_links.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
# The page's own scripts and styles only; media and images from this origin (the api-server).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; "
    "form-action 'self'"
)
MAX_PAGES = 1000  # a page number past this is a bad request (422), not a query
MAX_LIST_PAGES = 1_000_000  # the jobs list's: every job has a page (422 past this)
MAX_POLLED = 100  # runs one poll of the list may ask about

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(pages.FILTERS)
templates.env.filters["left"] = listing.left_text
# A global, so the macros every page imports (_status.html) see it too.
templates.env.globals["airflow_links"] = AirflowLinks(API_ROOT_PATH)

# Who may see the pages and files: whoever Airflow lets read deck_to_video's runs.
READ_RUNS = Depends(requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id=runs.DAG_ID))


def store() -> Store:
    """This deployment's job store: the same ``DECK2VIDEO_ROOT`` as its workers'."""
    return Store(Deployment.from_env().root_url)


def airflow_root() -> str:
    """The Airflow UI's base path (``/`` unless ``[api] base_url`` has a path)."""
    return API_ROOT_PATH


def may_trigger(user: Any) -> bool:
    """Whether the Re-take buttons work for this user (Airflow decides again on the POST)."""
    return get_auth_manager().is_authorized_dag(
        method="POST", access_entity=DagAccessEntity.RUN, details=DagDetails(id=runs.DAG_ID),
        user=user,
    )  # fmt: skip


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    def url(route: str, /, **params: Any) -> str:
        return request.url_for(route, **params).path

    context = {"airflow": airflow_root(), "dag_id": runs.DAG_ID, "url": url, **context}
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _job(job_id: str, page: int | None = 1) -> tuple[JobFolder, jobs.JobView]:
    """The job and its view: with the files of one page of slides, or (``page=None``) the
    manifest's outline only."""
    folder = jobs.job_folder(store(), job_id)
    if folder is None:
        view = None
    else:
        view = jobs.load_job(folder, page) if page is not None else jobs.load_summary(folder)
    if folder is None or view is None:
        raise HTTPException(404, "no such job")
    return folder, view


router = APIRouter(dependencies=[READ_RUNS])


@router.get("/", response_class=HTMLResponse, name="jobs_page")
def jobs_page(
    request: Request,
    session: SessionDep,
    user: GetUserDep,
    page: int = Query(1, ge=1, le=MAX_LIST_PAGES),
    q: str = Query("", max_length=listing.MAX_SEARCH),
    status: str = Query("", pattern=f"^(|{'|'.join(listing.STATUS_FILTERS)})$"),
) -> Response:
    """One page of the jobs, newest first, searched and filtered (listing.list_page)."""
    query = listing.ListQuery(page, q, status)
    found = listing.list_page(session, store(), query, _slides_per_task())
    rows = [pages.JobRow(run, job, count) for run, job, count in found.rows]
    return _page(
        request,
        "jobs.html",
        {
            "rows": rows,
            "listed": found,
            "query": query,
            "statuses": list(listing.STATUS_FILTERS),
            "progress": found.progress,
            "may_trigger": may_trigger(user),
        },
    )


def _slides_per_task() -> int:
    return Deployment.from_env().speech_slides_per_task


@router.get("/api/rows", name="rows_state")
def rows_state(
    session: SessionDep, run: Annotated[list[str] | None, Query()] = None
) -> JSONResponse:
    """What the list's rows of these runs show now: polled by the list while runs are active."""
    found = runs.runs_by_id(session, list(dict.fromkeys(run or []))[:MAX_POLLED])
    views = listing.summaries(store(), [r.job_id for r in found if r.job_id])
    by_run = {r.run_id: views.get(r.job_id) if r.job_id else None for r in found}
    active = [r for r in found if r.state in listing.STATUS_FILTERS["active"]]
    progress = listing.progress_of(session, active, by_run, _slides_per_task())
    return JSONResponse(
        {"rows": [listing.row_state(r, by_run[r.run_id], progress.get(r.run_id)) for r in found]},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse, name="job_page")
def job_page(
    request: Request,
    job_id: str,
    session: SessionDep,
    user: GetUserDep,
    run: str | None = None,
    page: int = Query(1, ge=1, le=MAX_PAGES),
) -> Response:
    _, view = _job(job_id, page)
    history = runs.job_runs(session, job_id)
    shown = next((r for r in history if r.run_id == run), history[0] if history else None)
    return _page(
        request,
        "job.html",
        {
            "job": view,
            "runs": history,
            "run": shown,
            "status": pages.status_of(shown, view) if shown else None,
            "output_url": pages.output_url(shown) if shown else None,
            "may_trigger": may_trigger(user),
            "working": pages.working(history),
            "retake_out_url": pages.retake_out_url(view) if view.conf else "",
        },
    )


@router.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse, name="run_page")
def run_page(request: Request, dag_id: str, run_id: str, session: SessionDep) -> Response:
    """The run's tab in the Airflow UI: its job's page, or why it has none."""
    if dag_id != runs.DAG_ID:
        return _page(request, "other_dag.html", {"other_dag": dag_id})
    found = runs.find_run(session, run_id)
    if found is None:
        raise HTTPException(404, "no such run")
    if found.job_id and jobs.job_folder(store(), found.job_id):
        target = request.url_for("job_page", job_id=found.job_id).include_query_params(run=run_id)
        return RedirectResponse(target.path + "?" + target.query, status_code=303)
    return _page(request, "run.html", {"run": found, "status": pages.status_of(found, None)})


@router.get("/api/jobs/{job_id}/slides/{slide}/retake", name="retake_request")
def retake_request(
    job_id: str,
    slide: int,
    session: SessionDep,
    user: GetUserDep,
    out_url: str | None = None,
    take: int | None = Query(None, ge=1),
) -> JSONResponse:
    """What to POST to ``/api/v2/dags/deck_to_video/dagRuns`` to re-take one slide (or, with
    ``take``, to put that earlier take back), published to the ``out_url`` the user chose on
    the page (Airflow and prepare check it as any run's)."""
    _, view = _job(job_id, page=None)
    history = runs.job_runs(session, job_id)
    body = pages.retake_request(view, history, slide, user.get_name(), out_url or None, take)
    if body is None:
        raise HTTPException(404, "no such slide or take, or no run of this job to repeat")
    return JSONResponse({"path": f"{airflow_root()}api/v2/dags/{runs.DAG_ID}/dagRuns", **body})


@router.get("/jobs/{job_id}/thumbnail.png", name="thumbnail")
def thumbnail(request: Request, job_id: str) -> Response:
    """The job's first narrated slide: the list's thumbnail."""
    found = _manifest(job_id)
    if found is None or not found[1].slides:
        raise HTTPException(404, "no such file")
    return _file_of(request, found, "slide", found[1].slides[0].source_index)


@router.get("/api/jobs/{job_id}/progress", name="job_progress")
def job_progress(job_id: str, session: SessionDep, run: str | None = None) -> JSONResponse:
    """How far a run of the job has come (the newest run unless ``run`` names one): what the
    job page asks every few seconds while a run is at work."""
    found = _manifest(job_id)
    history = runs.job_runs(session, job_id) if found is not None else []
    shown = next(
        (r for r in history if r.run_id == run), None if run else next(iter(history), None)
    )
    if found is None or shown is None:
        raise HTTPException(404, "no such job or run")
    folder, manifest = found
    view = jobs.summary_of(folder, manifest)
    running = runs.running_tasks(session, shown.run_id)
    spoken = progress.spoken_since(folder, manifest, shown.started)
    step = progress.step_words(running)
    active = shown.state in ("queued", "running")
    status = pages.status_of(shown, view)
    if active and status.tone == "busy":  # the job's manifest may say a past run's "completed"
        status = pages.Status(step or shown.state, "busy")
    now = progress.Progress(
        run_id=shown.run_id,
        state=shown.state,
        active=active,
        status=status,
        step=step,
        slides=len(manifest.slides),
        spoken=spoken.count,
        seconds_left=progress.seconds_left(manifest, spoken, running),
        version=view.version,
        has_video=view.has_video,
    )
    return JSONResponse(now.to_json(), headers={"Cache-Control": "no-store"})


@router.get("/jobs/{job_id}/download/{kind}", name="download")
def download(request: Request, job_id: str, kind: str) -> Response:
    """A job's video, captions or quality report, saved under the deck's name."""
    wanted = downloads.DOWNLOADS.get(kind)
    folder = jobs.job_folder(store(), job_id)
    view = jobs.load_summary(folder) if folder is not None and wanted is not None else None
    if wanted is None or folder is None or view is None or not storage.exists(wanted.url(folder)):
        raise HTTPException(404, "no such file")
    response = media.file_response(wanted.url(folder), wanted.media_type, None)
    response.headers["Content-Disposition"] = downloads.disposition(view.deck_name, wanted)
    return response


@router.get("/jobs/{job_id}/slides/{slide:int}/takes/{take:int}.wav", name="take_audio")
def take_audio(request: Request, job_id: str, slide: int, take: int) -> Response:
    """One recorded take of a slide's narration, current or earlier, from the audio cache."""
    found = _manifest(job_id)
    url = jobs.take_url(*found, slide, take) if found is not None else None
    if url is None or not storage.exists(url):
        raise HTTPException(404, "no such take")
    return media.file_response(url, jobs.JOB_FILES["audio"], request.headers.get("range"))


@router.get("/jobs/{job_id}/video.mp4", name="video")
def video(request: Request, job_id: str) -> Response:
    return _job_file(request, job_id, "video", None)


@router.get("/jobs/{job_id}/captions.vtt", name="captions")
def captions(request: Request, job_id: str) -> Response:
    return _job_file(request, job_id, "captions", None)


@router.get("/jobs/{job_id}/slides/{slide:int}.png", name="slide_image")
def slide_image(request: Request, job_id: str, slide: int) -> Response:
    return _job_file(request, job_id, "slide", slide)


@router.get("/jobs/{job_id}/slides/{slide:int}/steps/{step:int}.png", name="step_image")
def step_image(request: Request, job_id: str, slide: int, step: int) -> Response:
    return _job_file(request, job_id, "step", slide, step)


@router.get("/jobs/{job_id}/slides/{slide:int}.wav", name="slide_audio")
def slide_audio(request: Request, job_id: str, slide: int) -> Response:
    return _job_file(request, job_id, "audio", slide)


@router.get("/static/{file}", name="static")
def static(file: str) -> Response:
    if file not in STATIC:
        raise HTTPException(404, "no such file")
    return Response(
        (HERE / "static" / file).read_bytes(),
        media_type=STATIC[file],
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


def _manifest(job_id: str) -> tuple[JobFolder, Manifest] | None:
    """The job's folder and manifest; None for a malformed id or a job without a manifest."""
    folder = jobs.job_folder(store(), job_id)
    manifest = jobs.manifest_of(folder) if folder is not None else None
    return (folder, manifest) if folder is not None and manifest is not None else None


def _job_file(
    request: Request, job_id: str, kind: str, slide: int | None, step: int | None = None
) -> Response:
    found = _manifest(job_id)
    if found is None:
        raise HTTPException(404, "no such file")
    return _file_of(request, found, kind, slide, step)


def _file_of(
    request: Request,
    found: tuple[JobFolder, Manifest],
    kind: str,
    slide: int | None,
    step: int | None = None,
) -> Response:
    url = jobs.file_url(*found, kind, slide, step)
    if url is None or not storage.exists(url):
        raise HTTPException(404, "no such file")
    return media.file_response(url, jobs.JOB_FILES[kind], request.headers.get("range"))


def _errors_as_pages(request: Request, error: HTTPException) -> Response:
    """A person who opens a page without signing in gets a page saying so; scripts get JSON."""
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)
    return _page(request, "error.html", {"error": error}, status=error.status_code)


def create_app() -> FastAPI:
    app = FastAPI(title="deck2video", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router)
    from deck2video_ui import new_video  # it builds on this module's pages

    app.include_router(new_video.router)
    # Starlette types every handler as taking Exception; it calls this one with HTTPExceptions.
    app.add_exception_handler(HTTPException, _errors_as_pages)  # type: ignore[arg-type]
    return app
