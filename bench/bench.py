"""Times micro-gen against protoc (the one bundled in the grpcio-tools wheel) on the core protos.

Baselines are measured in the same run, and the output is ratios:

* ``descriptor``: micro-gen compiling the 13 files to a descriptor set (source info and
  imports included) and writing it, in-process (``micro-gen-bench``), against protoc doing the
  same, in-process through ``grpc_tools.protoc.main``. Target: ratio <= 1.0. The same figure for
  a whole ``micro-gen descriptor`` process (start-up included) is printed beside it.
* ``sdk --lang all``: every language of the core protos, whole process. Target: < 150 ms.

Each figure is the median of ``--runs`` runs after a warm-up.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grpc_tools import protoc  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto"
FILES = sorted(str(p.relative_to(PROTO)) for p in PROTO.rglob("*.proto"))


def medians_ms(fns, runs: int) -> list:
    """Median wall time of each function, in milliseconds. Runs are interleaved (a, b, c, a, b,
    c, ...) so that drift in the machine's speed hits every contender alike."""
    for fn in fns:
        fn()
    samples = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            samples[i].append((time.perf_counter() - t) * 1000)
    return [statistics.median(s) for s in samples]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--micro-gen", required=True, help="path to a release build of micro-gen")
    parser.add_argument("--bench-bin", required=True, help="path to a release build of micro-gen-bench")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--json", help="also write the figures to this file, as one JSON object")
    args = parser.parse_args()
    binary = os.path.abspath(args.micro_gen)

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)

        def run_protoc() -> None:
            code = protoc.main(["protoc", f"-I{PROTO}", f"--descriptor_set_out={out / 'protoc.binpb'}",
                                "--include_source_info", "--include_imports", *FILES])
            if code != 0:
                raise SystemExit(f"protoc failed with {code}")

        def run_descriptor() -> None:
            subprocess.run([binary, "descriptor", "-o", str(out / "micro.binpb")], check=True, cwd=tmp)

        def run_sdk_all() -> None:
            subprocess.run([binary, "sdk", "--lang", "all", "--out", str(out / "sdks")], check=True, cwd=tmp,
                           stdout=subprocess.DEVNULL)

        def run_version() -> None:
            subprocess.run([binary, "--version"], check=True, stdout=subprocess.DEVNULL)

        protoc_ms, descriptor_ms, sdk_ms, startup_ms = medians_ms(
            [run_protoc, run_descriptor, run_sdk_all, run_version], args.runs)
        inproc = json.loads(subprocess.run([os.path.abspath(args.bench_bin), tmp, str(args.runs)], check=True,
                                           capture_output=True, text=True).stdout)
        protoc_again = medians_ms([run_protoc], args.runs)[0]
        protoc_ms = (protoc_ms + protoc_again) / 2

    ratio = inproc["descriptor_ms"] / protoc_ms
    print(f"files: {len(FILES)} core protos, median of {args.runs} runs")
    print(f"protoc descriptor set (grpcio-tools, in-process) {protoc_ms:8.2f} ms")
    print(f"micro-gen descriptor set (in-process)           {inproc['descriptor_ms']:8.2f} ms   "
          f"ratio {ratio:.2f}x protoc  (target <= 1.00x)")
    print(f"micro-gen descriptor (whole process)            {descriptor_ms:8.2f} ms   "
          f"{descriptor_ms / protoc_ms:.2f}x protoc; process start alone {startup_ms:.2f} ms")
    print(f"micro-gen sdk --lang all (whole process)        {sdk_ms:8.2f} ms   (target < 150 ms; "
          f"in-process {inproc['sdk_all_ms']:.2f} ms)")
    ok = ratio <= 1.0 and sdk_ms < 150
    if args.json:
        Path(args.json).write_text(json.dumps({
            "runs": args.runs, "protoc_ms": protoc_ms, "descriptor_ms": inproc["descriptor_ms"], "ratio": ratio,
            "descriptor_process_ms": descriptor_ms, "startup_ms": startup_ms, "sdk_all_ms": sdk_ms,
            "sdk_all_inproc_ms": inproc["sdk_all_ms"], "ok": ok,
        }) + "\n")
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
