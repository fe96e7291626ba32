// Round-trips a message that uses every construct of the features case through binary and JSON,
// with the generated schemas and @bufbuild/protobuf.
import assert from "node:assert/strict";
import { create, equals, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { acme_common_v1 as common, acme_shop_v1 as shop, ShopServiceClient } from "./dist/index.js";

const order = create(shop.OrderSchema, {
  id: "o-1",
  kind: shop.Order_Kind.ONLINE,
  lines: [{ sku: "a", quantity: 2, unitPrice: { currency: "EUR", units: 3n, nanos: 500 } }],
  counts: { a: 2 },
  payment: { case: "cash", value: { currency: "EUR", units: 7n } },
  note: "leave at door",
  createdAt: timestampFromDate(new Date(Date.UTC(2026, 0, 2, 3, 4, 5))),
  linesById: { "7": { sku: "b", quantity: 1 } },
  attachment: new Uint8Array([0, 255]),
  weightKg: 1.5,
  points: -42n,
  status: common.Status.OK,
  history: [common.Status.OK, common.Status.FAILED],
  constructor$: "escaped",
});
const back = fromBinary(shop.OrderSchema, toBinary(shop.OrderSchema, order));
assert.ok(equals(shop.OrderSchema, order, back), "binary round trip");
const json = toJson(shop.OrderSchema, order);
assert.equal(json.kind, "KIND_ONLINE");
assert.equal(json.cash.units, "7");
assert.equal(json.linesById["7"].sku, "b");
assert.equal(json.createdAt, "2026-01-02T03:04:05Z");
assert.equal(json.constructor, "escaped");
assert.equal(json.points, "-42");
assert.ok(equals(shop.OrderSchema, order, fromJson(shop.OrderSchema, json)), "JSON round trip");
assert.equal(ShopServiceClient.service.typeName, "acme.shop.v1.ShopService");
assert.deepEqual(
  Object.values(ShopServiceClient.service.method).map((m) => m.methodKind),
  ["unary", "server_streaming", "client_streaming", "bidi_streaming"],
);
console.log("features: TypeScript round trip ok");
