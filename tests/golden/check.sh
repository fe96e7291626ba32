#!/usr/bin/env bash
# Compiles and runs every golden case's generated SDKs (tests/golden/*/expected/<lang>), which
# cover what the core protos do not: nested messages and enums, oneofs, maps with integer keys,
# proto3 optional, imports across packages, well-known types, escaped names, every streaming kind.
#   TypeScript: tsc --noEmit (strict, from the case's tsconfig) and a round trip through binary and JSON.
#   Python: import, mypy --strict over the package, and the same round trip.
#   Rust: cargo check of the crate (every target; all features, and the server alone), and the
#   round trip as an example of the crate (roundtrip.rs).
#   Ruby: ruby -wc every file, load the gem's lib with warnings on, and the round trip (roundtrip.rb).
#   Java: javac with warnings as errors, and the round trip (RoundTrip.java).
#   Go: gofmt -l and go vet of the module, and the round trip (roundtrip.go) as a program in a module
#   that replaces the SDK module with the golden output (modules from the cache tests/conformance/go/run.sh filled).
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

  echo "==> $name: Ruby"
  # Debian's ruby, ruby-google-protobuf and ruby-grpc, as tests/conformance/ruby/run.sh installs them.
  cp -R "$case_dir/expected/ruby" "$work/ruby"
  while IFS= read -r -d '' rb; do ruby -wc "$rb" >/dev/null; done < <(find "$work/ruby" -name '*.rb' -print0)
  (cd "$work/ruby" && ruby -w -Ilib -e 'require "micro"')
  if [[ -f "$case_dir/roundtrip.rb" ]]; then
    (cd "$work/ruby" && ruby -w -Ilib "$case_dir/roundtrip.rb")
  fi

  echo "==> $name: Java"
  # javac (-Xlint, warnings as errors) on the classpath tests/conformance/java/run.sh resolved, and
  # the round trip (RoundTrip.java).
  java_cp_file="$CACHE/java-work/classpath.txt"
  [[ -f "$java_cp_file" ]] || { echo "error: run tests/conformance/java/run.sh first ($java_cp_file missing)" >&2; exit 2; }
  java_cp="$(cat "$java_cp_file")"
  cp -R "$case_dir/expected/java" "$work/java"
  find "$work/java/src/main/java" -name '*.java' >"$work/java/sources.txt"
  javac -Xlint:all,-serial,-deprecation -Werror --release 17 -d "$work/java/classes" -cp "$java_cp" @"$work/java/sources.txt"
  if [[ -f "$case_dir/RoundTrip.java" ]]; then
    javac -Xlint:all -Werror --release 17 -d "$work/java/roundtrip" -cp "$work/java/classes:$java_cp" "$case_dir/RoundTrip.java"
    java -cp "$work/java/roundtrip:$work/java/classes:$java_cp" RoundTrip
  fi

  echo "==> $name: Go"
  cp -R "$case_dir/expected/go" "$work/go"
  rm -f "$work/go/.micro-gen-manifest"
  unformatted="$(cd "$work/go" && gofmt -l .)"
  [[ -z "$unformatted" ]] || { echo "error: not gofmt-clean: $unformatted" >&2; exit 1; }
  (cd "$work/go" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go vet ./...)
  if [[ -f "$case_dir/roundtrip.go" ]]; then
    mkdir -p "$work/go-roundtrip"
    cp "$case_dir/roundtrip.go" "$work/go-roundtrip/main.go"
    cp "$work/go/go.sum" "$work/go-roundtrip/go.sum"
    go_module="$(sed -n 's/^module //p' "$work/go/go.mod")"
    printf 'module microgen.local/roundtrip\n\ngo 1.26.0\n\nrequire %s v0.0.0\n\nreplace %s => ../go\n' "$go_module" "$go_module" >"$work/go-roundtrip/go.mod"
    (cd "$work/go-roundtrip" && export GOFLAGS=-mod=mod GOTOOLCHAIN=local && go mod tidy && go vet . && go run .)
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
