// Runtime check of the TypeScript keyword-torture SDK (tests/protos/names/ts), run by
// tests/conformance/ts/run.sh: copied into the generated SDK's src/, type-checked with it
// (tsc --strict) and run against `micro-gen serve --echo-unknown` at the address in argv[2].
// Builds messages whose fields, oneofs, map entries, nested messages and enum values have
// reserved names, checks that every property name the SDK declares is the one the protobuf-es
// runtime reads, and calls each rpc kind through the high-level client, asserting the echo.
import { create, createRegistry, equals, fromBinary, fromJson, isFieldSet, toBinary, toJson } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Micro, MicroClient, constructorClient } from "./index.js";
import {
  AsyncIterableSchema,
  Array as ArrayEnum,
  Object$,
  PromiseSchema,
  Promise_then_catch_finally_Reflect as Reflect$,
  argumentsSchema,
  await$,
  functionSchema,
  type function$,
} from "./gen/class/function/types_pb.js";
import { defaultSchema, string$, type default$ } from "./gen/export/default/default_pb.js";

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

/** Every non-oneof field and every oneof group of `message` is set: no property was misnamed. */
function allSet<D extends DescMessage>(schema: D, message: MessageShape<D>, except: string[] = []): void {
  for (const field of schema.fields) {
    if (field.oneof || except.includes(field.name)) continue;
    check(isFieldSet(message, field), `${schema.typeName}.${field.name} (property ${field.localName}) is set`);
  }
  for (const oneof of schema.oneofs) {
    const group = (message as unknown as Record<string, { case?: string }>)[oneof.localName];
    check(group?.case !== undefined, `${schema.typeName} oneof ${oneof.name} (property ${oneof.localName}) is set`);
  }
}

async function* stream<T>(...items: T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const fn: function$ = create(functionSchema, {
  constructor$: "constructor",
  toString$: "toString",
  toJSON$: "toJSON",
  valueOf$: "valueOf",
  Proto: "__proto__",
  hasOwnProperty$: "hasOwnProperty",
  isPrototypeOf$: "isPrototypeOf",
  prototype: "prototype",
  class: "class",
  this: "this",
  delete: -1n,
  new: true,
  typeof: 18446744073709551615n,
  void: 0.5,
  instanceof: new Uint8Array([0, 255]),
  typeName: "$typeName",
  unknown: "$unknown",
  undefined: "",
  NaN: 0,
  switch: { case: "default", value: create(functionSchema, { class: "nested", interface: Object$.toString$ }) },
  let: { constructor: create(functionSchema, { this: "map value" }), __proto__x: create(functionSchema) },
  var: { 1: Object$.constructor$, [-2]: Object$.class },
  const: { true: "a", false: "b" },
  static: { "18446744073709551615": new Uint8Array([1]), "0": new Uint8Array() },
  await: [create(PromiseSchema, { resolve: "r", try: { do: { with: { export: "deep" } } } })],
  enum: [Object$.valueOf$, Object$.UNSPECIFIED],
  package: [1, -1],
  interface: Object$.class,
  Date: { seconds: 1n, nanos: 2 },
  JSON: { constructor: "x", nested: { list: [1, "two", null, true] } },
  Symbol: anyPack(PromiseSchema, create(PromiseSchema, { resolve: "packed" })),
  String: "wrapped",
  globalThis: { kind: { case: "stringValue", value: "v" } },
  Error: { import: Reflect$.super, export: "e", from: [{ import: Reflect$.await_ }] },
  Proxy: Reflect$.yield_,
  Number: ArrayEnum.toJSON$,
  Infinity: { case: "arguments", value: "args" },
});
allSet(functionSchema, fn);
check(fn.let["constructor"]?.this === "map value", "map entry keyed constructor");
check(create(functionSchema, { class: "x" }).hasOwnProperty$ === "", "hasOwnProperty is not read from Object.prototype");
check(functionSchema.field["hasOwnProperty$"]?.name === "has_own_property", "escaped field renamed in the descriptor");
check(fn.switch.case === "default" && fn.switch.value.class === "nested", "oneof member holding a nested message");

// Local round trips: binary and JSON (JSON names are the proto's, whatever the properties).
check(equals(functionSchema, fn, fromBinary(functionSchema, toBinary(functionSchema, fn))), "binary round trip");
const registry = createRegistry(PromiseSchema);
const json = toJson(functionSchema, fn, { registry });
const jsonObject = json as Record<string, unknown>;
check(jsonObject["constructor"] === "constructor" && jsonObject["hasOwnProperty"] === "hasOwnProperty", "JSON names");
check(jsonObject["Proto"] === "__proto__" && jsonObject["toString"] === "toString", "JSON names (camelCase)");
check(equals(functionSchema, fn, fromJson(functionSchema, json, { registry })), "JSON round trip");

// proto2 (file 2): defaults, presence, a required field, members renamed because protobuf-es
// would give them one property (foo_bar/fooBar, the oneof `unknown` and the field `unknown_`).
const empty: default$ = create(defaultSchema);
check(empty.object === Object$.valueOf$ && !isFieldSet(empty, defaultSchema.field.object), "enum default, unset");
check(empty.string === "constructor" && empty.boolean && empty.bigint === -9007199254740993n, "scalar defaults");
check(empty.any.length === 2 && empty.any[1] === 1, "bytes default");
check(empty.Infinity === Infinity && Number.isNaN(empty.NaN), "inf and nan defaults");
const dflt: default$ = create(defaultSchema, {
  function: fn,
  object: Object$.UNSPECIFIED,
  Array: [ArrayEnum.null, ArrayEnum.name],
  number: [1, 2, 3],
  string: "",
  boolean: false,
  bigint: 0n,
  any: new Uint8Array(),
  never: "required",
  fooBar: "foo_bar",
  fooBar$: "fooBar",
  unknown$: "unknown_",
  Record: { then: { export: "x" } },
  unknown: { case: "keyof", value: "keyof" },
  Infinity: 1,
  NaN: 2,
});
allSet(defaultSchema, dflt);
check(isFieldSet(dflt, defaultSchema.field.object) && dflt.object === Object$.UNSPECIFIED, "explicit zero has presence");
check(defaultSchema.field["fooBar$"]?.name === "fooBar" && defaultSchema.field["fooBar"]?.name === "foo_bar", "renamed field descriptors");
const djson = toJson(defaultSchema, dflt, { registry }) as Record<string, unknown>;
check(djson["fooBar"] === "foo_bar" && djson["fooBarAgain"] === "fooBar" && djson["unknown"] === "unknown_", "JSON of renamed members");
check(equals(defaultSchema, dflt, fromBinary(defaultSchema, toBinary(defaultSchema, dflt))), "proto2 binary round trip");
check(string$.any === 0 && string$.unknown_ === 1, "enum named string");

const address = process.argv[2];
if (!address) throw new Error("usage: node names_check.js HOST:PORT");
const micro = new Micro({ address, retry: false, timeoutMs: 10_000 });
check(micro.micro instanceof MicroClient && micro.constructor$ instanceof constructorClient, "service accessors");
// A client with a `then` rpc is not a thenable: awaiting it must not call the rpc.
check(((await Promise.resolve(micro.micro)) as unknown) === micro.micro, "client is not a thenable");
try {
  const other = create(functionSchema, { class: "first" });
  check(equals(functionSchema, fn, await micro.micro.constructor$(fn)), "unary constructor");
  const streamed = await collect(micro.micro.close$(fn));
  check(streamed.length === 1 && equals(functionSchema, fn, streamed[0]!), "server-streaming close");
  check(equals(functionSchema, fn, await micro.micro.toString$(stream(other, fn))), "client-streaming toString");
  const bidi = await collect(micro.micro.call(stream(other, fn)));
  check(bidi.length === 1 && equals(functionSchema, fn, bidi[0]!), "bidi call");
  for (const call of [micro.micro.transport$, micro.micro.service$, micro.micro.then$, micro.micro.delete, micro.micro.delete$]) {
    check(equals(functionSchema, fn, await call.call(micro.micro, fn)), `unary ${call.name}`);
  }
  const promise = create(PromiseSchema, { reject: "r", try: { do: {} } });
  check(equals(PromiseSchema, promise, await micro.micro.resolve(promise)), "message named Promise");
  const iterable = create(AsyncIterableSchema, { Symbol: [promise] });
  const its = await collect(micro.micro.iterate(stream(iterable)));
  check(its.length === 1 && equals(AsyncIterableSchema, iterable, its[0]!), "message named AsyncIterable");

  // `arguments`, `eval` and `await` are escaped as identifiers, not as properties.
  const args = create(argumentsSchema, { await: await$.UNSPECIFIED });
  check(equals(argumentsSchema, args, await micro.eval.arguments(args)), "service eval, rpc and message arguments");
  const svc = micro.constructor$;
  check(equals(defaultSchema, dflt, await svc.apply(dflt)), "unary apply (proto2)");
  const bound = await collect(svc.bind(dflt));
  check(bound.length === 1 && equals(defaultSchema, dflt, bound[0]!), "server-streaming bind");
  check(equals(defaultSchema, dflt, await svc.catch(stream(create(defaultSchema, { never: "first" }), dflt))), "client-streaming catch");
  const fin = await collect(svc.finally(stream(dflt)));
  check(fin.length === 1 && equals(defaultSchema, dflt, fin[0]!) && fin[0]!.fooBar$ === "fooBar", "bidi finally");
} finally {
  micro.close();
}
console.log("ts names torture: ok");
