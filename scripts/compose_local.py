"""``docker compose up`` of docker-compose.yaml itself, on a private local engine, no registry.

No registry is reachable here, so the images compose names cannot be pulled. This builds local
stand-ins where a Debian package gives the same server (postgres, redis: images/local/, on the
debootstrap base of images/base/build.sh), writes an override that names only those image
sources, and runs ``docker compose up`` of the real file with it. It reports, per service, whether
it became healthy (or exited 0, for the one-shot ones), and why not, then takes everything down.

    .venv/bin/python -m scripts.compose_local

What cannot boot this way, and why, is part of the report: minio and minio-init (MinIO is
neither pullable nor installable here), and so every Airflow service (they wait for minio-init;
their image also builds FROM apache/airflow, which cannot be pulled).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts import docker_engine as engines
from scripts.stack import BIN, COMPOSE_FILE, REPO, generated_variables, load_compose

LOCAL_IMAGES = {  # compose service -> (Dockerfile in images/local, local tag)
    "postgres": ("postgres.Dockerfile", "deck2video-local/postgres:16"),
    "redis": ("redis.Dockerfile", "deck2video-local/redis:7"),
}
UP_TIMEOUT = 180.0


def build_local_images(engine: engines.Engine) -> dict[str, str]:
    base = subprocess.run(
        [str(REPO / "images" / "base" / "build.sh")], env=engine.env, capture_output=True,
        text=True, timeout=engines.BUILD_TIMEOUT, check=True,
    ).stdout.strip()  # fmt: skip
    client = engine.client()
    for dockerfile, tag in LOCAL_IMAGES.values():
        # The build's own network: the host's, for Debian's package mirror.
        client.images.build(
            path=str(REPO / "images" / "local"), dockerfile=dockerfile, tag=tag,
            buildargs={"BASE_IMAGE": base}, network_mode="host", rm=True,
        )  # fmt: skip
    return {service: tag for service, (_, tag) in LOCAL_IMAGES.items()}


def override(images: dict[str, str]) -> dict:
    """Only image sources: the local stand-ins, never pulled."""
    return {"services": {s: {"image": tag, "pull_policy": "never"} for s, tag in images.items()}}


def compose(
    engine: engines.Engine, files: list[Path], env_file: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "docker-compose"), "--project-directory", str(REPO),
               "--env-file", str(env_file)]  # fmt: skip
    for file in files:
        command += ["-f", str(file)]
    return subprocess.run(
        [*command, *args], env=engine.env, capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip


def states(engine: engines.Engine, files: list[Path], env_file: Path) -> dict[str, dict]:
    done = compose(engine, files, env_file, "ps", "--all", "--format", "json")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip().startswith("{")]
    return {row["Service"]: row for row in rows}


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if "rror" in line]
    return lines[-1] if lines else (stderr.strip().splitlines() or ["?"])[-1]


def settled(row: dict) -> bool:
    return row.get("Health") == "healthy" or row.get("State") == "exited"


def main() -> int:
    services = list(load_compose()["services"])
    with tempfile.TemporaryDirectory(prefix="d2v-compose-", dir="/tmp") as tmp:
        env_file = Path(tmp) / "compose.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in generated_variables().items()))
        with engines.running_engine(Path(tmp)) as engine:
            started = time.monotonic()
            images = build_local_images(engine)
            print(f"local images in {time.monotonic() - started:.0f} s: {images}")
            extra = Path(tmp) / "compose.local.yaml"
            extra.write_text(json.dumps(override(images), indent=2))
            files = [COMPOSE_FILE, extra]
            # Each service on its own (with what it depends on): one missing image would make
            # compose create none of them.
            refused = {}
            for service in services:
                up = compose(engine, files, env_file, "up", "--detach", "--no-build",
                             "--pull", "never", service)  # fmt: skip
                if up.returncode == 0:
                    continue
                # Its own reason, apart from what it depends on.
                alone = compose(engine, files, env_file, "up", "--detach", "--no-build",
                                "--pull", "never", "--no-deps", service)  # fmt: skip
                refused[service] = (
                    f"{_last_error(alone.stderr)}"
                    if alone.returncode != 0
                    else f"needs {_last_error(up.stderr)}"
                )
            deadline = time.monotonic() + UP_TIMEOUT
            found = states(engine, files, env_file)
            while time.monotonic() < deadline and not all(settled(r) for r in found.values()):
                time.sleep(3)
                found = states(engine, files, env_file)
            for service in services:
                row = found.get(service)
                status = "not started: " + refused.get(service, "?") if row is None else (
                    f"{row.get('State')} {row.get('Health') or ''} {row.get('Status', '')}"
                )  # fmt: skip
                print(f"{service:24} {' '.join(status.split())}")
            compose(engine, files, env_file, "down", "--volumes", "--timeout", "10")
    return 0


if __name__ == "__main__":
    sys.exit(main())
