#!/usr/bin/env bash
# Builds, installs, checks and conformance-tests the generated Ruby SDK (sdks/ruby).
#
#   MICRO_GEN_BIN=target/debug/micro-gen bash tests/conformance/ruby/run.sh [minitest args...]
#
# RubyGems.org is not used: Ruby, google-protobuf, grpc and yard come from Debian (apt-get install
# ruby ruby-google-protobuf ruby-grpc yard; skipped when they are installed already), and the
# gemspec's dependency ranges admit Debian's versions. State lives under ${MICRO_CACHE:-<repo>/.cache}:
# rb-work (a scratch copy of the SDK, the built .gem) and rb-gems (a scratch GEM_HOME the .gem is
# installed into, offline). Steps: `ruby -wc` every file, `yard stats` (100 % documented, no
# warning), `gem build` (must print no warning), `gem install --local` into the scratch GEM_HOME
# and load it from there with -w (must print no warning), a usage smoke script, the
# keyword-torture fixture (keywords/: generated into the scratch directory, every rpc called
# through escaped names), the keyword-torture set tests/protos/names/ruby and the coverage set
# tests/protos/coverage (each generated, `ruby -wc` on every file, then names/*.rb loads it with
# warnings on and round-trips messages through the four rpc kinds against
# `micro-gen serve --echo-unknown`, proto2 defaults and presence too), then the minitest
# conformance runner against the copy's lib. The
# kitchen-sink SDK (tests/protos/kitchen) is generated into rb-work/kitchen (`ruby -wc` on every
# file) and the `"sdk": "kitchen"` case files run in a second minitest process with its lib on
# the load path (both SDKs define Micro::Client). Results go to $CONFORMANCE_RESULTS/ruby.json
# (default <repo>/.cache/conformance-results); CONFORMANCE_DIR picks another directory of cases.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
CACHE="${MICRO_CACHE:-$REPO/.cache}"
WORK="$CACHE/rb-work"
GEMS="$CACHE/rb-gems"

: "${MICRO_GEN_BIN:?set MICRO_GEN_BIN to the micro-gen binary (cargo build -p micro-gen)}"
MICRO_GEN_BIN="$(cd "$(dirname "$MICRO_GEN_BIN")" && pwd)/$(basename "$MICRO_GEN_BIN")"
export MICRO_GEN_BIN
[ -x "$MICRO_GEN_BIN" ] || { echo "run.sh: MICRO_GEN_BIN=$MICRO_GEN_BIN is not executable" >&2; exit 1; }
# The results directory (and a CONFORMANCE_DIR of other cases), absolute: minitest runs elsewhere.
CONFORMANCE_RESULTS="${CONFORMANCE_RESULTS:-$REPO/.cache/conformance-results}"
mkdir -p "$CONFORMANCE_RESULTS"
export CONFORMANCE_RESULTS="$(cd "$CONFORMANCE_RESULTS" && pwd)"
if [ -n "${CONFORMANCE_DIR:-}" ]; then export CONFORMANCE_DIR="$(cd "$CONFORMANCE_DIR" && pwd)"; fi
shopt -s nullglob
gemspecs=("$REPO"/sdks/ruby/*.gemspec)
shopt -u nullglob
[ "${#gemspecs[@]}" -eq 1 ] || { echo "run.sh: expected one gemspec in sdks/ruby; run: micro-gen sdk --lang ruby" >&2; exit 1; }
GEMSPEC="$(basename "${gemspecs[0]}")"

if ! ruby -e 'require "google/protobuf"; require "grpc"' >/dev/null 2>&1 || ! command -v yard >/dev/null; then
    echo "== installing ruby, ruby-google-protobuf, ruby-grpc, yard (apt)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ruby ruby-google-protobuf ruby-grpc yard >/dev/null
fi
echo "   $(ruby -e 'require "google/protobuf"; require "grpc"; print "ruby #{RUBY_VERSION} | google-protobuf #{Gem.loaded_specs["google-protobuf"]&.version} | grpc #{GRPC::VERSION}"')"

rm -rf "$WORK" "$GEMS"
mkdir -p "$WORK" "$GEMS"
cp -R "$REPO/sdks/ruby" "$WORK/sdk"

echo "== ruby -wc (every file)"
while IFS= read -r -d '' file; do
    out="$(ruby -wc "$file" 2>&1)" || { echo "$out" >&2; exit 1; }
    [ "$out" = "Syntax OK" ] || { echo "run.sh: $file: $out" >&2; exit 1; }
done < <(find "$WORK/sdk" \( -name '*.rb' -o -name '*.gemspec' \) -print0)

echo "== yard: every module, class, constant and method documented, no warnings"
(cd "$WORK/sdk" && yard stats --list-undoc --no-save --no-output 'lib/**/*.rb' >"$WORK/yard.log" 2>&1) || { cat "$WORK/yard.log" >&2; exit 1; }
if grep -q '\[warn\]' "$WORK/yard.log" || ! grep -q '100.00% documented' "$WORK/yard.log"; then
    cat "$WORK/yard.log" >&2; echo "run.sh: yard found undocumented objects or warnings" >&2; exit 1
fi

echo "== gem build"
(cd "$WORK/sdk" && gem build "$GEMSPEC" >"$WORK/build.log" 2>&1) || { cat "$WORK/build.log" >&2; exit 1; }
if grep -qi 'warning' "$WORK/build.log"; then cat "$WORK/build.log" >&2; echo "run.sh: gem build warned" >&2; exit 1; fi
shopt -s nullglob
built=("$WORK"/sdk/*.gem)
shopt -u nullglob
[ "${#built[@]}" -eq 1 ] || { echo "run.sh: expected one .gem in $WORK/sdk" >&2; exit 1; }
echo "   ${built[0]##*/}"

echo "== gem install --local (scratch GEM_HOME; dependencies resolve to Debian's gems)"
GEM_HOME="$GEMS" gem install --local --no-document "${built[0]}" >/dev/null
NAME="$(ruby -e "print Gem::Specification.load('$WORK/sdk/$GEMSPEC').name")"
out="$(cd "$WORK" && GEM_HOME="$GEMS" ruby -w -e "gem '$NAME'; require 'micro'; print Micro::USER_AGENT" 2>&1)"
[ "$out" = "$(cd "$WORK" && GEM_HOME="$GEMS" ruby -e "gem '$NAME'; require 'micro'; print Micro::USER_AGENT" 2>/dev/null)" ] && [[ "$out" == micro-sdk-ruby/* ]] || {
    echo "run.sh: loading the installed gem printed: $out" >&2; exit 1; }
echo "   $out"

echo "== usage smoke (installed gem)"
(cd "$WORK" && GEM_HOME="$GEMS" ruby -w "$REPO/tests/conformance/ruby/usage_example.rb")

echo "== keyword-torture fixture (keywords/keywords.proto, generated into $WORK/keywords)"
"$MICRO_GEN_BIN" sdk --lang ruby --out "$WORK/keywords" -I "$REPO/tests/conformance/ruby/keywords" \
    --proto "$REPO/tests/conformance/ruby/keywords/keywords.proto" >/dev/null
(cd "$WORK" && ruby -I"$WORK/keywords/lib" "$REPO/tests/conformance/ruby/keywords/test_keywords.rb")

echo "== names and coverage sets (tests/protos/names/ruby, tests/protos/coverage: generate, ruby -wc,"
echo "   round trip through the four rpc kinds against micro-gen serve --echo-unknown)"
: >"$WORK/echo.log"  # exists before the server starts, so polling it never fails
"$MICRO_GEN_BIN" serve --address 127.0.0.1:0 --echo-unknown >"$WORK/echo.log" 2>&1 &
ECHO_PID=$!
trap 'kill "$ECHO_PID" 2>/dev/null || true' EXIT
ECHO_ADDR=""
for _ in $(seq 1 100); do
    ECHO_ADDR="$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$WORK/echo.log" | head -n 1)"
    [ -n "$ECHO_ADDR" ] && break
    kill -0 "$ECHO_PID" 2>/dev/null || { cat "$WORK/echo.log" >&2; echo "run.sh: the echo server exited" >&2; exit 1; }
    sleep 0.1
done
[ -n "$ECHO_ADDR" ] || { cat "$WORK/echo.log" >&2; echo "run.sh: the echo server did not start" >&2; exit 1; }
for set in names:tests/protos/names/ruby:names_roundtrip coverage:tests/protos/coverage:coverage_roundtrip; do
    IFS=: read -r name root program <<<"$set"
    protos=()
    while IFS= read -r -d '' proto; do protos+=(--proto "$proto"); done \
        < <(find "$REPO/$root" -name '*.proto' -print0 | sort -z)
    "$MICRO_GEN_BIN" sdk --lang ruby --out "$WORK/$name" -I "$REPO/$root" "${protos[@]}" >/dev/null 2>"$WORK/$name.log" \
        || { cat "$WORK/$name.log" >&2; exit 1; }
    while IFS= read -r -d '' file; do
        out="$(ruby -wc "$file" 2>&1)" || { echo "$out" >&2; exit 1; }
        [ "$out" = "Syntax OK" ] || { echo "run.sh: $file: $out" >&2; exit 1; }
    done < <(find "$WORK/$name" \( -name '*.rb' -o -name '*.gemspec' \) -print0)
    out="$(cd "$WORK" && ruby -w -I"$WORK/$name/lib" "$REPO/tests/conformance/ruby/names/$program.rb" "$ECHO_ADDR" 2>&1)" \
        || { echo "$out" >&2; exit 1; }
    if grep -q 'warning:' <<<"$out"; then echo "$out" >&2; echo "run.sh: ruby printed warnings" >&2; exit 1; fi
    echo "   $out"
done
kill "$ECHO_PID" 2>/dev/null || true

echo "== kitchen-sink SDK (tests/protos/kitchen, generated into $WORK/kitchen)"
"$MICRO_GEN_BIN" sdk --lang ruby --proto "$REPO/tests/protos/kitchen/micro/kitchen/v1/kitchen.proto" \
    -I "$REPO/tests/protos/kitchen" --out "$WORK/kitchen" --package-name micro-kitchen-sdk >/dev/null
while IFS= read -r -d '' file; do
    out="$(ruby -wc "$file" 2>&1)" || { echo "$out" >&2; exit 1; }
    [ "$out" = "Syntax OK" ] || { echo "run.sh: $file: $out" >&2; exit 1; }
done < <(find "$WORK/kitchen" \( -name '*.rb' -o -name '*.gemspec' \) -print0)

rm -f "$CONFORMANCE_RESULTS/ruby.json"
echo "== conformance (minitest, core SDK)"
cd "$WORK"
set +e
CONFORMANCE_SDK=core ruby -w -I"$WORK/sdk/lib" "$REPO/tests/conformance/ruby/test_conformance.rb" "$@" 2>&1 | tee "$WORK/conformance.log"
status="${PIPESTATUS[0]}"
echo "== conformance (minitest, kitchen-sink SDK)"
CONFORMANCE_SDK=kitchen CONFORMANCE_RESULTS_MERGE=1 ruby -w -I"$WORK/kitchen/lib" \
    "$REPO/tests/conformance/ruby/test_conformance.rb" "$@" 2>&1 | tee "$WORK/conformance-kitchen.log"
kitchen_status="${PIPESTATUS[0]}"
set -e
if grep -q 'warning:' "$WORK/conformance.log" "$WORK/conformance-kitchen.log"; then echo "run.sh: ruby printed warnings" >&2; exit 1; fi
[ "$status" -eq 0 ] || exit "$status"
exit "$kitchen_status"
