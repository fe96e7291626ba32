#!/usr/bin/env bash
# Builds, type-checks and packs the generated TypeScript SDK (sdks/ts) in a scratch directory,
# generates, builds and packs the kitchen-sink SDK (tests/protos/kitchen) the same way, then runs
# the conformance cases (tests/conformance/*.json; files with "sdk": "kitchen" through the
# kitchen-sink SDK) against them and the reference server, writing $CONFORMANCE_RESULTS/ts.json.
#
#   MICRO_GEN_BIN=$PWD/target/debug/micro-gen bash tests/conformance/ts/run.sh
#
# Environment: MICRO_GEN_BIN (required, the built micro-gen binary); MICRO_CACHE (scratch root,
# default <repo>/.cache; this script uses MICRO_CACHE/ts-sdk and writes nothing inside sdks/ or
# tests/); CONFORMANCE_DIR (the case files, default tests/conformance); CONFORMANCE_RESULTS (where
# ts.json goes, default <repo>/.cache/conformance-results).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"

if [[ -z "${MICRO_GEN_BIN:-}" ]]; then
  echo "error: set MICRO_GEN_BIN to the built micro-gen binary (cargo build -p micro-gen)" >&2
  exit 2
fi
if [[ ! -f "$MICRO_GEN_BIN" || ! -x "$MICRO_GEN_BIN" ]]; then
  echo "error: MICRO_GEN_BIN=$MICRO_GEN_BIN is not an executable file" >&2
  exit 2
fi
MICRO_GEN_BIN="$(cd "$(dirname "$MICRO_GEN_BIN")" && pwd)/$(basename "$MICRO_GEN_BIN")"
if [[ ! -f "$REPO/sdks/ts/package.json" ]]; then
  echo "error: $REPO/sdks/ts/package.json is missing; generate the SDK first (micro-gen sdk --lang ts)" >&2
  exit 2
fi

# The case files and the results directory, absolute (relative ones are the caller's).
CASES_DIR="$(cd "${CONFORMANCE_DIR:-$REPO/tests/conformance}" && pwd)"
RESULTS_DIR="${CONFORMANCE_RESULTS:-$REPO/.cache/conformance-results}"
mkdir -p "$RESULTS_DIR"
RESULTS_DIR="$(cd "$RESULTS_DIR" && pwd)"

CACHE_ROOT="${MICRO_CACHE:-$REPO/.cache}"
mkdir -p "$CACHE_ROOT"
WORK="$(cd "$CACHE_ROOT" && pwd)/ts-sdk"
SDK="$WORK/sdk"
KITCHEN="$WORK/kitchen"
RUNNER="$WORK/runner"
rm -rf "$SDK" "$KITCHEN" "$RUNNER"
rm -f "$WORK"/*.tgz
mkdir -p "$SDK" "$RUNNER"

export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

echo "==> copying sdks/ts to $SDK"
tar -C "$REPO/sdks/ts" --exclude=./node_modules --exclude=./dist -cf - . | tar -C "$SDK" -xf -

cd "$SDK"
echo "==> npm install (SDK)"
npm install --no-audit --no-fund
echo "==> npm run build"
npm run build
echo "==> tsc --noEmit"
npx --no-install tsc --noEmit -p .
echo "==> npm pack"
TARBALL_NAME="$(npm pack --loglevel=warn --pack-destination "$WORK" | tail -n 1)"
TARBALL="$WORK/$TARBALL_NAME"
if [[ ! -f "$TARBALL" ]]; then
  echo "error: npm pack did not produce $TARBALL" >&2
  exit 1
fi
echo "    $TARBALL"

echo "==> generating the kitchen-sink SDK in $KITCHEN"
"$MICRO_GEN_BIN" sdk --lang ts --proto "$REPO/tests/protos/kitchen/micro/kitchen/v1/kitchen.proto" \
  -I "$REPO/tests/protos/kitchen" --out "$KITCHEN" --package-name micro-kitchen-sdk
cd "$KITCHEN"
echo "==> npm install, build, tsc --noEmit, pack (kitchen-sink SDK)"
npm install --no-audit --no-fund
npm run build
npx --no-install tsc --noEmit -p .
KITCHEN_TARBALL_NAME="$(npm pack --loglevel=warn --pack-destination "$WORK" | tail -n 1)"
KITCHEN_TARBALL="$WORK/$KITCHEN_TARBALL_NAME"
[[ -f "$KITCHEN_TARBALL" ]] || { echo "error: npm pack did not produce $KITCHEN_TARBALL" >&2; exit 1; }
echo "    $KITCHEN_TARBALL"

echo "==> installing the conformance runner in $RUNNER"
cp "$HERE/package.json" "$HERE/conformance.test.mjs" "$HERE/usage-example.ts" "$HERE/kitchen-usage.ts" "$RUNNER/"
cd "$RUNNER"
npm install --no-audit --no-fund
# The SDKs under fixed aliases, whatever their package names.
npm install --no-audit --no-fund "micro-sdk@file:$TARBALL" "micro-kitchen-sdk@file:$KITCHEN_TARBALL"

echo "==> tsc --noEmit --strict usage-example.ts"
npx --no-install tsc --noEmit --strict \
  --target ES2022 --lib ES2022,DOM --module NodeNext --moduleResolution NodeNext --types node \
  usage-example.ts

echo "==> tsc --noEmit --strict kitchen-usage.ts (the kitchen-sink SDK's message types)"
npx --no-install tsc --noEmit --strict \
  --target ES2022 --lib ES2022,DOM --module NodeNext --moduleResolution NodeNext --types node \
  kitchen-usage.ts

echo "==> node --test"
MICRO_GEN_BIN="$MICRO_GEN_BIN" CONFORMANCE_DIR="$CASES_DIR" CONFORMANCE_RESULTS="$RESULTS_DIR" \
  MICRO_SDK_MODULE=micro-sdk MICRO_KITCHEN_SDK_MODULE=micro-kitchen-sdk \
  node --test "$RUNNER/conformance.test.mjs"

# Proto sets from outside Micro: every keyword-torture set (tests/protos/names/*) and the coverage
# set (tests/protos/coverage) are generated and type-checked with tsc --strict; for this
# language's torture set and the coverage set a program (tests/conformance/ts/names/*.ts, compiled
# with the SDK) builds messages with reserved names, checks proto2 defaults and presence, and
# calls every rpc kind through `Micro` against `micro-gen serve --echo-unknown`.
echo "==> proto sets: names/*, coverage (tsc --strict; torture and coverage run against the echo server)"
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
  [[ -n "$ECHO_ADDR" ]] && break
  sleep 0.1
done
[[ -n "$ECHO_ADDR" ]] || { cat "$NAMES/serve.log" >&2; echo "error: micro-gen serve --echo-unknown did not start" >&2; exit 1; }

# proto_set NAME ROOT [PROGRAM]: generate the SDK of every .proto under ROOT, compile it (with
# PROGRAM as src/names_check.ts) and run PROGRAM against the echo server.
proto_set() {
  local name="$1" root="$2" program="${3:-}" out="$NAMES/$1"
  local args=()
  while IFS= read -r f; do args+=(--proto "$root/$f"); done < <(cd "$root" && find . -name '*.proto' | sed 's|^\./||' | sort)
  "$MICRO_GEN_BIN" sdk --lang ts "${args[@]}" -I "$root" --out "$out" >/dev/null 2>"$out.log" || { cat "$out.log" >&2; exit 1; }
  ln -s "$SDK/node_modules" "$out/node_modules"
  if [[ -n "$program" ]]; then
    cp "$program" "$out/src/names_check.ts"
    (cd "$out" && node_modules/.bin/tsc -p tsconfig.json && node dist/names_check.js "$ECHO_ADDR")
  else
    (cd "$out" && node_modules/.bin/tsc --noEmit -p tsconfig.json)
    echo "    $name: tsc --strict ok"
  fi
}
for dir in "$REPO"/tests/protos/names/*/; do
  lang="$(basename "$dir")"
  if [[ "$lang" == ts ]]; then
    proto_set "names-$lang" "$dir" "$HERE/names/torture.ts"
  else
    proto_set "names-$lang" "$dir"
  fi
done
proto_set coverage "$REPO/tests/protos/coverage" "$HERE/names/coverage.ts"
