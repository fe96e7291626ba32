"""Per-call latency of the Python SDK's high-level client against the raw grpcio stub.

High level: ``Micro(address).store.read(ReadRequest(...))`` (deadline, metadata, retry policy,
MicroError conversion). Raw: what grpcio's generated ``StoreStub`` does, i.e.
``grpc.insecure_channel(address).unary_unary("/store.Store/Read", ReadRequest.SerializeToString,
ReadResponse.FromString)`` made once and called (the SDK ships no ``*_pb2_grpc`` module, so the
stub is written out here exactly as grpc_tools generates it). Each client has its own channel.

Sequential unary calls, interleaved in batches (high, raw, raw, high, ...) after a warm-up batch;
prints one JSON line: median per-call latency of each in microseconds and the ratio high/raw.
``raw_deadline_us`` (not in the ratio) is the raw stub with the SDK's default 30 s deadline: the
cost of having a deadline at all, apart from the SDK's wrapper.

Usage: python bench_sdk.py ADDRESS [CALLS] [BATCHES]
"""
from __future__ import annotations

import json
import statistics
import sys
import time

import grpc
from micro import Micro
from micro.store.store_pb2 import ReadRequest, ReadResponse, Record, WriteRequest, WriteResponse

KEY = "sdk-bench-key"


def main() -> int:
    address = sys.argv[1]
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    batches = max(1, int(sys.argv[3]) if len(sys.argv) > 3 else 20)
    per_batch = -(-calls // batches)

    micro = Micro(address)
    channel = grpc.insecure_channel(address)
    read = channel.unary_unary(
        "/store.Store/Read",
        request_serializer=ReadRequest.SerializeToString,
        response_deserializer=ReadResponse.FromString,
    )
    write = channel.unary_unary(
        "/store.Store/Write",
        request_serializer=WriteRequest.SerializeToString,
        response_deserializer=WriteResponse.FromString,
    )
    write(WriteRequest(record=Record(key=KEY, value=b"v" * 64)))
    request = ReadRequest(key=KEY)
    store = micro.store

    def high() -> None:
        assert len(store.read(request).records) == 1

    def raw() -> None:
        assert len(read(request).records) == 1

    def raw_deadline() -> None:
        assert len(read(request, timeout=30.0).records) == 1

    samples: dict = {high: [], raw: [], raw_deadline: []}
    clock = time.perf_counter_ns
    for batch in range(batches + 1):  # batch 0 warms both up and is not recorded
        for fn in ((high, raw, raw_deadline) if batch % 2 == 0 else (raw_deadline, raw, high)):
            out = samples[fn]
            for _ in range(per_batch):
                t = clock()
                fn()
                if batch:
                    out.append(clock() - t)
    high_us = statistics.median(samples[high]) / 1000
    raw_us = statistics.median(samples[raw]) / 1000
    print(json.dumps({
        "lang": "python",
        "high": "micro.Micro().store.read",
        "raw": "grpc channel.unary_unary('/store.Store/Read') (StoreStub)",
        "calls": len(samples[high]),
        "high_us": high_us,
        "raw_us": raw_us,
        "raw_deadline_us": statistics.median(samples[raw_deadline]) / 1000,
        "ratio": high_us / raw_us,
    }))
    micro.close()
    channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
