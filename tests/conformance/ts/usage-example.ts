// A small program as an SDK user would write it. run.sh type-checks it (never runs it) with
// `tsc --noEmit --strict` against the packed SDK, installed under the alias "micro-sdk": a type
// error in the SDK's public surface fails the run.

import { Code, ConnectError } from "@connectrpc/connect";
import { Micro, MicroError, USER_AGENT, createMicroTransport, StoreClient } from "micro-sdk";
import type { CallOptions, MicroOptions, MicroTransport, RetryPolicy } from "micro-sdk";

const retry: RetryPolicy = { maxRetries: 3, initialBackoffMs: 50, retryableCodes: [Code.Unavailable] };
const options: MicroOptions = {
  address: "127.0.0.1:8081",
  token: "secret-token",
  namespace: "micro",
  timeoutMs: 5_000,
  retry,
  headers: { "x-request-id": "42" },
};

export async function main(): Promise<void> {
  const micro = new Micro(options);
  try {
    const perCall: CallOptions = { timeoutMs: 1_000, headers: { "x-trace": "1" } };
    await micro.store.write({ record: { key: "greeting", value: new TextEncoder().encode("hello") } }, perCall);

    const read = await micro.store.read({ key: "greeting", options: { database: "micro", limit: 10n } });
    for (const record of read.records) {
      const key: string = record.key;
      const value: Uint8Array = record.value;
      const expiry: bigint = record.expiry;
      console.log(key, new TextDecoder().decode(value), expiry);
    }

    const got = await micro.config.get({ namespace: "micro", path: "a.b" });
    const data: string | undefined = got.value?.data;
    console.log(data);

    for await (const page of micro.store.list({ options: { prefix: "greet" } })) {
      const keys: string[] = page.keys;
      console.log(keys.length);
    }

    // @ts-expect-error key is a string, so a number must not type-check
    await micro.store.read({ key: 42 });
  } catch (err) {
    if (err instanceof MicroError) {
      const code: Code = err.code;
      const id: string = err.id;
      const microCode: number = err.microCode;
      const detail: string = err.detail;
      const status: string = err.status;
      const asConnect: ConnectError = err;
      console.error(code === Code.NotFound, id, microCode, detail, status, asConnect.rawMessage);
    } else {
      throw err;
    }
  } finally {
    micro.close();
  }

  const t: MicroTransport = createMicroTransport({ address: "https://micro.example.com", retry: false });
  const store = new StoreClient(t.transport);
  const deleted = await store.delete({ key: "greeting" }, { signal: AbortSignal.timeout(1_000) });
  console.log(deleted, USER_AGENT);
  t.close();
}
