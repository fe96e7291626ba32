#!/usr/bin/env bash
# The conformance matrix: runs every language's conformance runner, then prints, for each case
# file (group) and language, how many cases passed and failed (README "Results and the matrix").
#
#   MICRO_GEN_BIN=$PWD/target/debug/micro-gen bash tests/conformance/matrix.sh
#   bash tests/conformance/matrix.sh --no-run          # only read the results already written
#   bash tests/conformance/matrix.sh --lang ts,rust    # only these languages
#
# Runs tests/conformance/<lang>/run.sh for ts, python, go, java, ruby and rust, one after the other
# (each log in $CONFORMANCE_RESULTS/logs/<lang>.log; a runner's old results file is removed
# first, so a runner that dies writes nothing rather than stale numbers), then reads
# $CONFORMANCE_RESULTS/<lang>.json. Exits 1 when any case failed, a language has no results file,
# a language did not run a group (a group is the base name of a tests/conformance/*.json file), or
# (when running) a run.sh failed; 2 on bad usage.
#
# Environment: MICRO_GEN_BIN (required unless --no-run; the built micro-gen binary);
# CONFORMANCE_RESULTS (default <repo>/.cache/conformance-results); everything the run.sh scripts
# read (MICRO_CACHE, ...). Needs jq.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
LANGS=(ts python go java ruby rust)
RUN=1

usage() {
  sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-run) RUN=0 ;;
    --lang)
      [[ $# -ge 2 ]] || usage
      IFS=',' read -r -a LANGS <<<"$2"
      shift
      ;;
    --lang=*) IFS=',' read -r -a LANGS <<<"${1#--lang=}" ;;
    -h | --help) usage ;;
    *)
      echo "error: unknown argument $1" >&2
      usage
      ;;
  esac
  shift
done
for lang in "${LANGS[@]}"; do
  if [[ ! -f "$HERE/$lang/run.sh" ]]; then
    echo "error: no runner tests/conformance/$lang/run.sh" >&2
    exit 2
  fi
done
if ! command -v jq >/dev/null; then
  echo "error: jq is required" >&2
  exit 2
fi

export CONFORMANCE_RESULTS="${CONFORMANCE_RESULTS:-$REPO/.cache/conformance-results}"
mkdir -p "$CONFORMANCE_RESULTS"
export CONFORMANCE_RESULTS="$(cd "$CONFORMANCE_RESULTS" && pwd)"

declare -A RUN_STATUS=()
if [[ $RUN -eq 1 ]]; then
  if [[ -z "${MICRO_GEN_BIN:-}" || ! -x "${MICRO_GEN_BIN:-}" ]]; then
    echo "error: set MICRO_GEN_BIN to the built micro-gen binary (cargo build -p micro-gen), or pass --no-run" >&2
    exit 2
  fi
  export MICRO_GEN_BIN="$(cd "$(dirname "$MICRO_GEN_BIN")" && pwd)/$(basename "$MICRO_GEN_BIN")"
  mkdir -p "$CONFORMANCE_RESULTS/logs"
  for lang in "${LANGS[@]}"; do
    log="$CONFORMANCE_RESULTS/logs/$lang.log"
    rm -f "$CONFORMANCE_RESULTS/$lang.json"
    printf '==> %-7s tests/conformance/%s/run.sh (log: %s)\n' "$lang" "$lang" "$log"
    start=$(date +%s)
    if (cd "$REPO" && bash "tests/conformance/$lang/run.sh") >"$log" 2>&1; then
      RUN_STATUS[$lang]=0
    else
      RUN_STATUS[$lang]=$?
    fi
    printf '    %s: run.sh exited %s after %ss\n' "$lang" "${RUN_STATUS[$lang]}" "$(($(date +%s) - start))"
    if [[ ${RUN_STATUS[$lang]} -ne 0 ]]; then
      tail -n 15 "$log" | sed 's/^/    | /'
    fi
  done
  echo
fi

# The groups: every case file's base name.
CASE_GROUPS=()
for file in "$HERE"/*.json; do
  [[ -e "$file" ]] || continue
  CASE_GROUPS+=("$(basename "$file" .json)")
done
if [[ ${#CASE_GROUPS[@]} -eq 0 ]]; then
  echo "error: no case files in tests/conformance" >&2
  exit 2
fi

problems=()
# Header.
printf '%-16s' "group"
for lang in "${LANGS[@]}"; do printf ' %12s' "$lang"; done
printf '\n'
declare -A TOTAL_PASSED=() TOTAL_FAILED=()
for lang in "${LANGS[@]}"; do
  TOTAL_PASSED[$lang]=0
  TOTAL_FAILED[$lang]=0
  results="$CONFORMANCE_RESULTS/$lang.json"
  if [[ ! -f "$results" ]]; then
    problems+=("$lang: no results file $results")
  elif ! jq -e '.groups | type == "object"' "$results" >/dev/null 2>&1; then
    problems+=("$lang: $results is not a results file ({\"language\", \"groups\": {...}})")
  fi
done
for group in "${CASE_GROUPS[@]}"; do
  printf '%-16s' "$group"
  for lang in "${LANGS[@]}"; do
    results="$CONFORMANCE_RESULTS/$lang.json"
    cell="-"
    if [[ -f "$results" ]] && counts=$(jq -er --arg g "$group" \
      '.groups[$g] | select(. != null) | "\(.passed) \(.failed)"' "$results" 2>/dev/null); then
      read -r passed failed <<<"$counts"
      TOTAL_PASSED[$lang]=$((TOTAL_PASSED[$lang] + passed))
      TOTAL_FAILED[$lang]=$((TOTAL_FAILED[$lang] + failed))
      if [[ $failed -eq 0 ]]; then
        cell="$passed ok"
      else
        cell="$passed/$failed FAIL"
        while IFS= read -r name; do
          problems+=("$lang $group: failed: $name")
        done < <(jq -r --arg g "$group" '.groups[$g].failures[]? // empty' "$results")
        if [[ $(jq -r --arg g "$group" '.groups[$g].failures | length' "$results") -eq 0 ]]; then
          problems+=("$lang $group: $failed failed case(s)")
        fi
      fi
    elif [[ -f "$results" ]]; then
      cell="not run"
      problems+=("$lang $group: not run")
    fi
    printf ' %12s' "$cell"
  done
  printf '\n'
done
printf '%-16s' "total"
for lang in "${LANGS[@]}"; do
  printf ' %12s' "${TOTAL_PASSED[$lang]}/${TOTAL_FAILED[$lang]}"
done
printf '\n'
printf '(cells: "N ok" = N cases passed; "P/F FAIL" = passed/failed; "-" = no results file; total = passed/failed)\n'

if [[ $RUN -eq 1 ]]; then
  for lang in "${LANGS[@]}"; do
    if [[ ${RUN_STATUS[$lang]} -ne 0 ]]; then
      problems+=("$lang: run.sh exited ${RUN_STATUS[$lang]} (log: $CONFORMANCE_RESULTS/logs/$lang.log)")
    fi
  done
fi
# Groups a runner reported that are no case file (renamed or removed files): worth a note only.
for lang in "${LANGS[@]}"; do
  results="$CONFORMANCE_RESULTS/$lang.json"
  [[ -f "$results" ]] || continue
  while IFS= read -r group; do
    [[ -f "$HERE/$group.json" ]] || echo "note: $lang reported group $group, which has no case file"
  done < <(jq -r '.groups | keys[]?' "$results" 2>/dev/null)
done

if [[ ${#problems[@]} -gt 0 ]]; then
  echo
  echo "conformance matrix: ${#problems[@]} problem(s):"
  printf '  %s\n' "${problems[@]}"
  exit 1
fi
echo
echo "conformance matrix: every language ran every group, no failures"
