# A stand-in for the postgres:16-bookworm image of docker-compose.yaml, where no registry is
# reachable: Debian's PostgreSQL on the debootstrap base, with the official image's interface
# (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB; data in /var/lib/postgresql/data; pg_isready).
# Built by scripts/compose_local.py; see docs/airflow.md, "docker compose".
ARG BASE_IMAGE=deck2video-base:bookworm
FROM ${BASE_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
