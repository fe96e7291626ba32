#!/usr/bin/env bash
# Runs the quickstart examples as a new user would: against `micro-gen serve`, with the SDK
# packages the conformance scripts just built (the npm tarball, the installed wheel, the scratch
# copy of the Rust crate).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
CACHE="$(cd "${MICRO_CACHE:-$REPO/.cache}" && pwd)"
: "${MICRO_GEN_BIN:?set MICRO_GEN_BIN to the built micro-gen binary}"
TARBALL="$(ls "$CACHE"/ts-sdk/micro-sdk-*.tgz | head -n 1)"
PY="$CACHE/py-venv/bin/python"

log="$(mktemp)"
"$MICRO_GEN_BIN" serve --address 127.0.0.1:0 >"$log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
address="$(sed -n 's/.*listening on //p' "$log")"
[[ -n "$address" ]] || { echo "error: server did not start" >&2; exit 1; }
export MICRO_ADDRESS="$address"

echo "==> TypeScript quickstart (npm install of the packed SDK)"
app="$CACHE/example-ts"
rm -rf "$app" && mkdir -p "$app"
cp "$HERE/ts/quickstart.mjs" "$app/"
(cd "$app" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "$TARBALL" "@connectrpc/connect@~2.0.4" >/dev/null && node quickstart.mjs)

echo "==> Python quickstart (the installed wheel)"
"$PY" "$HERE/python/quickstart.py"

echo "==> Rust quickstart (the crate's examples/quickstart.rs, which its README shows)"
(cd "$CACHE/rust-sdk" && CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}" cargo run --quiet --example quickstart)

echo "==> Ruby quickstart (the gem tests/conformance/ruby/run.sh installed into its scratch GEM_HOME)"
(cd "$CACHE" && GEM_HOME="$CACHE/rb-gems" ruby -w "$HERE/ruby/quickstart.rb")

echo "==> Java quickstart (the jar and classpath tests/conformance/java/run.sh built, as a source-file program)"
java -cp "$(ls "$CACHE"/java-work/sdk/target/*.jar | head -n 1):$(cat "$CACHE/java-work/classpath.txt")" "$HERE/java/Quickstart.java"

echo "==> Go quickstart (a module that replaces the SDK with the copy tests/conformance/go/run.sh checked)"
app="$CACHE/example-go"
rm -rf "$app" && mkdir -p "$app"
cp "$HERE/go/main.go" "$app/"
cp "$CACHE/go-sdk/sdk/go.sum" "$app/go.sum"
printf 'module example.com/quickstart\n\ngo 1.26.0\n\nrequire github.com/micro/micro-sdk-go v0.0.0\n\nreplace github.com/micro/micro-sdk-go => %s\n' "$CACHE/go-sdk/sdk" >"$app/go.mod"
(cd "$app" && export GOFLAGS=-mod=mod GOTOOLCHAIN=local && go mod tidy && go run .)
echo "examples: 6 passed, 0 failed"
