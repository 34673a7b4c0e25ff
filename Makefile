# deck2video — every target installs what it needs first, on a fresh Debian machine too.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8
# torch's CPU build: the version the worker image installs, written once (its Dockerfile).
TORCH_VERSION := $(shell sed -n 's/^ARG TORCH_VERSION=//p' images/airflow/Dockerfile)
# Airflow's release, likewise written once there; `make lock` pins the lock to it.
AIRFLOW_VERSION := $(shell sed -n 's/^ARG AIRFLOW_VERSION=//p' images/airflow/Dockerfile)
OPENVOICE_CLI_VERSION := 0.0.5
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# bubblewrap: the renderer's sandbox (docs/security.md); util-linux (prlimit, setpriv) is essential.
APT_PACKAGES := libreoffice-impress-nogui poppler-utils ffmpeg espeak-ng sox fonts-dejavu-core \
	docker.io debootstrap bubblewrap chromium chromium-driver postgresql redis-server \
	$(FONT_PACKAGES)
# The fonts slides are drawn with (README "Fonts" says why each): metric-compatible families for
# the Microsoft faces, Noto for every script (CJK included), colour and monochrome emoji.
FONT_PACKAGES := fonts-crosextra-carlito fonts-crosextra-caladea fonts-liberation2 \
	fonts-liberation fonts-noto-cjk fonts-noto-core fonts-noto-color-emoji fonts-symbola \
	fonts-open-sans fonts-lato fonts-roboto-unhinted fonts-urw-base35 fonts-wine
DEMO_DIR ?= demo-output
PYTEST_ARGS ?=

.PHONY: help demo test unit lint fmt bench bench-builds bench-voice install apt clean airflow \
	lock stack bench-stack bench-lexicon bench-corpus \
	bench-sandbox bench-listing

## help: what each target does
help:
	@awk '/^## / { sub(/^## /, ""); if ($$0 ~ /^[a-z.-]+: /) printf "\n"; printf "%s\n", $$0 }' \
		$(firstword $(MAKEFILE_LIST)) | sed '1{/^$$/d}'

## install: Debian packages + a virtualenv with the pinned Python packages
install: apt $(VENV)/.installed

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "apt: installing $$missing"; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	@test -x $(UV) || python3 -m pip --python $(PY) install -q "uv==$(UV_VERSION)"
	@# torch through pip: it takes the CPU wheel kept on disk, where uv would fetch a CUDA build.
	python3 -m pip --python $(PY) install -q "torch==$(TORCH_VERSION)"
	$(UV) pip install --python $(PY) -c requirements.lock -e ".[piper,clone,quality,dev,airflow]"
	$(UV) pip install --python $(PY) --no-deps "openvoice-cli==$(OPENVOICE_CLI_VERSION)"
	@touch $@

## demo: run the deck_to_video DAG once (airflow dags test) on a generated sample deck;
## prints where the MP4 and captions are
demo: install
	VENV=$(VENV) bash scripts/demo.sh $(DEMO_DIR)

## airflow: a local Airflow 3 with the DAGs (UI + REST API on http://127.0.0.1:8080) until Ctrl-C
airflow: install
	VENV=$(VENV) bash scripts/airflow_local.sh

## stack: docker-compose.yaml's deployment on this machine (CeleryExecutor, Postgres, Redis,
## SeaweedFS S3, dockerd, a cpu and a gpu worker) until Ctrl-C; prints the UI address and login
stack: install
	$(PY) -m scripts.stack

## test: lint, then the whole test suite against real LibreOffice, ffmpeg, Piper and S3
test: install lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## unit: the fast tests for the edit-test loop (no servers, no Docker, no whole-pipeline runs)
unit: install
	$(VENV)/bin/pytest -q -m "not slow and not docker and not stack" $(PYTEST_ARGS)

SHELL_SCRIPTS := $(wildcard scripts/*.sh images/*/*.sh) .ci/run
DOCKERFILES := $(wildcard images/*/Dockerfile images/*/*.Dockerfile)

## lint: ruff (lint + format check), mypy, shellcheck, hadolint: what CI and pre-commit run
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/shellcheck $(SHELL_SCRIPTS)
	$(VENV)/bin/hadolint $(DOCKERFILES)

## fmt: fix what ruff can (import order, simple rewrites) and format the code
fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## bench: a 30-slide, ~10-minute deck: stage timings, real-time factor, re-run, quality share,
## MoviePy baseline
bench: install
	$(PY) -m bench.pipeline_bench

## bench-builds: cold runs of a deck with click builds, builds on and off; then assembly alone
## (time, MP4 size) on 30 rendered slides / 10 minutes
bench-builds: install
	$(PY) -m bench.builds_bench cold
	$(PY) -m bench.builds_bench assembly

## bench-voice: speaker similarity of the narration to several reference voices, with no
## converter and (DECK2VIDEO_OPENVOICE_DIR set) with OpenVoice: does the narration sound like them?
bench-voice: install
	$(PY) -m bench.voice_bench

## bench-stack: speak tasks in the real executor (queue latency, fixed cost, synthesis; local
## and Docker runner, one slide or a group a task) and decks per hour for 10 decks of 10 slides
bench-stack: install
	$(PY) -m bench.stack_bench

## bench-lexicon: prepare's narration estimate per slide with the worst lexicon the limits allow
bench-lexicon: install
	$(PY) -m bench.lexicon_bench

## bench-corpus: how many real-world decks prepare accepts and renders (CORPUS=<folder of .pptx>)
CORPUS ?=
bench-corpus: install
	@test -n "$(CORPUS)" || { echo "make bench-corpus CORPUS=<folder of .pptx>"; exit 2; }
	$(PY) -m bench.corpus_bench "$(CORPUS)" --render

## bench-listing: the Videos list with 10,000 jobs in an Airflow DB: every pass and page, a search
bench-listing: install
	$(PY) -m bench.listing_bench

## bench-sandbox: what running each tool in bubblewrap costs per call (sandboxed vs not)
bench-sandbox: install
	$(PY) -m bench.sandbox_bench

## requirements.lock: re-pin every Python package (run after changing pyproject.toml)
lock:
	echo "apache-airflow==$(AIRFLOW_VERSION)" > $(VENV)/airflow-release.txt
	$(UV) pip compile pyproject.toml --extra piper --extra clone --extra quality --extra dev \
		--extra airflow --constraint $(VENV)/airflow-release.txt --custom-compile-command "make lock" \
		--python-version 3.11 -o requirements.lock

clean:
	rm -rf $(DEMO_DIR) .pytest_cache .ruff_cache
