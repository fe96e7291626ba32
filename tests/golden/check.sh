#!/usr/bin/env bash
# Compiles and runs every golden case's generated SDKs (tests/golden/*/expected/<lang>), which
# cover what the core protos do not: nested messages and enums, oneofs, maps with integer keys,
# proto3 optional, imports across packages, well-known types, escaped names, every streaming kind.
#   TypeScript: tsc --noEmit (strict, from the case's tsconfig) and a round trip through binary and JSON.
#   Python: import, mypy --strict over the package, and the same round trip.
#   Rust: cargo check of the crate (every target; all features, and the server alone), and the
#   round trip as an example of the crate (roundtrip.rs).
# Reuses the toolchains tests/conformance/{ts,python}/run.sh installed under $MICRO_CACHE, and the
# workspace's target directory and Cargo.lock for the Rust crates.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="$(cd "${MICRO_CACHE:-$REPO/.cache}" && pwd)"
NODE_MODULES="$CACHE/ts-sdk/sdk/node_modules"
PY="$CACHE/py-venv/bin/python"
[[ -d "$NODE_MODULES" ]] || { echo "error: run tests/conformance/ts/run.sh first ($NODE_MODULES missing)" >&2; exit 2; }
[[ -x "$PY" ]] || { echo "error: run tests/conformance/python/run.sh first ($PY missing)" >&2; exit 2; }

passed=0
for case_dir in "$HERE"/*/; do
  name="$(basename "$case_dir")"
  work="$CACHE/golden/$name"
  rm -rf "$work" && mkdir -p "$work"

  echo "==> $name: TypeScript"
  cp -R "$case_dir/expected/ts" "$work/ts"
  ln -s "$NODE_MODULES" "$work/ts/node_modules"
  (cd "$work/ts" && node_modules/.bin/tsc -p tsconfig.json)
  if [[ -f "$case_dir/roundtrip.mjs" ]]; then
    cp "$case_dir/roundtrip.mjs" "$work/ts/roundtrip.mjs"
    (cd "$work/ts" && node roundtrip.mjs)
  fi

  echo "==> $name: Python"
  cp -R "$case_dir/expected/python" "$work/python"
  (cd "$work/python/src" && "$PY" -m mypy --strict --cache-dir "$CACHE/mypy-golden" -p micro)
  if [[ -f "$case_dir/roundtrip.py" ]]; then
    PYTHONPATH="$work/python/src" "$PY" "$case_dir/roundtrip.py"
  fi

  echo "==> $name: Rust"
  cp -R "$case_dir/expected/rust" "$work/rust"
  cp "$REPO/Cargo.lock" "$work/rust/Cargo.lock"
  printf '\n[workspace]\n' >>"$work/rust/Cargo.toml"   # its own workspace, wherever the cache is
  if [[ -f "$case_dir/roundtrip.rs" ]]; then
    mkdir -p "$work/rust/examples"
    cp "$case_dir/roundtrip.rs" "$work/rust/examples/roundtrip.rs"
  fi
  (
    cd "$work/rust"
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
    cargo check --quiet --all-targets --all-features
    cargo check --quiet --lib --no-default-features --features server
    if [[ -f examples/roundtrip.rs ]]; then cargo run --quiet --example roundtrip; fi
  )
  passed=$((passed + 1))
done
echo "golden: $passed passed, 0 failed"
