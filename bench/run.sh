#!/usr/bin/env bash
# Benchmarks micro-gen (release build) against protoc in the same run; prints ratios.
# Not a test: numbers vary by machine; the ratios are what to read.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${MICRO_CACHE:-$PWD/.cache}"
cargo build --release --locked -p micro-gen -p micro-gen-bench
python3 -m venv "$cache/bench-venv"
"$cache/bench-venv/bin/pip" install --quiet --disable-pip-version-check 'grpcio-tools>=1.62'
exec "$cache/bench-venv/bin/python" bench/bench.py --micro-gen target/release/micro-gen --bench-bin target/release/micro-gen-bench "$@"
