// Runtime check of the coverage SDK (tests/protos/coverage), run by tests/conformance/ts/run.sh:
// copied into the generated SDK's src/, type-checked with it (tsc --strict) and run against
// `micro-gen serve --echo-unknown` at the address in argv[2]. Proto2 defaults and presence,
// required fields, a group, nested types four deep, maps of every key type, packed and unpacked
// repeated fields, well-known types and wrappers, then every rpc of the three services in two
// packages, asserting each echo equals the request.
import { create, createRegistry, equals, fromBinary, fromJson, isFieldSet, toBinary, toJson } from "@bufbuild/protobuf";
import { EmptySchema, TimestampSchema, anyPack, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AdminClient, LegacyAdminClient, LegacyClient, Micro, ShopClient } from "./index.js";
import { MoneySchema, NoteSchema, Note_Kind, Severity } from "./gen/coverage/common/v1/common_pb.js";
import {
  RecordSchema,
  Record_Level1_Level2_Level3_Depth as Depth,
  Status,
  type Record,
} from "./gen/coverage/legacy/v1/legacy_pb.js";
import { ItemSchema, type Item } from "./gen/coverage/shop/v1/shop_pb.js";

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

async function* stream<T>(...items: T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

// proto2 defaults: an unset optional field reads its [default = ...], and has no presence.
const empty: Record = create(RecordSchema);
check(empty.fDouble === 1.5 && empty.fFloat === -2.25 && empty.fInt32 === -7, "double, float, int32 defaults");
check(empty.fInt64 === 9007199254740993n && empty.fUint32 === 4000000000, "int64, uint32 defaults");
check(empty.fUint64 === 18446744073709551615n && empty.fSint32 === -32 && empty.fSint64 === -64n, "uint64, sint defaults");
check(empty.fFixed32 === 32 && empty.fFixed64 === 64n && empty.fSfixed32 === -320 && empty.fSfixed64 === -640n, "fixed defaults");
check(empty.fBool && empty.fString === 'h"i\\\n\u00e9', "bool and string defaults");
check(equals(RecordSchema, empty, empty) && empty.fBytes.join(",") === "0,1,255,122", "bytes default");
check(empty.status === Status.SOLD_OUT && empty.fInf === Infinity && Number.isNaN(empty.fNan), "enum, inf, nan defaults");
check(empty.plain === "" && !isFieldSet(empty, RecordSchema.field.fDouble) && !isFieldSet(empty, RecordSchema.field.status), "no presence");
const level3 = create(RecordSchema, { level1: { level2: { level3: {} } } }).level1?.level2?.level3;
check(level3?.depth === Depth.FOUR, "nested enum default four levels deep");

const record: Record = create(RecordSchema, {
  id: "r1",
  revision: 0,
  fDouble: 0,
  fInt64: -1n,
  fUint64: 0n,
  fBool: false,
  fString: "",
  fBytes: new Uint8Array(),
  status: Status.IN_STOCK,
  unpacked: [1, -1],
  packed: [2, 3],
  statuses: [Status.DISCONTINUED],
  tags: ["a", ""],
  audit: { by: "me", at: 5n },
  level1: { level2: { level3: { depth: Depth.THREE, leaf: "leaf" } } },
  price: { currency: "EUR", units: 1n, nanos: 5 },
  choice: { case: "number", value: 0 },
  notes: { n: { text: "note", kind: Note_Kind.TEXT, author: { handle: { value: "h" } }, target: { case: "line", value: 3n } } },
});
check(isFieldSet(record, RecordSchema.field.fDouble) && record.fDouble === 0, "explicit default-equal value has presence");
check(isFieldSet(record, RecordSchema.field.revision) && isFieldSet(record, RecordSchema.field.audit), "required and group presence");
check(equals(RecordSchema, record, fromBinary(RecordSchema, toBinary(RecordSchema, record))), "proto2 binary round trip");
let missingRequired = false;
try {
  toBinary(RecordSchema, create(RecordSchema, { id: "only id" }));
} catch {
  missingRequired = true;
}
check(missingRequired, "a missing required field fails to serialize");

const item: Item = create(ItemSchema, {
  id: "i1",
  label: "",
  stock: 0n,
  severity: Severity.UNSPECIFIED,
  price: { currency: "USD", units: -3n },
  record,
  pick: { case: "note", value: create(NoteSchema, { text: "picked", severity: Severity.HIGH }) },
  mInt32: { [-1]: "a" },
  mInt64: { "-9223372036854775808": "b" },
  mUint32: { 4294967295: "c" },
  mUint64: { "18446744073709551615": "d" },
  mSint32: { [-2]: "e" },
  mSint64: { "-3": "f" },
  mFixed32: { 7: "g" },
  mFixed64: { "8": "h" },
  mSfixed32: { [-9]: "i" },
  mSfixed64: { "-10": "j" },
  mBool: { true: "k", false: "l" },
  mString: { "": "m" },
  mMessage: { x: create(MoneySchema, { units: 1n }) },
  mEnum: { y: Severity.LOW },
  mBytes: { z: new Uint8Array([0]) },
  packed: [1n, -1n],
  unpacked: [2n],
  children: [create(ItemSchema, { id: "child" })],
  severities: [Severity.HIGH, Severity.LEGACY],
  created: timestampFromDate(new Date(0)),
  ttl: { seconds: 3n },
  attributes: { a: 1, b: [true, null] },
  value: { kind: { case: "numberValue", value: 2 } },
  list: { values: [{ kind: { case: "stringValue", value: "s" } }] },
  any: anyPack(MoneySchema, create(MoneySchema, { currency: "X" })),
  mask: { paths: ["a.b"] },
  empty: {},
  wDouble: 0,
  wFloat: 1.5,
  wInt64: -1n,
  wUint64: 1n,
  wInt32: 0,
  wUint32: 2,
  wBool: false,
  wString: "",
  wBytes: new Uint8Array([1]),
});
check(isFieldSet(item, ItemSchema.field.label) && isFieldSet(item, ItemSchema.field.stock), "proto3 optional presence");
check(isFieldSet(item, ItemSchema.field.wBool) && item.wBool === false, "wrapper presence");
check(!isFieldSet(create(ItemSchema), ItemSchema.field.label), "proto3 optional unset");
check(equals(ItemSchema, item, fromBinary(ItemSchema, toBinary(ItemSchema, item))), "proto3 binary round trip");
const registry = createRegistry(MoneySchema);
check(equals(ItemSchema, item, fromJson(ItemSchema, toJson(ItemSchema, item, { registry }), { registry })), "JSON round trip");

const address = process.argv[2];
if (!address) throw new Error("usage: node names_check.js HOST:PORT");
const micro = new Micro({ address, retry: false, timeoutMs: 10_000 });
check(micro.shop instanceof ShopClient && micro.legacy instanceof LegacyClient, "accessors");
check(micro.admin instanceof AdminClient && micro.legacyAdmin instanceof LegacyAdminClient, "two services in one file");
try {
  const other = create(ItemSchema, { id: "first" });
  check(equals(ItemSchema, item, await micro.shop.put(item)), "unary put");
  const watched = await collect(micro.shop.watch(item));
  check(watched.length === 1 && equals(ItemSchema, item, watched[0]!), "server-streaming watch");
  check(equals(ItemSchema, item, await micro.shop.upload(stream(other, item))), "client-streaming upload");
  const exchanged = await collect(micro.shop.exchange(stream(other, item)));
  check(exchanged.length === 1 && equals(ItemSchema, item, exchanged[0]!), "bidi exchange");
  const now = timestampFromDate(new Date(1_700_000_000_000));
  check(equals(TimestampSchema, now, await micro.shop.stamp(now)), "well-known type as request");

  const firstRecord = create(RecordSchema, { id: "first", revision: 1 });
  const put = await micro.legacy.put(record);
  check(equals(RecordSchema, record, put) && isFieldSet(put, RecordSchema.field.fDouble), "unary proto2 put keeps presence");
  check(!isFieldSet(put, RecordSchema.field.fFloat) && put.fFloat === -2.25, "echoed unset field reads its default");
  const scanned = await collect(micro.legacy.scan(record));
  check(scanned.length === 1 && equals(RecordSchema, record, scanned[0]!), "server-streaming scan");
  check(equals(RecordSchema, record, await micro.legacy.load(stream(firstRecord, record))), "client-streaming load");
  const synced = await collect(micro.legacy.sync(stream(firstRecord, record)));
  check(synced.length === 1 && equals(RecordSchema, record, synced[0]!), "bidi sync");

  const note = create(NoteSchema, { text: "n", kind: Note_Kind.TEXT, target: { case: "url", value: "u" } });
  check(equals(EmptySchema, create(EmptySchema), await micro.admin.ping({})), "unary Empty");
  check(equals(NoteSchema, note, await micro.admin.annotate(note)), "unary annotate");
  const tail = await collect(micro.admin.tail(note));
  check(tail.length === 1 && equals(NoteSchema, note, tail[0]!), "server-streaming tail");
  check(equals(NoteSchema, note, await micro.admin.gather(stream(create(NoteSchema), note))), "client-streaming gather");
  const relay = await collect(micro.admin.relay(stream(note)));
  check(relay.length === 1 && equals(NoteSchema, note, relay[0]!), "bidi relay");
  check(equals(EmptySchema, create(EmptySchema), await micro.legacyAdmin.reset({})), "deprecated rpc");
} finally {
  micro.close();
}
console.log("ts coverage: ok");
