#!/usr/bin/env bash
# Build the images the Docker tests use, on whatever engine $DOCKER_HOST names, with no registry:
#   1. deck2video-base:bookworm  from a debootstrap rootfs (images/base/build.sh; cached tarball)
#   2. the speech image on top    from host-prepared wheels (images/speech/context.sh)
#
#   DOCKER_HOST=unix:///path/docker.sock scripts/docker_base.sh [SPEECH_TAG]
#
# Prints the speech image's tag (default deck2video-speech:test). tests/docker/conftest.py runs
# this against the engine it starts; run it by hand against any local engine the same way.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tag="${1:-deck2video-speech:test}"

base="$("$repo/images/base/build.sh")"
context="$(mktemp -d "${TMPDIR:-/tmp}/deck2video-speech-context.XXXXXX")"
trap 'rm -rf "$context"' EXIT
"$repo/images/speech/context.sh" "$context" >/dev/null
# The legacy builder: what Debian's docker.io ships without the buildx plugin.
DOCKER_BUILDKIT=0 docker build --quiet --build-arg "BASE_IMAGE=$base" --tag "$tag" "$context" \
    >/dev/null
echo "$tag"
