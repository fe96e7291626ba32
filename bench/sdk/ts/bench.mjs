// Per-call latency of the TypeScript SDK's high-level client against the raw generated stub.
//
// High level: `new Micro({ address }).store.read({ key })` (Micro's transport: deadline, metadata,
// retry and error interceptors). Raw: `createClient(Store, createGrpcTransport({ baseUrl }))` from
// @connectrpc/connect(-node), the same libraries and versions the SDK uses. Each has its own HTTP/2
// session. Sequential unary calls, interleaved in batches (high, raw, raw, high, ...) after a
// warm-up batch; prints one JSON line: the median per-call latency of each in microseconds and the
// ratio high/raw. `raw_deadline_us` (not in the ratio) is the raw stub with the SDK's default 30 s
// deadline: the cost of having a deadline at all, apart from the SDK's wrapper.
//
// Usage (from the built SDK's directory, see bench/run.sh): node bench.mjs ADDRESS [CALLS] [BATCHES]

import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

const sdk = await import(process.env.MICRO_SDK_MODULE ?? "./dist/index.js");
const { Micro, store } = sdk;

const KEY = "sdk-bench-key";
const [address, callsArg, batchesArg] = process.argv.slice(2);
if (!address) {
  console.error("usage: node bench.mjs ADDRESS [CALLS] [BATCHES]");
  process.exit(2);
}
const calls = Number(callsArg ?? 4000);
const batches = Math.max(1, Number(batchesArg ?? 20));
const perBatch = Math.ceil(calls / batches);

const micro = new Micro({ address });
const raw = createClient(store.Store, createGrpcTransport({ baseUrl: `http://${address}` }));
await raw.write({ record: { key: KEY, value: new Uint8Array(64).fill(0x76) } });

const request = { key: KEY };
const high = async () => {
  const r = await micro.store.read(request);
  if (r.records.length !== 1) throw new Error(`${r.records.length} records`);
};
const rawCall = async () => {
  const r = await raw.read(request);
  if (r.records.length !== 1) throw new Error(`${r.records.length} records`);
};

const rawDeadline = async () => {
  const r = await raw.read(request, { timeoutMs: 30_000 });
  if (r.records.length !== 1) throw new Error(`${r.records.length} records`);
};

const samples = new Map([[high, []], [rawCall, []], [rawDeadline, []]]);
for (let batch = 0; batch <= batches; batch++) {
  // Batch 0 warms both up and is not recorded.
  for (const fn of batch % 2 === 0 ? [high, rawCall, rawDeadline] : [rawDeadline, rawCall, high]) {
    const out = samples.get(fn);
    for (let i = 0; i < perBatch; i++) {
      const t = process.hrtime.bigint();
      await fn();
      if (batch > 0) out.push(Number(process.hrtime.bigint() - t));
    }
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] / 1000;
};
const highUs = median(samples.get(high));
const rawUs = median(samples.get(rawCall));
console.log(
  JSON.stringify({
    lang: "ts",
    high: "new Micro(...).store.read",
    raw: "createClient(Store, createGrpcTransport(...)).read",
    calls: samples.get(high).length,
    high_us: highUs,
    raw_us: rawUs,
    raw_deadline_us: median(samples.get(rawDeadline)),
    ratio: highUs / rawUs,
  }),
);
micro.close();
process.exit(0);
