#!/usr/bin/env bash
# Fuzzes micro-gen's loader and model with cargo-fuzz (libFuzzer, nightly Rust).
#
#   scripts/fuzz.sh                 # 600 s split over the targets (the issue's 10-minute run)
#   FUZZ_SECONDS=60 scripts/fuzz.sh # a shorter run
#   FUZZ_SECONDS=30 FUZZ_FLAGS="--dev -s none" scripts/fuzz.sh
#                                   # CI's smoke: a debug build without AddressSanitizer (safe Rust
#                                   # needs none; builds in ~2 minutes instead of ~15)
#   scripts/fuzz.sh 1200 load       # 1200 s on the `load` target only
#
# Targets (generator/fuzz/fuzz_targets/):
#   load        arbitrary bytes as a .proto source -> load (protox) -> Model::build (+ validate)
#   descriptor  arbitrary bytes as an encoded FileDescriptorSet -> from_descriptor_set -> Model::build
#
# Corpora live in generator/fuzz/corpus/<target> (not checked in) and are seeded from proto/,
# tests/ (every .proto), descriptor sets of the core and kitchen protos, and the checked-in
# regression corpus generator/fuzz/regressions/<target>, which `cargo test` replays on stable.
# A crash leaves its input in generator/fuzz/artifacts/<target>/; minimise it, copy it into
# regressions/<target>/, fix the bug, and the stable test keeps it fixed.
#
# Prints, per target: seconds, executions, executions per second, corpus size and whether a crash
# was found. Exits 1 when any target crashed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/generator/fuzz"
TOTAL="${1:-${FUZZ_SECONDS:-600}}"
shift || true
if [ "$#" -gt 0 ]; then TARGETS=("$@"); else TARGETS=(load descriptor); fi
PER=$(( TOTAL / ${#TARGETS[@]} ))
[ "$PER" -ge 1 ] || PER=1
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
# Extra flags for `cargo fuzz build` and `cargo fuzz run` (e.g. --dev, -s none).
read -r -a FLAGS <<<"${FUZZ_FLAGS:-}"

if ! cargo "+$TOOLCHAIN" --version >/dev/null 2>&1; then
  echo "installing the $TOOLCHAIN toolchain (cargo-fuzz needs nightly)" >&2
  rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
if ! cargo "+$TOOLCHAIN" fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

# Seed the corpora (idempotent; libFuzzer keeps what it finds next to the seeds).
mkdir -p "$FUZZ/corpus/load" "$FUZZ/corpus/descriptor"
cd "$ROOT"
find proto tests -name '*.proto' -type f -print0 | while IFS= read -r -d '' f; do
  cp "$f" "$FUZZ/corpus/load/seed-$(echo "$f" | tr '/' '_')"
done
cp "$FUZZ"/regressions/load/* "$FUZZ/corpus/load/"
cp "$FUZZ"/regressions/descriptor/* "$FUZZ/corpus/descriptor/"
MICRO_GEN="$ROOT/target/debug/micro-gen"
if [ ! -x "$MICRO_GEN" ]; then
  cargo build -q -p micro-gen --no-default-features
fi
"$MICRO_GEN" descriptor -o "$FUZZ/corpus/descriptor/seed-core.binpb"
if [ -f tests/protos/kitchen/micro/kitchen/v1/kitchen.proto ]; then
  "$MICRO_GEN" descriptor --proto micro/kitchen/v1/kitchen.proto -I tests/protos/kitchen \
    -o "$FUZZ/corpus/descriptor/seed-kitchen.binpb" || true
fi

cd "$FUZZ"
echo "building fuzz targets (cargo +$TOOLCHAIN fuzz build)" >&2
cargo "+$TOOLCHAIN" fuzz build ${FLAGS[@]+"${FLAGS[@]}"} >&2

status=0
summary=()
for t in "${TARGETS[@]}"; do
  log="$FUZZ/artifacts/$t.log"
  mkdir -p "$FUZZ/artifacts/$t"
  before=$(find "$FUZZ/artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l)
  echo "fuzzing $t for ${PER}s" >&2
  set +e
  cargo "+$TOOLCHAIN" fuzz run ${FLAGS[@]+"${FLAGS[@]}"} "$t" "corpus/$t" -- \
    -max_total_time="$PER" -timeout=20 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  after=$(find "$FUZZ/artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l)
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  corpus=$(find "corpus/$t" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
    crash="CRASH (exit $rc; see $log and artifacts/$t/)"
    status=1
    grep -m1 -A12 -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$log" >&2 || tail -20 "$log" >&2
  else
    crash="no crash"
  fi
  summary+=("$t: ${PER}s, ${execs:-0} execs (${rate:-?}/s), corpus $corpus, $crash")
done

echo "fuzz summary:"
for line in "${summary[@]}"; do echo "  $line"; done
exit "$status"
