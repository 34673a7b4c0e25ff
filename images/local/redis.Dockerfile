# A stand-in for the redis:7.4-bookworm image of docker-compose.yaml, where no registry is
# reachable: Debian's redis-server (and redis-cli, for the healthcheck) on the debootstrap base.
# Built by scripts/compose_local.py; see docs/airflow.md, "docker compose".
ARG BASE_IMAGE=deck2video-base:bookworm
FROM ${BASE_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
# hadolint ignore=DL3066
USER redis
EXPOSE 6379
# As the official image: every interface of the container, no protected mode, no persistence.
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", ""]
