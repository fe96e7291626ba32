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
# Then names and coverage (under MICRO_CACHE/rust-names): the crates of tests/protos/names/rust
# (the Rust keyword-torture set) and of tests/protos/coverage, generated with micro-gen and checked
# with cargo check (all targets, all features; tests/protos/check.sh compiles every other set);
# then tests/conformance/rust/names (a program using the Rust torture set's and the
# coverage set's crates) calls every rpc kind through the `Micro` clients against
# `micro-gen serve --echo-unknown` and checks the echoed messages, proto2 defaults and presence.
#
# Environment: MICRO_CACHE (scratch root); CARGO_TARGET_DIR (default <repo>/target, shared with the
# workspace build so dependencies compile once); CONFORMANCE_RESULTS (default
# <repo>/.cache/conformance-results); MICRO_CONFORMANCE_CASES (a directory or one case file instead
# of tests/conformance); MICRO_GEN_BIN (default: cargo build -p micro-gen, in CARGO_TARGET_DIR)
# for the names and coverage step (the conformance cases run the server in process).
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

echo "==> names and coverage: generate and cargo check names/rust and coverage"
NAMES="$(cd "$CACHE_ROOT" && pwd)/rust-names"
rm -rf "$NAMES" && mkdir -p "$NAMES"
if [[ -n "${MICRO_GEN_BIN:-}" ]]; then
  MICRO_GEN="$MICRO_GEN_BIN"
else
  # A copy: the shared target directory's binary may be rebuilt meanwhile (e.g. without `serve`).
  cargo build --quiet -p micro-gen
  cp "$CARGO_TARGET_DIR/debug/micro-gen" "$NAMES/micro-gen"
  MICRO_GEN="$NAMES/micro-gen"
fi
"$MICRO_GEN" serve --help >/dev/null || { echo "error: $MICRO_GEN has no serve command (built without the serve feature?)" >&2; exit 2; }
# generate ROOT OUT CRATE: one crate from every .proto under ROOT (imports relative to ROOT).
generate() {
  local root="$1" out="$2" crate="$3" protos=()
  while IFS= read -r f; do protos+=(--proto "$f"); done < <(cd "$root" && find . -name '*.proto' | sed 's|^\./||' | sort)
  (cd "$root" && "$MICRO_GEN" sdk --lang rust "${protos[@]}" -I . --out "$out" --package-name "$crate" 2>&1 | grep -v '^rust: wrote' || true)
  [[ -f "$out/Cargo.toml" ]] || { echo "error: micro-gen did not generate $out from $root" >&2; exit 1; }
  printf '\n[workspace]\n' >>"$out/Cargo.toml" # its own workspace, wherever the cache is
  cp "$REPO/Cargo.lock" "$out/Cargo.lock"
}
# Only the two sets the round trip uses: tests/protos/check.sh compiles every other set in every language.
for root in "$REPO/tests/protos/names/rust/" "$REPO/tests/protos/coverage/"; do
  set_name="$(basename "$root")"
  [[ "$root" == */names/*/ ]] && set_name="names-$set_name"
  echo "--> $set_name"
  generate "$root" "$NAMES/$set_name" "micro-$set_name"
  (cd "$NAMES/$set_name" && cargo check --quiet --all-targets --all-features)
done

echo "==> names and coverage: round trips through micro-gen serve --echo-unknown"
cp -R "$HERE/names" "$NAMES/app"
cp "$REPO/Cargo.lock" "$NAMES/app/Cargo.lock"
(cd "$NAMES/app" && cargo build --quiet)
SERVER_LOG="$NAMES/serve.log"
: >"$SERVER_LOG"  # exists before the server starts, so polling it never fails
"$MICRO_GEN" serve --address 127.0.0.1:0 --echo-unknown >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
ADDRESS=""
for _ in $(seq 1 100); do
  ADDRESS="$(sed -n 's/.*micro-gen serve listening on \([^ ]*\).*/\1/p' "$SERVER_LOG" | head -n 1)"
  [[ -n "$ADDRESS" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; echo "error: micro-gen serve exited" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$ADDRESS" ]] || { echo "error: micro-gen serve did not start" >&2; exit 1; }
MICRO_ADDRESS="$ADDRESS" "$CARGO_TARGET_DIR/debug/micro-names-roundtrip"
kill "$SERVER_PID"
