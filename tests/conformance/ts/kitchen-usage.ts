// The kitchen-sink SDK's message types as a user writes them. run.sh type-checks this file (never
// runs it) with `tsc --noEmit --strict` against the packed kitchen-sink SDK, installed under the
// alias "micro-kitchen-sdk". The shapes are the ones protoc-gen-es v2 generates and
// @bufbuild/protobuf v2 uses at run time: singular wrapper fields outside a oneof are unboxed to
// their scalar, google.protobuf.Struct fields are JsonObject, maps with 32-bit integer keys are
// keyed by number, every other well-known type is the runtime's own type from
// @bufbuild/protobuf/wkt.

import { create, type JsonObject } from "@bufbuild/protobuf";
import { type Duration, type Timestamp, timestampFromDate, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Micro, micro_kitchen_v1 as k } from "micro-kitchen-sdk";

export async function main(): Promise<void> {
  const micro = new Micro({ address: "127.0.0.1:8081" });
  try {
    const timestamp: Timestamp = timestampFromDate(new Date(0));
    const struct: JsonObject = { a: 1, b: [true, null, "x"], c: { d: "e" } };
    const res = await micro.kitchenSink.echo({
      payload: {
        scalars: { fInt64: 1n, fBytes: new Uint8Array([1]), fColor: k.Color.RED },
        optionals: { oInt32: 0, oString: "" },
        maps: { int32Key: { 1: "one" }, int64Key: { "2": "two" }, boolKey: { true: "yes" } },
        choice: { value: { case: "number", value: 7n } },
        wellKnown: {
          timestamp,
          struct,
          value: create(ValueSchema, { kind: { case: "stringValue", value: "v" } }),
          doubleValue: 1.5,
          int64Value: 5n,
          uint32Value: 6,
          boolValue: false,
          stringValue: "s",
          bytesValue: new Uint8Array([2]),
          timestamps: [timestamp],
        },
        tree: { name: "root", children: [{ name: "leaf" }], byName: { leaf: { name: "leaf" } } },
      },
    });
    const wellKnown = res.payload?.wellKnown;
    const d: number | undefined = wellKnown?.doubleValue;
    const i: bigint | undefined = wellKnown?.int64Value;
    const b: Uint8Array | undefined = wellKnown?.bytesValue;
    const s: JsonObject | undefined = wellKnown?.struct;
    const duration: Duration | undefined = wellKnown?.duration;
    const byNumber: string | undefined = res.payload?.maps?.int32Key[1];
    const optional: number | undefined = res.payload?.optionals?.oInt32;
    console.log(d, i, b, s, duration, byNumber, optional);

    for await (const message of micro.kitchenSink.echoStream({ behavior: { repeat: 2 } })) {
      const index: number = message.index;
      console.log(index);
    }
    const collected = await micro.kitchenSink.collect(
      (async function* () {
        yield { payload: { scalars: { fString: "a" } } };
      })(),
    );
    const count: number = collected.count;
    console.log(count);
    await micro.kitchenSink.ping({});
  } finally {
    micro.close();
  }
}
