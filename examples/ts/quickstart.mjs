// Quickstart: write, read and list records, read config, and handle a Micro error.
// Run with the SDK installed (`npm install @micro/sdk`) and a platform listening on MICRO_ADDRESS.
import { Micro, MicroError } from "@micro/sdk";
import { Code } from "@connectrpc/connect";

const micro = new Micro({
  address: process.env.MICRO_ADDRESS ?? "127.0.0.1:8081",
  token: process.env.MICRO_TOKEN,
  namespace: process.env.MICRO_NAMESPACE ?? "micro",
  timeoutMs: 5_000,
});

try {
  await micro.store.write({ record: { key: "quickstart/greeting", value: new TextEncoder().encode("hello") } });
  const { records } = await micro.store.read({ key: "quickstart/greeting" });
  console.log(`read ${records[0].key} = ${new TextDecoder().decode(records[0].value)}`);

  for await (const page of micro.store.list({ options: { prefix: "quickstart/" } })) {
    console.log(`listed ${page.keys.join(", ")}`);
  }

  await micro.config.set({ namespace: "quickstart", path: "db.port", value: { data: "5432" } });
  const { value } = await micro.config.get({ namespace: "quickstart", path: "db" });
  console.log(`config db = ${value?.data}`);

  try {
    await micro.store.read({ key: "quickstart/missing" });
    throw new Error("expected NOT_FOUND");
  } catch (e) {
    if (!(e instanceof MicroError) || e.code !== Code.NotFound) throw e;
    console.log(`missing key: ${Code[e.code]} ${e.id} ${e.microCode} ${e.status}`);
  }
} finally {
  micro.close();
}
