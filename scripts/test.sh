#!/usr/bin/env bash
# Runs every test of micro-gen on a fresh machine: the Rust workspace (unit, golden, CLI and
# server tests, clippy), the drift check of sdks/, and for each generated SDK its build, package,
# strict type check (Rust: clippy and rustdoc) and conformance run against the reference server.
# Installs what it needs: npm packages (into scratch copies), a Python virtualenv and crates
# (cargo), under $MICRO_CACHE (default .cache/) and target/.
set -euo pipefail
cd "$(dirname "$0")/.."
export MICRO_CACHE="${MICRO_CACHE:-$PWD/.cache}"
mkdir -p "$MICRO_CACHE"

suites=0
step() { suites=$((suites + 1)); printf '\n==> %s\n' "$*"; }
start=$(date +%s)

step "Rust: build the workspace once (debug)"
cargo build --workspace --all-targets --locked

step "Rust: tests"
cargo test --workspace --locked

step "Rust: formatting"
cargo fmt --all --check

step "Rust: clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

export MICRO_GEN_BIN="$PWD/target/debug/micro-gen"
# Every runner writes its language × group counts here; the matrix step reads them. Clear the
# results of an earlier run so a runner that did not run shows as missing.
export CONFORMANCE_RESULTS="$MICRO_CACHE/conformance-results"
rm -rf "$CONFORMANCE_RESULTS"

step "sdks/ is exactly what the generator makes"
"$MICRO_GEN_BIN" sdk --lang all --check

step "tests/protos/kitchen/rust is exactly what the generator makes"
"$MICRO_GEN_BIN" sdk --lang rust --proto tests/protos/kitchen/micro/kitchen/v1/kitchen.proto -I tests/protos/kitchen \
  --out tests/protos/kitchen/rust --package-name micro-kitchen --check

step "TypeScript SDK: npm install, build, npm pack, tsc --strict, conformance"
bash tests/conformance/ts/run.sh

step "Python SDK: venv, python -m build, mypy --strict, conformance"
bash tests/conformance/python/run.sh

step "Rust SDK: clippy, doc, publish dry run, conformance"
bash tests/conformance/rust/run.sh

step "Ruby SDK: apt ruby/protobuf/grpc/yard, ruby -wc, yard, gem build + install --local, keyword fixture, conformance"
bash tests/conformance/ruby/run.sh

step "Java SDK: one mvn verify (javac -Xlint, warnings as errors, jar, JUnit 5 conformance + runtime tests), javadoc doclint, keyword fixture"
bash tests/conformance/java/run.sh

step "Go SDK: go mod tidy no-op, gofmt -l, go vet, gen/ equals protoc-gen-go + protoc-gen-go-grpc output, go test conformance"
bash tests/conformance/go/run.sh

step "Conformance matrix: language × case group (from the runs above); fails on any failure or gap"
bash tests/conformance/matrix.sh --no-run

step "Publish round trip: package every SDK, publish to Verdaccio, pypiserver, a Maven file repository, a local gem repository, a GOPROXY=file:// layout and crates.io (dry run); registry-only example apps"
bash tests/publish/run.sh

step "Golden cases: tsc, mypy --strict and a round trip of every generated SDK"
bash tests/golden/check.sh

step "Examples: the quickstarts against micro-gen serve"
bash examples/run.sh

step "Proto sets: every SDK compiles for the keyword-torture sets (tests/protos/names/*) and the coverage set"
bash tests/protos/check.sh

step "Random schemas: 20 seeded random proto sets, all six SDKs generated and compiled"
bash scripts/random-schemas.sh 20

step "Fuzz smoke: cargo-fuzz targets load and descriptor, 30 s (scripts/fuzz.sh runs the 10-minute fuzz)"
FUZZ_SECONDS=30 FUZZ_FLAGS="--dev -s none" bash scripts/fuzz.sh

printf '\nall tests passed in %ss\n' "$(( $(date +%s) - start ))"
echo "suites: $suites passed, 0 failed"
