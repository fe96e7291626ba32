#!/usr/bin/env bash
# Random schemas: generates COUNT valid proto sets with tests/random/gen.py (seeds SEED..SEED+COUNT-1,
# default SEED 7), checks each with protoc (grpc_tools from .cache/bench-venv, when present: a set
# protoc rejects is a generator bug and fails the run), then compiles all six SDKs of every set with
# tests/protos/check.sh, in batches of RANDOM_SCHEMAS_BATCH (default 50) sets.
#
#   bash scripts/random-schemas.sh COUNT [SEED]
#
# Prints `random schemas: P/COUNT passed in all six languages (seed S)` and, per language, the count
# and seeds of the failures (logs under $MICRO_CACHE/random-schemas/check-*/_status/r<seed>/<lang>.log,
# the sets under $MICRO_CACHE/random-schemas/sets/r<seed>). Exit 0 all passed, 1 any failure, 2 a
# toolchain or cache is missing. Env: MICRO_GEN_BIN, MICRO_CACHE, RANDOM_SCHEMAS_BATCH,
# RANDOM_SCHEMAS_WORK (default $MICRO_CACHE/random-schemas), and what tests/protos/check.sh reads.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT="${1:?usage: scripts/random-schemas.sh COUNT [SEED]}"
SEED="${2:-7}"
BATCH="${RANDOM_SCHEMAS_BATCH:-50}"
[[ "$COUNT" =~ ^[0-9]+$ && "$SEED" =~ ^[0-9]+$ && "$BATCH" =~ ^[1-9][0-9]*$ ]] \
  || { echo "usage: scripts/random-schemas.sh COUNT [SEED]" >&2; exit 2; }
CACHE="${MICRO_CACHE:-$REPO/.cache}"
mkdir -p "$CACHE" && CACHE="$(cd "$CACHE" && pwd)"
export MICRO_CACHE="$CACHE"
WORK="${RANDOM_SCHEMAS_WORK:-$CACHE/random-schemas}"
mkdir -p "$WORK" && WORK="$(cd "$WORK" && pwd)"
exec 8>"$WORK/.lock"
flock 8 || { echo "error: cannot lock $WORK/.lock" >&2; exit 2; }   # one run per work dir at a time
SETS="$WORK/sets"
LANGS="ts python go java ruby rust"
start=$SECONDS
rm -rf "$WORK/check-"* && mkdir -p "$SETS"

echo "==> generating $COUNT schemas (seeds $SEED..$((SEED + COUNT - 1)))" >&2
PROTOC_PY="$CACHE/bench-venv/bin/python"
"$PROTOC_PY" -c 'import grpc_tools.protoc' 2>/dev/null || PROTOC_PY=""
for ((s = SEED; s < SEED + COUNT; s++)); do rm -rf "$SETS/r$s"; done
invalid=()
if ! python3 "$REPO/tests/random/gen.py" --seed "$SEED" --count "$COUNT" --out "$SETS" \
    ${PROTOC_PY:+--protoc "$PROTOC_PY"} 2>"$WORK/protoc.log"; then
  cat "$WORK/protoc.log" >&2
  mapfile -t invalid < <(sed -n 's|^protoc rejects .*/r\([0-9]*\)$|\1|p' "$WORK/protoc.log")
  ((${#invalid[@]})) || { echo "error: tests/random/gen.py failed" >&2; exit 1; }
fi
[[ -n "$PROTOC_PY" ]] || echo "note: no grpc_tools in $CACHE/bench-venv; the sets are not checked with protoc" >&2
export PROTOS_CHECK_PROTOC_PY=""   # gen.py checked them already

declare -A FAILS=()
passed=0 checked=0 rc_all=0
for ((b = SEED; b < SEED + COUNT; b += BATCH)); do
  roots=()
  for ((s = b; s < b + BATCH && s < SEED + COUNT; s++)); do roots+=("$SETS/r$s"); done
  work="$WORK/check-$b"
  echo "==> [$((SECONDS - start))s] checking seeds $b..$((b + ${#roots[@]} - 1))" >&2
  PROTOS_CHECK_WORK="$work" bash "$REPO/tests/protos/check.sh" "${roots[@]}" >"$work.log" 2>&1
  rc=$?
  if ((rc == 2)); then cat "$work.log" >&2; exit 2; fi
  for ((s = b; s < b + BATCH && s < SEED + COUNT; s++)); do
    checked=$((checked + 1))
    ok=1
    for l in $LANGS; do
      if [[ "$(cat "$work/_status/r$s/$l" 2>/dev/null)" != PASS ]]; then ok=0; FAILS[$l]+=" $s"; fi
    done
    [[ " ${invalid[*]} " == *" $s "* ]] && ok=0
    passed=$((passed + ok))
  done
done

echo "random schemas: $passed/$COUNT passed in all six languages (seed $SEED) in $((SECONDS - start))s"
((${#invalid[@]})) && { echo "  invalid (gen.py bug, protoc rejects):${invalid[*]/#/ }"; rc_all=1; }
for l in $LANGS; do
  seeds="${FAILS[$l]:-}"
  n=$(wc -w <<<"$seeds")
  echo "  $l: $n failed${seeds:+ (seeds:$seeds)}"
done
((passed == COUNT && rc_all == 0)) || exit 1
