#!/usr/bin/env bash
# Assemble the build context for the speech image: the Dockerfile plus every wheel it installs,
# so the build itself needs no package index (it may not reach one: certificates, proxies).
#
#   images/speech/context.sh OUT_DIR
#   docker build -t deck2video-speech OUT_DIR
#
# OUT_DIR/wheels/deps/  third-party wheels (Linux x86_64, CPython 3.11) + requirements.txt
# OUT_DIR/wheels/app/   the deck2video wheel built from this checkout
#
# Versions are pinned to what the repo's .venv runs (the versions the tests pass with), when that
# venv exists; set DECK2VIDEO_CONSTRAINTS to a pip constraints file to pin otherwise. Tools come
# from that venv (`make install` puts uv there; $UV overrides), never from the caller's PATH, so
# the script behaves the same on a fresh machine as on a developer's. Downloaded
# wheels are kept in a pool under $DECK2VIDEO_DOCKER_CACHE (default ~/.cache/deck2video/docker)
# and resolved from there first, so the index is asked only when the pins move.
set -euo pipefail

out="${1:?usage: images/speech/context.sh OUT_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${DECK2VIDEO_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/deck2video/docker}"
pool="$cache/wheels"
extras=piper
# The image's interpreter: the wheels must match it, whatever Python runs this script.
pip_target=(--platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64
    --implementation cp --python-version 3.11 --only-binary=:all:)

venv="${VENV:-$repo/.venv}"
case "$venv" in /*) ;; *) venv="$repo/$venv" ;; esac
uv="${UV:-$venv/bin/uv}"
if [[ ! -x "$uv" ]]; then
    echo "context.sh: $uv is missing; run 'make install' first (or set UV to a uv binary)" >&2
    exit 1
fi
# pip for `pip download` (uv has no equivalent): uv runs it from its own cache.
pip_cmd() { "$uv" tool run --quiet --from pip pip "$@"; }

mkdir -p "$pool"
work="$(mktemp -d "$cache/context.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# 1. The app wheel, built from a clean copy so that the checkout gets no build/ or egg-info.
mkdir -p "$work/src"
sources=(pyproject.toml include)
[[ -f "$repo/README.md" ]] && sources+=(README.md)
tar -C "$repo" --exclude=__pycache__ --exclude='*.egg-info' -cf - "${sources[@]}" \
    | tar -C "$work/src" -xf -
"$uv" build --quiet --wheel --out-dir "$work/app" "$work/src" 2>"$work/build.log" || {
    tail -n 20 "$work/build.log" >&2
    echo "uv build $repo failed (log above)" >&2
    exit 1
}
app_wheel="$(ls "$work"/app/deck2video-*.whl)"

# 2. Pins: the host venv's versions, minus deck2video itself (editable there).
if [[ -n "${DECK2VIDEO_CONSTRAINTS:-}" ]]; then
    cp "$DECK2VIDEO_CONSTRAINTS" "$work/constraints.txt"
elif [[ -x "$venv/bin/python" ]]; then
    "$uv" pip freeze --python "$venv/bin/python" --exclude-editable \
        | grep -v -i -E '^(deck2video)[=@ ]|^-e ' >"$work/constraints.txt"
else
    : >"$work/constraints.txt"
fi

# 3. Third-party wheels: from the pool alone if it has them all, else from the index too.
download() {
    pip_cmd download --quiet --dest "$work/deps" "${pip_target[@]}" --find-links "$pool" \
        --constraint "$work/constraints.txt" "$@" "${app_wheel}[$extras]" 2>"$work/pip.log"
}
if ! download --no-index; then
    rm -rf "$work/deps"
    download || {
        tail -n 20 "$work/pip.log" >&2
        echo "pip download for ${app_wheel##*/}[$extras] failed (log above)" >&2
        exit 1
    }
fi
rm -f "$work/deps"/deck2video-*.whl
cp -n "$work/deps"/*.whl "$pool/"
# The exact set, one `name==version` per wheel, for an index-free install.
for wheel in "$work/deps"/*.whl; do
    name="$(basename "$wheel" | cut -d- -f1)"
    version="$(basename "$wheel" | cut -d- -f2)"
    echo "$name==$version"
done | sort >"$work/deps/requirements.txt"

rm -rf "$out/wheels"
mkdir -p "$out/wheels"
mv "$work/deps" "$out/wheels/deps"
mv "$work/app" "$out/wheels/app"
cp "$here/Dockerfile" "$out/Dockerfile"
echo "$out"
