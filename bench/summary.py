"""Prints the summary table of a bench/run.sh run from the JSON files it left in RESULTS_DIR.

Usage: python3 bench/summary.py RESULTS_DIR PART... [--langs LANG...]

Exit status: 0 when every measured target is met, 1 when one is missed, 2 when a benchmark that
was asked for left no result (it failed; its log is in RESULTS_DIR).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

SERVER_TARGET = 0.90  # reference server throughput / bare tonic echo server throughput, at least
SDK_TARGET = 1.05  # high-level client median latency / raw stub median latency, at most
COST_TARGET_MS = 5000.0  # sdk --lang all on 10,000 messages and 1,000 services, at most
GOOGLEAPIS_TARGET = 1.0  # micro-gen / protoc descriptor set time on googleapis, at most
LANGS = ["rust", "python", "go", "ts", "java", "ruby"]


def load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def main(argv: list[str]) -> int:
    results = Path(argv[0])
    args = argv[1:]
    langs = LANGS
    if "--langs" in args:
        i = args.index("--langs")
        args, langs = args[:i], args[i + 1:]
    parts = set(args) or {"compile", "server", "sdk", "cost"}
    rows: list[tuple[str, str, str, str]] = []
    missed = failed = False

    def row(name: str, figures: str, ratio: str, ok: bool | None) -> None:
        nonlocal missed, failed
        verdict = "FAILED" if ok is None else ("ok" if ok else "MISSED")
        missed |= ok is False
        failed |= ok is None
        rows.append((name, figures, ratio, verdict))

    if "compile" in parts:
        c = load(results / "compile.json")
        if c is None:
            row("compile: descriptor set vs protoc", "-", "-", None)
        else:
            row("compile: descriptor set vs protoc", f"{c['descriptor_ms']:.2f} ms vs {c['protoc_ms']:.2f} ms",
                f"{c['ratio']:.2f}x (<= 1.00x)", c["ratio"] <= 1.0)
            row("compile: sdk --lang all (process)", f"{c['sdk_all_ms']:.1f} ms", "(< 150 ms)", c["sdk_all_ms"] < 150)
    if "server" in parts:
        s = load(results / "server.json")
        if s is None:
            row("server: ref vs bare tonic echo", "-", "-", None)
        else:
            r, e = s["ref"], s["echo"]
            row(f"server: store.Read, {s['concurrency']} in flight",
                f"ref {r['calls_per_sec']:.0f}/s p50 {r['p50_ms']:.2f} p99 {r['p99_ms']:.2f} ms | "
                f"echo {e['calls_per_sec']:.0f}/s p50 {e['p50_ms']:.2f} p99 {e['p99_ms']:.2f} ms",
                f"{s['ratio']:.3f}x (>= {SERVER_TARGET:.2f}x)", s["ratio"] >= SERVER_TARGET)
            if s.get("cpu_ratio") is not None:
                rows.append(("server: CPU per call (info)",
                             f"ref {r['cpu_us_per_call']:.1f} us | echo {e['cpu_us_per_call']:.1f} us",
                             f"echo/ref {s['cpu_ratio']:.3f}x", ""))
    if "sdk" in parts:
        for lang in langs:
            d = load(results / f"sdk-{lang}.json")
            if d is None:
                row(f"sdk {lang}: high vs raw", "-", "-", None)
            else:
                extra = f"; raw + 30 s deadline {d['raw_deadline_us']:.1f} us" if "raw_deadline_us" in d else ""
                row(f"sdk {lang}: high vs raw", f"{d['high_us']:.1f} us vs {d['raw_us']:.1f} us (median of "
                    f"{d['calls']} calls{extra})", f"{d['ratio']:.3f}x (<= {SDK_TARGET:.2f}x)", d["ratio"] <= SDK_TARGET)
                if d.get("raw_deadline_us"):
                    # The wrapper alone: the raw stub given the same default deadline (no target).
                    rows.append((f"sdk {lang}: high vs raw + deadline (info)",
                                 f"{d['high_us']:.1f} us vs {d['raw_deadline_us']:.1f} us",
                                 f"{d['high_us'] / d['raw_deadline_us']:.3f}x", ""))

    if "cost" in parts:
        c = load(results / "cost.json")
        if c is None or not c.get("synthetic"):
            row("cost: synthetic sdk --lang all", "-", "-", None)
        else:
            for r in c["synthetic"]:
                figures = (f"{r['messages']} msgs / {r['services']} svcs / {r['proto_files']} files: {r['ms']:.0f} ms "
                           f"({r['ms_per_1k']:.0f} ms per 1k msgs, CPU {r['cpu_ms']:.0f} ms), "
                           f"peak RSS {r['peak_rss_mib']:.0f} MiB")
                if r["messages"] == 10000:
                    row("cost: sdk --lang all, 10k msgs", figures, f"(< {COST_TARGET_MS:.0f} ms)",
                        r["ms"] < COST_TARGET_MS)
                else:
                    rows.append((f"cost: sdk --lang all, {r['messages']} msgs", figures, "", ""))
            if c.get("linearity") is not None:
                rows.append(("cost: linearity (info)", "time ratio largest/smallest set over size ratio",
                             f"{c['linearity']:.2f} (1.00 = linear)", ""))
        g = (c or {}).get("googleapis")
        if (c is not None and "googleapis" in c) or (results / "cost-npm.log").exists():
            if not g or g.get("ratio") is None:
                row("cost: googleapis descriptor vs protoc", "-", "-", None)
            else:
                row("cost: googleapis descriptor vs protoc", f"{g['files']} files: {g['micro_ms']:.0f} ms vs "
                    f"{g['protoc_ms']:.0f} ms", f"{g['ratio']:.2f}x (<= {GOOGLEAPIS_TARGET:.2f}x)",
                    g["ratio"] <= GOOGLEAPIS_TARGET)
                sdk = g.get("sdk_all_process") or {}
                if "ms" in sdk:
                    rows.append(("cost: googleapis sdk --lang all (info)",
                                 f"{sdk['ms']:.0f} ms, peak RSS {sdk['peak_rss_mib']:.0f} MiB", "", ""))
                elif "error" in sdk:
                    bad = [l for l, p in (g.get("sdk_per_language") or {}).items() if "error" in p]
                    rows.append(("cost: googleapis sdk --lang all (info)",
                                 f"fails ({', '.join(bad) or 'see cost output'})", "", ""))

    headers = ("benchmark", "figures", "ratio (target)", "")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    print(line(headers))
    print(line(tuple("-" * w for w in widths)))
    for r in rows:
        print(line(r))
    if failed:
        print(f"some benchmarks failed; logs in {results}")
        return 2
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
