#!/usr/bin/env bash
# Checks the generated Rust SDK (sdks/rust) as its users and crates.io see it, then runs the
# conformance cases (tests/conformance/*.json) through it against the reference server.
#
#   bash tests/conformance/rust/run.sh
#
# On a scratch copy of sdks/rust (MICRO_CACHE/rust-sdk, default <repo>/.cache; nothing is written
# inside sdks/ or tests/), with the workspace's Cargo.lock as the starting point of its lock file:
#   cargo clippy -D warnings (default features, all features, server only), cargo doc with
#   RUSTDOCFLAGS=-D warnings, cargo test (its unit tests and the README's examples as doctests),
#   cargo publish --dry-run (packages the crate and builds the package; needs crates.io's index).
# Then, in the workspace: cargo test -p micro-client-conformance (every case through
# micro_client::Micro, "sdk": "kitchen" files through micro_kitchen::Micro, writing
# $CONFORMANCE_RESULTS/rust.json; plus the SDK's retry, interceptor and deadline tests).
#
# Environment: MICRO_CACHE (scratch root); CARGO_TARGET_DIR (default <repo>/target, shared with the
# workspace build so dependencies compile once); CONFORMANCE_RESULTS (default
# <repo>/.cache/conformance-results); MICRO_CONFORMANCE_CASES (a directory or one case file instead
# of tests/conformance). MICRO_GEN_BIN is not needed: the server runs in process.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
if [[ ! -f "$REPO/sdks/rust/Cargo.toml" ]]; then
  echo "error: $REPO/sdks/rust/Cargo.toml is missing; generate the SDK first (micro-gen sdk --lang rust)" >&2
  exit 2
fi

# The tests run with the crate's directory as working directory: make the paths absolute.
if [[ -n "${CONFORMANCE_RESULTS:-}" ]]; then
  mkdir -p "$CONFORMANCE_RESULTS"
  CONFORMANCE_RESULTS="$(cd "$CONFORMANCE_RESULTS" && pwd)"
  export CONFORMANCE_RESULTS
fi
if [[ -n "${MICRO_CONFORMANCE_CASES:-}" ]]; then
  MICRO_CONFORMANCE_CASES="$(realpath "$MICRO_CONFORMANCE_CASES")"
  export MICRO_CONFORMANCE_CASES
fi

CACHE_ROOT="${MICRO_CACHE:-$REPO/.cache}"
mkdir -p "$CACHE_ROOT"
WORK="$(cd "$CACHE_ROOT" && pwd)/rust-sdk"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "==> copying sdks/rust to $WORK"
rm -rf "$WORK"
mkdir -p "$WORK"
tar -C "$REPO/sdks/rust" --exclude=./target --exclude=./Cargo.lock -cf - . | tar -C "$WORK" -xf -
cp "$REPO/Cargo.lock" "$WORK/Cargo.lock"
# Its own workspace: the copy may sit inside this repository's workspace directory.
printf '\n[workspace]\n' >>"$WORK/Cargo.toml"

cd "$WORK"
echo "==> cargo clippy -D warnings (default features)"
cargo clippy --quiet --all-targets -- -D warnings
echo "==> cargo clippy -D warnings (all features: client, server, tls)"
cargo clippy --quiet --all-targets --all-features -- -D warnings
echo "==> cargo clippy -D warnings (server only)"
cargo clippy --quiet --lib --no-default-features --features server -- -D warnings
echo "==> cargo doc (RUSTDOCFLAGS=-D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --all-features
echo "==> cargo test (unit tests, README examples as doctests)"
cargo test --quiet --all-targets
cargo test --quiet --doc
echo "==> cargo publish --dry-run"
cargo publish --quiet --dry-run --allow-dirty

cd "$REPO"
echo "==> conformance: cargo test -p micro-client-conformance"
cargo test --quiet --locked -p micro-client-conformance -- --nocapture
