#!/usr/bin/env bash
# Go SDK checks: builds a scratch copy of sdks/go, checks `go mod tidy` would change neither
# go.mod nor go.sum (they are generated from templates pinned to verified versions), gofmt -l,
# go vet, compares the gen/ packages with what the real protoc-gen-go and protoc-gen-go-grpc
# generate from the same descriptor set (every file, byte for byte but the "Code generated" line),
# generates the kitchen-sink SDK from tests/protos/kitchen (module microgen.local/kitchen-sdk, for
# "sdk": "kitchen" case files), then runs the conformance runner (go test) against
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
