"""Times micro-gen against protoc (the one bundled in the grpcio-tools wheel) on the core protos.

Baselines are measured in the same run, and the output is ratios:

* ``descriptor``: ``micro-gen descriptor`` (a whole process: start-up, compile, write) against
  protoc compiling the same 13 files to a descriptor set with source info and imports, called
  in-process through ``grpc_tools.protoc.main`` (so protoc pays no process start-up: the
  comparison is conservative for micro-gen). Target: ratio <= 1.0.
* ``sdk --lang all``: every language of the core protos, whole process. Target: < 150 ms.

Each figure is the median of ``--runs`` runs after a warm-up.
"""
from __future__ import annotations

import argparse
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


def median_ms(fn, runs: int) -> float:
    fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--micro-gen", required=True, help="path to a release build of micro-gen")
    parser.add_argument("--runs", type=int, default=30)
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

        protoc_ms = median_ms(run_protoc, args.runs)
        descriptor_ms = median_ms(run_descriptor, args.runs)
        sdk_ms = median_ms(run_sdk_all, args.runs)

    ratio = descriptor_ms / protoc_ms
    print(f"files: {len(FILES)} core protos, median of {args.runs} runs")
    print(f"protoc (grpcio-tools, in-process)   {protoc_ms:8.2f} ms")
    print(f"micro-gen descriptor (process)      {descriptor_ms:8.2f} ms   ratio {ratio:.2f}x protoc  (target <= 1.00x)")
    print(f"micro-gen sdk --lang all (process)  {sdk_ms:8.2f} ms   (target < 150 ms)")
    ok = ratio <= 1.0 and sdk_ms < 150
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
