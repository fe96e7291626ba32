#!/usr/bin/env bash
# Benchmarks, each against a baseline measured in the same run; prints ratios and a summary table.
# Not a test (not part of scripts/test.sh): numbers vary by machine; the ratios are what to read.
#
#   bash bench/run.sh                 # everything
#   bash bench/run.sh compile         # micro-gen vs protoc (descriptor set), sdk --lang all time
#   bash bench/run.sh server          # reference server vs a bare tonic server, 64 calls in flight
#   bash bench/run.sh sdk [LANG...]   # each SDK's high-level client vs its raw stub, per call
#                                     # (LANG: rust python go ts java ruby; default all)
#   bash bench/run.sh cost            # sdk --lang all on synthetic sets of 1k/5k/10k messages (time,
#                                     # peak RSS); googleapis (npm google-proto-files) vs protoc
#
# Environment: MICRO_CACHE (scratch root, default <repo>/.cache; this script uses bench-* in it and
# writes nothing inside sdks/ or tests/); BENCH_ROUNDS / BENCH_SECONDS / BENCH_CONCURRENCY (server
# benchmark, default 6 rounds of 2 s per server, 64 calls in flight; BENCH_SERVER_THREADS gives both
# servers that many runtime worker threads, default one per core); BENCH_CALLS / BENCH_BATCHES
# (SDK benchmarks, default 4000 calls per client in 20 interleaved batches); BENCH_RUNS (compile
# benchmark, default 60); BENCH_COST_SIZES / BENCH_COST_RUNS (cost benchmark, default
# 1000,5000,10000 messages, 3 runs each), BENCH_GOOGLEAPIS_VERSION (google-proto-files, default
# 5.0.3), BENCH_GOOGLEAPIS_SDK=0 (skip sdk --lang all on googleapis: minutes and GBs).
#
# Targets: compile ratio <= 1.00x protoc and sdk --lang all < 150 ms; server/echo throughput
# >= 0.90x; SDK high/raw median latency <= 1.05x; cost: 10k messages / 1k services, sdk --lang all
# < 5 s and googleapis descriptor set <= 1.00x protoc. Exits 1 when a measured target is missed, 2
# when a benchmark could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
cache="${MICRO_CACHE:-$REPO/.cache}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
RESULTS="$cache/bench-results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
CALLS="${BENCH_CALLS:-4000}"
BATCHES="${BENCH_BATCHES:-20}"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
export PIP_DISABLE_PIP_VERSION_CHECK=1 GRPC_VERBOSITY="${GRPC_VERBOSITY:-ERROR}" GOTOOLCHAIN=local

parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(compile server sdk cost)
want() { local p; for p in "${parts[@]}"; do [[ "$p" == "$1" ]] && return 0; done; return 1; }
sdk_langs=()
if want sdk; then
  seen_sdk=0
  for p in "${parts[@]}"; do
    if [[ "$p" == sdk ]]; then seen_sdk=1; continue; fi
    case "$p" in
      rust | python | go | ts | java | ruby) [[ $seen_sdk -eq 1 ]] && sdk_langs+=("$p") ;;
      compile | server | cost) ;;
      *) echo "run.sh: unknown part $p (compile, server, sdk [rust python go ts java ruby], cost)" >&2; exit 2 ;;
    esac
  done
  [[ ${#sdk_langs[@]} -gt 0 ]] || sdk_langs=(rust python go ts java ruby)
fi

echo "==> cargo build --release (micro-gen, micro-gen-bench)"
cargo build --release --locked --quiet -p micro-gen -p micro-gen-bench
MICRO_GEN="$REPO/target/release/micro-gen"

if want compile; then
  echo "==> compile: micro-gen vs protoc"
  python3 -m venv "$cache/bench-venv"
  "$cache/bench-venv/bin/pip" install --quiet 'grpcio-tools>=1.62'
  set +e
  "$cache/bench-venv/bin/python" bench/bench.py --micro-gen "$MICRO_GEN" \
    --bench-bin target/release/micro-gen-bench --runs "${BENCH_RUNS:-60}" --json "$RESULTS/compile.json"
  echo "$?" >"$RESULTS/compile.status"
  set -e
fi

if want server; then
  echo "==> server: reference server vs bare tonic echo server (unary store.Read)"
  set +e
  target/release/micro-gen-server-bench --rounds "${BENCH_ROUNDS:-6}" --seconds "${BENCH_SECONDS:-2}" \
    --concurrency "${BENCH_CONCURRENCY:-64}" --server-threads "${BENCH_SERVER_THREADS:-0}" --json >"$RESULTS/server.json"
  status=$?
  set -e
  [[ $status -eq 0 ]] || { echo "server benchmark failed ($status)" >&2; rm -f "$RESULTS/server.json"; }
fi

# --- SDKs: each language's high-level client vs its raw stub, against one reference server ---
# prepare_LANG builds or installs the SDK (a scratch copy under $cache/bench-*); run_LANG ADDRESS
# CALLS BATCHES prints one JSON line {lang, high, raw, calls, high_us, raw_us, ratio}.
prepare_python() {
  local venv="$cache/bench-py-venv" work="$cache/bench-py"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv" || return 1
  rm -rf "$work" && mkdir -p "$work" && cp -R sdks/python "$work/sdk" || return 1
  "$venv/bin/pip" install --quiet "$work/sdk" || return 1
}
run_python() { (cd "$cache/bench-py" && "$cache/bench-py-venv/bin/python" "$REPO/bench/sdk/python/bench_sdk.py" "$@"); }

prepare_ts() {
  local work="$cache/bench-ts"
  rm -rf "$work/sdk" && mkdir -p "$work/sdk" || return 1
  tar -C sdks/ts --exclude=./node_modules --exclude=./dist -cf - . | tar -C "$work/sdk" -xf - || return 1
  (cd "$work/sdk" && npm install --no-audit --no-fund --loglevel=error && npm run --silent build) || return 1
  cp bench/sdk/ts/bench.mjs "$work/sdk/" || return 1
}
run_ts() { (cd "$cache/bench-ts/sdk" && node bench.mjs "$@"); }

prepare_go() {
  local work="$cache/bench-go"
  rm -rf "$work" && mkdir -p "$work/runner" && cp -R sdks/go "$work/sdk" || return 1
  cp bench/sdk/go/main.go "$work/runner/" && cp "$work/sdk/go.sum" "$work/runner/go.sum" || return 1
  cat >"$work/runner/go.mod" <<MOD || return 1
module microgen.local/bench

go 1.26.0

require github.com/micro/micro-sdk-go v0.0.0

replace github.com/micro/micro-sdk-go => ../sdk
MOD
  (cd "$work/runner" && GOFLAGS=-mod=mod go mod tidy && go build -o "$work/bench" .) || return 1
}
run_go() { "$cache/bench-go/bench" "$@"; }

prepare_java() {
  local work="$cache/bench-java" jar
  rm -rf "$work" && mkdir -p "$work/classes" && cp -R sdks/java "$work/sdk" || return 1
  (cd "$work/sdk" && mvn -q -B -Dstyle.color=never package -DskipTests &&
    mvn -q -B -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
      -Dmdep.outputFile="$work/deps.txt" -Dmdep.includeScope=runtime) || return 1
  jar="$(ls "$work"/sdk/target/*.jar | grep -v -- '-sources\|-javadoc' | head -n 1)"
  [[ -n "$jar" ]] || return 1
  echo "$jar:$(cat "$work/deps.txt")" >"$work/classpath.txt"
  javac -d "$work/classes" -cp "$(cat "$work/classpath.txt")" bench/sdk/java/SdkBench.java || return 1
}
run_java() { java -cp "$cache/bench-java/classes:$(cat "$cache/bench-java/classpath.txt")" SdkBench "$@"; }

prepare_ruby() {
  local work="$cache/bench-rb"
  rm -rf "$work" && mkdir -p "$work" && cp -R sdks/ruby "$work/sdk" || return 1
  ruby -e 'require "grpc"; require "google/protobuf"' || return 1
}
run_ruby() { ruby -I"$cache/bench-rb/sdk/lib" "$REPO/bench/sdk/ruby/bench_sdk.rb" "$@"; }

prepare_rust() { [[ -x target/release/micro-gen-sdk-bench ]]; }
run_rust() { "$REPO/target/release/micro-gen-sdk-bench" "$@"; }

if want sdk; then
  echo "==> sdk: high-level client vs raw stub, sequential unary store.Read (${sdk_langs[*]})"
  server_log="$RESULTS/server.log"
  "$MICRO_GEN" serve --address 127.0.0.1:0 >"$server_log" 2>&1 &
  server_pid=$!
  trap 'kill "$server_pid" 2>/dev/null || true' EXIT
  address=""
  for _ in $(seq 1 100); do
    address="$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$server_log" | head -n 1)"
    [[ -n "$address" ]] && break
    sleep 0.1
  done
  [[ -n "$address" ]] || { cat "$server_log" >&2; echo "run.sh: the reference server did not start" >&2; exit 2; }
  echo "    reference server (micro-gen serve, default options) on $address"
  for lang in "${sdk_langs[@]}"; do
    echo "--- $lang: preparing"
    if ! "prepare_$lang" >"$RESULTS/sdk-$lang.log" 2>&1; then
      echo "    $lang: preparation failed, see $RESULTS/sdk-$lang.log" >&2
      continue
    fi
    echo "--- $lang: measuring ($CALLS calls per client)"
    if "run_$lang" "$address" "$CALLS" "$BATCHES" >"$RESULTS/sdk-$lang.out" 2>>"$RESULTS/sdk-$lang.log"; then
      grep '^{' "$RESULTS/sdk-$lang.out" | tail -n 1 >"$RESULTS/sdk-$lang.json"
      cat "$RESULTS/sdk-$lang.json"
    else
      echo "    $lang: benchmark failed, see $RESULTS/sdk-$lang.log" >&2
      cat "$RESULTS/sdk-$lang.out" >>"$RESULTS/sdk-$lang.log"
    fi
  done
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  trap - EXIT
fi

if want cost; then
  echo "==> cost: sdk --lang all on synthetic sets; googleapis vs protoc"
  python3 -m venv "$cache/bench-venv"
  "$cache/bench-venv/bin/pip" install --quiet 'grpcio-tools>=1.62'
  ga="$cache/bench-googleapis"
  ga_version="${BENCH_GOOGLEAPIS_VERSION:-5.0.3}"
  cost_args=()
  if (mkdir -p "$ga" && cd "$ga" && { [[ -f package.json ]] || echo '{"private": true}' >package.json; } &&
    npm install --no-audit --no-fund --loglevel=error "google-proto-files@$ga_version") >"$RESULTS/cost-npm.log" 2>&1; then
    cost_args=(--googleapis "$ga/node_modules/google-proto-files" --python "$cache/bench-venv/bin/python")
    [[ "${BENCH_GOOGLEAPIS_SDK:-1}" != 0 ]] || cost_args+=(--no-googleapis-sdk)
  else
    echo "    npm install google-proto-files failed, see $RESULTS/cost-npm.log" >&2
  fi
  # The generated SDKs go to a RAM disk when there is one (10k messages write 0.5 GB per run; the
  # benchmark measures micro-gen, not the disk).
  cost_work="$cache/bench-cost"
  [[ -d /dev/shm && -w /dev/shm ]] && cost_work="/dev/shm/micro-gen-bench-cost-$$"
  set +e
  target/release/micro-gen-cost-bench --micro-gen "$MICRO_GEN" --sizes "${BENCH_COST_SIZES:-1000,5000,10000}" \
    --runs "${BENCH_COST_RUNS:-3}" --googleapis-runs "${BENCH_COST_RUNS:-3}" --work "$cost_work" \
    --json "$RESULTS/cost.json" ${cost_args[@]+"${cost_args[@]}"}
  echo "$?" >"$RESULTS/cost.status"
  set -e
fi

echo
python3 bench/summary.py "$RESULTS" "${parts[@]}" ${sdk_langs[@]+"--langs" "${sdk_langs[@]}"}
