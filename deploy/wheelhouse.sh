#!/usr/bin/env bash
# The wheelhouse deploy/Dockerfile installs from, made on a machine with PyPI access (the image
# build itself needs no network): every locked dependency of the stack's packages as a wheel
# (requirements.txt pins them, with their hashes), and the workspace's own packages built as
# wheels. Run from anywhere: deploy/wheelhouse.sh [DIR] (default deploy/wheelhouse), then
# docker compose -f deploy/compose.yaml build (its build context is that folder).
# The wheels are for this machine's platform: make it where the image runs (Linux, x86-64 or
# arm64, CPython 3.11) or pass pip's --platform/--python-version in PIP_WHEEL_ARGS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/deploy/wheelhouse}
uv=$(command -v uv || echo "$root/.tools/bin/uv")
[ -x "$uv" ] || { echo "wheelhouse.sh: uv not found: run make install first (it bootstraps uv)" >&2; exit 1; }
export UV_PYTHON_DOWNLOADS=never
rm -rf "$out"
mkdir -p "$out/dependencies" "$out/project"
# The locked dependencies of every workspace package, without the dev tools or the packages:
# downloaded with the lock's hashes checked (a dependency published only as source, such as
# nkeys, is built into a wheel here, so the image's install checks the versions, not hashes).
"$uv" export --project "$root" --frozen --no-dev --all-packages --no-emit-workspace \
    --no-header --output-file "$out/locked.txt" >/dev/null
# shellcheck disable=SC2086 # PIP_WHEEL_ARGS is a list of arguments
"$uv" tool run --from 'pip>=24' pip wheel --quiet --no-deps --require-hashes \
    --requirement "$out/locked.txt" --wheel-dir "$out/dependencies" ${PIP_WHEEL_ARGS:-}
"$uv" export --project "$root" --frozen --no-dev --all-packages --no-emit-workspace \
    --no-header --no-hashes --output-file "$out/dependencies/requirements.txt" >/dev/null
rm "$out/locked.txt"
"$uv" build --project "$root" --all-packages --wheel --quiet --out-dir "$out/project"
rm -f "$out/project/.gitignore"
echo "wheelhouse: $out ($(ls "$out/dependencies" | grep -c '\.whl$') dependencies, $(ls "$out/project" | grep -c '\.whl$') packages)"
