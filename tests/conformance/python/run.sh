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

# Proto sets from outside Micro: every keyword-torture set (tests/protos/names/*) and the coverage
# set (tests/protos/coverage) are generated, checked with mypy --strict and imported; for this
# language's torture set and the coverage set a program (tests/conformance/python/names/*.py, also
# under mypy --strict) builds messages with reserved names, checks proto2 defaults and presence,
# and calls every rpc kind through `Micro` against `micro-gen serve --echo-unknown`.
echo "== proto sets: names/*, coverage (mypy --strict, import; torture and coverage run against the echo server)"
NAMES="$WORK/names"
rm -rf "$NAMES"
mkdir -p "$NAMES"
: >"$NAMES/serve.log"  # exists before the server starts, so polling it never fails
"$MICRO_GEN_BIN" serve --address 127.0.0.1:0 --echo-unknown >"$NAMES/serve.log" 2>&1 &
SERVE_PID=$!
trap 'kill "$SERVE_PID" 2>/dev/null || true' EXIT
ECHO_ADDR=""
for _ in $(seq 1 100); do
    ECHO_ADDR="$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$NAMES/serve.log" | head -n 1)"
    [ -n "$ECHO_ADDR" ] && break
    sleep 0.1
done
[ -n "$ECHO_ADDR" ] || { cat "$NAMES/serve.log" >&2; echo "run.sh: micro-gen serve --echo-unknown did not start" >&2; exit 1; }

# proto_set NAME ROOT [PROGRAM]: generate the SDK of every .proto under ROOT, mypy --strict it
# (and PROGRAM), import every module, and run PROGRAM against the echo server.
proto_set() {
    local name="$1" root="$2" program="${3:-}" out="$NAMES/$1"
    local args=()
    while IFS= read -r f; do args+=(--proto "$root/$f"); done < <(cd "$root" && find . -name '*.proto' | sed 's|^\./||' | sort)
    "$MICRO_GEN_BIN" sdk --lang python "${args[@]}" -I "$root" --out "$out" >/dev/null 2>"$out.log" || { cat "$out.log" >&2; exit 1; }
    (cd "$out/src" && "$PY" -m mypy --strict --cache-dir "$CACHE/mypy-names" -p micro >/dev/null) || {
        (cd "$out/src" && "$PY" -m mypy --strict --cache-dir "$CACHE/mypy-names" -p micro) >&2
        exit 1
    }
    # protobuf's default runtime (upb) cannot load a proto2 map whose value is an enum without a
    # zero value ("invalid subenum"); such a set is imported with the pure-Python runtime instead.
    local import_all='import importlib, pkgutil, micro
for m in pkgutil.walk_packages(micro.__path__, "micro."):
    importlib.import_module(m.name)'
    if ! (cd "$out/src" && "$PY" -c "$import_all" 2>"$out.import.log"); then
        grep -q "invalid subenum" "$out.import.log" || { cat "$out.import.log" >&2; exit 1; }
        echo "   $name: upb rejects a proto2 map of a zero-less enum; importing with the pure-Python runtime"
        (cd "$out/src" && PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python "$PY" -c "$import_all")
    fi
    if [ -n "$program" ]; then
        cp "$program" "$out/src/names_check.py"
        (cd "$out/src" && "$PY" -m mypy --strict --cache-dir "$CACHE/mypy-names" names_check.py >/dev/null && "$PY" names_check.py "$ECHO_ADDR")
    else
        echo "   $name: mypy --strict and import ok"
    fi
}
for dir in "$REPO"/tests/protos/names/*/; do
    lang="$(basename "$dir")"
    if [ "$lang" = python ]; then
        proto_set "names-$lang" "$dir" "$REPO/tests/conformance/python/names/torture.py"
    else
        proto_set "names-$lang" "$dir"
    fi
done
proto_set coverage "$REPO/tests/protos/coverage" "$REPO/tests/conformance/python/names/coverage.py"
