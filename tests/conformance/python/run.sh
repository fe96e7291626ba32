#!/usr/bin/env bash
# Builds, installs, type-checks and conformance-tests the generated Python SDK (sdks/python).
#
#   MICRO_GEN_BIN=target/debug/micro-gen bash tests/conformance/python/run.sh [pytest args...]
#
# Needs python3 (>= 3.10 for the tools; the SDK itself supports 3.9) with venv, and PyPI. State
# lives under ${MICRO_CACHE:-<repo>/.cache}: the virtualenv py-venv (reused), the built sdist and
# wheel in py-dist, a scratch copy of the SDK (the build never writes inside sdks/python) and
# mypy's cache. Steps: build sdist + wheel, install the wheel, import it, mypy --strict the SDK
# sources and tests/conformance/python/usage_example.py, then pytest the conformance cases.
# The kitchen-sink SDK (tests/protos/kitchen) is generated into py-work/kitchen, built into a
# wheel and installed with `pip --target` into py-work/kitchen-site (its import name is `micro`
# too, so it stays out of the venv; the runner loads it as `micro_kitchen` from
# MICRO_KITCHEN_SDK_PATH); mypy --strict checks its sources and
# tests/conformance/python/kitchen_usage.py. Results go to $CONFORMANCE_RESULTS/python.json
# (default <repo>/.cache/conformance-results); CONFORMANCE_DIR picks another directory of cases.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
CACHE="${MICRO_CACHE:-$REPO/.cache}"
VENV="$CACHE/py-venv"
DIST="$CACHE/py-dist"
WORK="$CACHE/py-work"
PYTHON="${PYTHON:-python3}"

: "${MICRO_GEN_BIN:?set MICRO_GEN_BIN to the micro-gen binary (cargo build -p micro-gen)}"
MICRO_GEN_BIN="$(cd "$(dirname "$MICRO_GEN_BIN")" && pwd)/$(basename "$MICRO_GEN_BIN")"
export MICRO_GEN_BIN
[ -x "$MICRO_GEN_BIN" ] || { echo "run.sh: MICRO_GEN_BIN=$MICRO_GEN_BIN is not executable" >&2; exit 1; }
[ -f "$REPO/sdks/python/pyproject.toml" ] || {
    echo "run.sh: sdks/python/pyproject.toml is missing; run: micro-gen sdk --lang python" >&2
    exit 1
}

# Tools, pinned so results are reproducible; grpcio/protobuf are the newest the wheel allows.
TOOLS=(
    "build==1.6.1"
    "hatchling==1.33.0"
    "pytest==9.2.0"
    "mypy==2.4.1"
    "types-protobuf==7.35.1.20260906"
    "types-grpcio==1.85.0.20261028"
)

# The results directory (and a CONFORMANCE_DIR of other cases), absolute: pytest runs elsewhere.
CONFORMANCE_RESULTS="${CONFORMANCE_RESULTS:-$REPO/.cache/conformance-results}"
mkdir -p "$CONFORMANCE_RESULTS"
export CONFORMANCE_RESULTS="$(cd "$CONFORMANCE_RESULTS" && pwd)"
if [ -n "${CONFORMANCE_DIR:-}" ]; then export CONFORMANCE_DIR="$(cd "$CONFORMANCE_DIR" && pwd)"; fi

export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
export GRPC_VERBOSITY="${GRPC_VERBOSITY:-ERROR}"   # no grpc-core INFO lines (GOAWAY on server stop)
if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
echo "== installing tools"
"$PY" -m pip install -q "${TOOLS[@]}"

echo "== building sdist and wheel"
rm -rf "$DIST" "$WORK"
mkdir -p "$DIST" "$WORK"
cp -R "$REPO/sdks/python" "$WORK/sdk"
"$PY" -m build --no-isolation --outdir "$DIST" "$WORK/sdk" >"$WORK/build.log" 2>&1 || {
    cat "$WORK/build.log" >&2
    exit 1
}
shopt -s nullglob
wheels=("$DIST"/*.whl)
sdists=("$DIST"/*.tar.gz)
shopt -u nullglob
[ "${#wheels[@]}" -eq 1 ] && [ "${#sdists[@]}" -eq 1 ] || { echo "run.sh: expected one wheel and one sdist in $DIST" >&2; exit 1; }
echo "   ${wheels[0]##*/} ${sdists[0]##*/}"

echo "== installing the wheel"
"$PY" -m pip install -q --force-reinstall --no-deps "${wheels[0]}"
"$PY" -m pip install -q --upgrade --upgrade-strategy eager "${wheels[0]}"   # newest allowed grpcio/protobuf
(cd "$WORK" && "$PY" -c "import micro, google.protobuf, grpc; print('   micro', micro.__version__, '| protobuf', google.protobuf.__version__, '| grpcio', grpc.__version__)")

echo "== mypy --strict (SDK sources, usage example)"
(cd "$WORK/sdk/src" && "$PY" -m mypy --strict --cache-dir "$CACHE/mypy" -p micro)
(cd "$WORK" && "$PY" -m mypy --strict --cache-dir "$CACHE/mypy" "$REPO/tests/conformance/python/usage_example.py")

echo "== kitchen-sink SDK: generate, build, install into $WORK/kitchen-site, mypy --strict"
"$MICRO_GEN_BIN" sdk --lang python --proto "$REPO/tests/protos/kitchen/micro/kitchen/v1/kitchen.proto" \
    -I "$REPO/tests/protos/kitchen" --out "$WORK/kitchen" --package-name micro-kitchen-sdk >/dev/null
"$PY" -m build --no-isolation --wheel --outdir "$WORK/kitchen-dist" "$WORK/kitchen" >"$WORK/kitchen-build.log" 2>&1 || {
    cat "$WORK/kitchen-build.log" >&2
    exit 1
}
"$PY" -m pip install -q --no-deps --target "$WORK/kitchen-site" "$WORK"/kitchen-dist/*.whl
(cd "$WORK/kitchen/src" && "$PY" -m mypy --strict --cache-dir "$CACHE/mypy-kitchen" -p micro)
(cd "$WORK/kitchen-site" && "$PY" -m mypy --strict --cache-dir "$CACHE/mypy-kitchen" "$REPO/tests/conformance/python/kitchen_usage.py")

echo "== conformance"
cd "$WORK"
MICRO_KITCHEN_SDK_PATH="$WORK/kitchen-site" \
    "$PY" -m pytest -q -p no:cacheprovider --rootdir "$REPO/tests/conformance/python" \
    "$REPO/tests/conformance/python" "$@"
