#!/usr/bin/env bash
# Make the local base image `deck2video-base:bookworm` for tests: no registry is reachable, so the
# base comes from debootstrap instead of `docker pull python:3.11-slim-bookworm`.
#
#   images/base/build.sh            # uses $DOCKER_HOST (or the default socket)
#
# The rootfs tarball is cached (debootstrap takes minutes, importing it seconds) under
# $DECK2VIDEO_DOCKER_CACHE (default: ~/.cache/deck2video/docker, outside the checkout so that a
# fresh clone, as CI uses, still finds it). Its name carries a hash of the recipe below, so
# changing the package list (or bumping `revision`) rebuilds it instead of reusing a stale one.
set -euo pipefail

cache="${DECK2VIDEO_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/deck2video/docker}"
tag="${DECK2VIDEO_BASE_IMAGE:-deck2video-base:bookworm}"
suite=bookworm
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# python3-venv brings ensurepip, so the Dockerfile can make its venv the same way on this base and
# on python:3.11-slim. ca-certificates: for S3 over https in production-like runs.
packages=python3,python3-venv,ca-certificates

revision=1  # bump when the rootfs steps below change
recipe="$suite $packages $revision"
key="$(printf '%s' "$recipe" | sha256sum | cut -c1-12)"
tarball="$cache/base-$suite-$key.tar"

make_rootfs() {
    local work
    work="$(mktemp -d "$cache/rootfs.XXXXXX")"
    # shellcheck disable=SC2064  # expand now: $work is local
    trap "rm -rf '$work'" RETURN
    debootstrap --variant=minbase --include="$packages" --cache-dir="$cache/debs" \
        "$suite" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
        tail -n 20 "$work/debootstrap.log" >&2
        echo "debootstrap $suite failed (log above)" >&2
        return 1
    }
    # Trim what an image never needs: package lists, caches, docs, man pages.
    rm -rf "$work/root"/var/lib/apt/lists/* "$work/root"/var/cache/apt/* \
        "$work/root"/usr/share/doc/* "$work/root"/usr/share/man/* "$work/root"/usr/share/locale/*
    tar --numeric-owner -C "$work/root" -cf "$tarball.part" .
    rm -f "$cache"/base-"$suite"-*.tar  # older recipes
    mv "$tarball.part" "$tarball"
}

mkdir -p "$cache/debs"
if [[ ! -s "$tarball" ]]; then
    echo "debootstrap $suite (+$packages) -> $tarball" >&2
    make_rootfs
fi
# Re-importing makes a new image id each time (and leaves the old one dangling): skip it when the
# tag already holds this recipe.
have="$(docker image inspect --format '{{ index .Config.Labels "org.deck2video.base" }}' "$tag" \
    2>/dev/null || true)"
if [[ "$have" != "$key" ]]; then
    docker import \
        --change "LABEL org.deck2video.base=$key" \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        "$tarball" "$tag" >/dev/null
fi
echo "$tag"
