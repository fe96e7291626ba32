#!/usr/bin/env bash
# Go SDK checks: builds a scratch copy of sdks/go, checks `go mod tidy` would change neither
# go.mod nor go.sum (they are generated from templates pinned to verified versions), gofmt -l,
# go vet, compares the gen/ packages with what the real protoc-gen-go and protoc-gen-go-grpc
# generate from the same descriptor set (every file, byte for byte but the "Code generated" line),
# generates the kitchen-sink SDK from tests/protos/kitchen (module microgen.local/kitchen-sdk, for
# "sdk": "kitchen" case files), generates, builds and compares every keyword-torture set
# (tests/protos/names/*) and the coverage set (tests/protos/coverage), round-trips the Go torture
# and coverage SDKs through every rpc kind against `micro-gen serve --echo-unknown`
# (tests/conformance/go/names), then runs the conformance runner (go test) against
# `micro-gen serve --test-hooks`, which writes $CONFORMANCE_RESULTS/go.json
# (default <repo>/.cache/conformance-results).
# Needs: go on PATH, MICRO_GEN_BIN; MICRO_CONFORMANCE_CASES overrides the case directory.
# Scratch work under ${MICRO_CACHE:-<repo>/.cache}/go-*.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
: "${MICRO_GEN_BIN:?MICRO_GEN_BIN must name the micro-gen binary}"
MICRO_GEN_BIN="$(cd "$(dirname "$MICRO_GEN_BIN")" && pwd)/$(basename "$MICRO_GEN_BIN")"
CACHE="${MICRO_CACHE:-$REPO/.cache}"
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"
WORK="$CACHE/go-sdk"
TOOLS="$CACHE/go-tools"
MODULE="github.com/micro/micro-sdk-go"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export GOTOOLCHAIN=local
command -v go >/dev/null || { echo "error: go is not on PATH" >&2; exit 2; }

rm -rf "$WORK" && mkdir -p "$WORK"
cp -R "$REPO/sdks/go" "$WORK/sdk"
rm -f "$WORK/sdk/.micro-gen-manifest"

echo "==> go mod tidy leaves go.mod and go.sum unchanged"
cp -R "$WORK/sdk" "$WORK/tidy"
(cd "$WORK/tidy" && go mod tidy)
diff -u "$WORK/sdk/go.mod" "$WORK/tidy/go.mod"
diff -u "$WORK/sdk/go.sum" "$WORK/tidy/go.sum"

echo "==> gofmt -l, go vet, go build"
unformatted="$(cd "$WORK/sdk" && gofmt -l .)"
[[ -z "$unformatted" ]] || { echo "error: not gofmt-clean: $unformatted" >&2; exit 1; }
(cd "$WORK/sdk" && go vet ./... && go build ./...)

echo "==> gen/ equals protoc-gen-go + protoc-gen-go-grpc output"
mkdir -p "$TOOLS/bin"
PG="$(sed -n 's/^pub const PROTOC_GEN_GO: &str = "\(.*\)";/\1/p' "$REPO/generator/src/lang/go/pb.rs")"
PGG="$(sed -n 's/^pub const PROTOC_GEN_GO_GRPC: &str = "\(.*\)";/\1/p' "$REPO/generator/src/lang/go/pb.rs")"
if [[ ! -x "$TOOLS/bin/protoc-gen-go-$PG" ]]; then
  GOBIN="$TOOLS/bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PG"
  mv "$TOOLS/bin/protoc-gen-go" "$TOOLS/bin/protoc-gen-go-$PG"
fi
if [[ ! -x "$TOOLS/bin/protoc-gen-go-grpc-$PGG" ]]; then
  GOBIN="$TOOLS/bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PGG"
  mv "$TOOLS/bin/protoc-gen-go-grpc" "$TOOLS/bin/protoc-gen-go-grpc-$PGG"
fi
mkdir -p "$WORK/plugins"
ln -sf "$TOOLS/bin/protoc-gen-go-$PG" "$WORK/plugins/protoc-gen-go"
ln -sf "$TOOLS/bin/protoc-gen-go-grpc-$PGG" "$WORK/plugins/protoc-gen-go-grpc"
cp -R "$HERE/refgen" "$WORK/refgen"
(cd "$WORK/refgen" && go build -o "$WORK/refgen-bin" .)
compare() { # compare NAME REF_DIR SDK_DIR
  local ref="$2" got="$3" n=0
  while IFS= read -r f; do
    if ! diff -u <(grep -v '^// Code generated' "$ref/$f") <(grep -v '^// Code generated' "$got/$f"); then
      echo "error: $1: $f differs from the protoc plugins' output" >&2
      exit 1
    fi
    n=$((n + 1))
  done < <(cd "$ref" && find gen -name '*.go' | sort)
  local ours
  ours="$(cd "$got" && find gen -name '*.go' | wc -l)"
  [[ "$n" -eq "$ours" ]] || { echo "error: $1: plugins made $n files, micro-gen $ours" >&2; exit 1; }
  echo "$1: $n files identical"
}
"$MICRO_GEN_BIN" descriptor -o "$WORK/core.binpb"
PATH="$WORK/plugins:$PATH" "$WORK/refgen-bin" -set "$WORK/core.binpb" -module "$MODULE" -out "$WORK/ref-core"
compare "core protos" "$WORK/ref-core" "$WORK/sdk"
GOLDEN="$REPO/tests/golden/features"
"$MICRO_GEN_BIN" descriptor --proto "$GOLDEN/input/acme/shop/v1/shop.proto" -I "$GOLDEN/input" -o "$WORK/features.binpb"
PATH="$WORK/plugins:$PATH" "$WORK/refgen-bin" -set "$WORK/features.binpb" -module "$MODULE" -out "$WORK/ref-features"
compare "golden features" "$WORK/ref-features" "$GOLDEN/expected/go"
EDGE="$HERE/edge"
EDGE_PROTOS=(--proto "$EDGE/edge/edge.proto" --proto "$EDGE/edge/extra.proto" --proto "$EDGE/legacy/legacy.proto")
"$MICRO_GEN_BIN" descriptor "${EDGE_PROTOS[@]}" -I "$EDGE" -o "$WORK/edge.binpb"
"$MICRO_GEN_BIN" sdk --lang go "${EDGE_PROTOS[@]}" -I "$EDGE" --out "$WORK/edge-sdk" >/dev/null
PATH="$WORK/plugins:$PATH" "$WORK/refgen-bin" -set "$WORK/edge.binpb" -module "$MODULE" -out "$WORK/ref-edge"
compare "edge cases" "$WORK/ref-edge" "$WORK/edge-sdk"
rm -f "$WORK/edge-sdk/.micro-gen-manifest"
# protoc-gen-go's own output is not gofmt-idempotent for some comments (a code block followed by
# a list, as edge.proto has), so only the runtime files are held to gofmt -l here.
(cd "$WORK/edge-sdk" && go vet ./... && unformatted="$(gofmt -l ./*.go)" && [[ -z "$unformatted" ]]) ||
  { echo "error: the edge-case SDK does not vet, or its runtime is not gofmt-clean" >&2; exit 1; }

echo "==> kitchen-sink SDK (tests/protos/kitchen): generate, vet, build"
KITCHEN_MODULE="microgen.local/kitchen-sdk"
KITCHEN_PROTO="$REPO/tests/protos/kitchen/micro/kitchen/v1/kitchen.proto"
"$MICRO_GEN_BIN" sdk --lang go --proto "$KITCHEN_PROTO" -I "$REPO/tests/protos/kitchen" --out "$WORK/kitchen" \
  --package-name "$KITCHEN_MODULE" >/dev/null
rm -f "$WORK/kitchen/.micro-gen-manifest"
"$MICRO_GEN_BIN" descriptor --proto "$KITCHEN_PROTO" -I "$REPO/tests/protos/kitchen" -o "$WORK/kitchen.binpb"
PATH="$WORK/plugins:$PATH" "$WORK/refgen-bin" -set "$WORK/kitchen.binpb" -module "$KITCHEN_MODULE" -out "$WORK/ref-kitchen"
compare "kitchen sink" "$WORK/ref-kitchen" "$WORK/kitchen"
(cd "$WORK/kitchen" && go vet ./... && go build ./... && unformatted="$(gofmt -l ./*.go)" && [[ -z "$unformatted" ]]) ||
  { echo "error: the kitchen-sink SDK does not vet or build, or its runtime is not gofmt-clean" >&2; exit 1; }

echo "==> keyword-torture and coverage sets: generate, vet, build, compare with the plugins"
# Every set under tests/protos/names/ (one per SDK language) and tests/protos/coverage must vet
# and build. Its gen/ must equal protoc-gen-go + protoc-gen-go-grpc output file by file, except
# in Go packages where the plugins' own output does not build or vet: there micro-gen escapes
# names on purpose (generator/src/lang/go/names.rs lists the cases), and this step runs go vet
# on the plugins' package to prove it fails. A set protoc-gen-go refuses outright (its descriptor
# validation rejects, e.g., a proto2 enum map value whose first value is not zero, which the Go
# protobuf runtime accepts) is built but cannot be compared.
check_set() { # check_set NAME PROTO_ROOT MODULE: $WORK/sets/NAME/{sdk,ref}
  local name="$1" root="$2" module="$3" dir="$WORK/sets/$1" p f
  local protos=() differing=()
  while IFS= read -r p; do protos+=(--proto "$root/$p"); done < <(cd "$root" && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
  ((${#protos[@]})) || return 0
  mkdir -p "$dir"
  "$MICRO_GEN_BIN" sdk --lang go "${protos[@]}" -I "$root" --out "$dir/sdk" --package-name "$module" >/dev/null 2>"$dir/warnings"
  rm -f "$dir/sdk/.micro-gen-manifest"
  (cd "$dir/sdk" && go vet ./... && go build ./...) || { echo "error: $name: the Go SDK does not vet or build" >&2; exit 1; }
  "$MICRO_GEN_BIN" descriptor "${protos[@]}" -I "$root" -o "$dir/set.binpb" 2>/dev/null
  if ! PATH="$WORK/plugins:$PATH" "$WORK/refgen-bin" -set "$dir/set.binpb" -module "$module" -out "$dir/ref" 2>"$dir/ref.err"; then
    if grep -q 'invalid FileDescriptorProto' "$dir/ref.err"; then
      echo "$name: builds; not compared, protoc-gen-go refuses the set: $(grep -m1 -o 'invalid FileDescriptorProto.*' "$dir/ref.err")"
      return 0
    fi
    cat "$dir/ref.err" >&2
    exit 1
  fi
  local same=0
  while IFS= read -r f; do
    if [[ -f "$dir/sdk/$f" ]] && cmp -s <(grep -v '^// Code generated' "$dir/ref/$f") <(grep -v '^// Code generated' "$dir/sdk/$f"); then
      same=$((same + 1))
    else
      differing+=("$f")
    fi
  done < <(cd "$dir/ref" && find gen -name '*.go' | LC_ALL=C sort)
  local ours theirs
  ours="$(cd "$dir/sdk" && find gen -name '*.go' | wc -l)"
  theirs="$(cd "$dir/ref" && find gen -name '*.go' | wc -l)"
  [[ "$ours" -eq "$theirs" ]] || { echo "error: $name: plugins made $theirs files, micro-gen $ours" >&2; exit 1; }
  local pkgs=()
  if ((${#differing[@]})); then
    mapfile -t pkgs < <(printf '%s\n' "${differing[@]}" | xargs -n1 dirname | LC_ALL=C sort -u)
    cp "$dir/sdk/go.mod" "$dir/sdk/go.sum" "$dir/ref/"
    for p in "${pkgs[@]}"; do
      if (cd "$dir/ref" && go vet "./$p" >/dev/null 2>&1); then
        for f in "${differing[@]}"; do
          [[ "$(dirname "$f")" == "$p" ]] && diff -u <(grep -v '^// Code generated' "$dir/ref/$f") <(grep -v '^// Code generated' "$dir/sdk/$f") >&2
        done
        echo "error: $name: $p differs from the plugins' output, which builds and vets" >&2
        exit 1
      fi
    done
  fi
  local rest=""
  ((${#pkgs[@]})) && rest="; the rest in ${pkgs[*]}, where the plugins' output does not build or vet"
  echo "$name: builds; $same of $theirs files identical to the plugins' output$rest"
}
for root in "$REPO"/tests/protos/names/*/; do
  lang="$(basename "$root")"
  check_set "names-$lang" "${root%/}" "microgen.local/names-$lang"
done
check_set coverage "$REPO/tests/protos/coverage" microgen.local/coverage-go

echo "==> keyword-torture (names/go) and coverage SDKs at runtime, against micro-gen serve --echo-unknown"
[[ -d "$WORK/sets/names-go/sdk" && -d "$WORK/sets/coverage/sdk" ]] ||
  { echo "error: tests/protos/names/go or tests/protos/coverage is missing" >&2; exit 1; }
ECHO_LOG="$WORK/echo-serve.log"
: >"$ECHO_LOG"  # exists before the server starts, so polling it never fails
"$MICRO_GEN_BIN" serve --address 127.0.0.1:0 --echo-unknown >"$ECHO_LOG" 2>&1 &
ECHO_PID=$!
trap 'kill "$ECHO_PID" 2>/dev/null || true' EXIT
ECHO_ADDR=""
for _ in $(seq 100); do
  ECHO_ADDR="$(sed -n 's/.*micro-gen serve listening on \([^ ]*\).*/\1/p' "$ECHO_LOG" | head -1)"
  [[ -n "$ECHO_ADDR" ]] && break
  sleep 0.1
done
[[ -n "$ECHO_ADDR" ]] || { cat "$ECHO_LOG" >&2; echo "error: the echo server did not start" >&2; exit 1; }
mkdir -p "$WORK/names-runner"
cp "$HERE/names/main.go" "$WORK/names-runner/"
cat >"$WORK/names-runner/go.mod" <<MOD
module microgen.local/names-runner

go 1.26.0

require (
	microgen.local/coverage-go v0.0.0
	microgen.local/names-go v0.0.0
)

replace microgen.local/coverage-go => ../sets/coverage/sdk

replace microgen.local/names-go => ../sets/names-go/sdk
MOD
cp "$WORK/sdk/go.sum" "$WORK/names-runner/go.sum"
(cd "$WORK/names-runner" && go mod tidy && go vet ./... && unformatted="$(gofmt -l .)" && [[ -z "$unformatted" ]] &&
  go run . -addr "$ECHO_ADDR") || { echo "error: the names/coverage runtime check failed" >&2; exit 1; }
kill "$ECHO_PID" 2>/dev/null || true
wait "$ECHO_PID" 2>/dev/null || true
trap - EXIT

echo "==> conformance (go test)"
mkdir -p "$WORK/runner"
cp "$HERE"/*_test.go "$WORK/runner/"
cat >"$WORK/runner/go.mod" <<MOD
module microgen.local/conformance

go 1.26.0

require (
	$MODULE v0.0.0
	$KITCHEN_MODULE v0.0.0
)

replace $MODULE => ../sdk

replace $KITCHEN_MODULE => ../kitchen
MOD
cp "$WORK/sdk/go.sum" "$WORK/runner/go.sum"
export CONFORMANCE_RESULTS="${CONFORMANCE_RESULTS:-$REPO/.cache/conformance-results}"
(cd "$WORK/runner" && go mod tidy && go vet ./... && MICRO_CONFORMANCE_CASES="${MICRO_CONFORMANCE_CASES:-$REPO/tests/conformance}" go test -count=1 -v ./... 2>&1 | tee "$WORK/test.log" | grep -E '^(=== RUN|--- FAIL|FAIL|ok|PASS)' | grep -v '=== RUN' || true)
grep -q '^ok' "$WORK/test.log" || { cat "$WORK/test.log" >&2; echo "error: go test failed" >&2; exit 1; }
passed="$(grep -cE '^        --- PASS' "$WORK/test.log" || true)"
failed="$(grep -cE -- '--- FAIL' "$WORK/test.log" || true)"
echo "go conformance: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
