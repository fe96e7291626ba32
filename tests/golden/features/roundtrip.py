"""Round-trips a message that uses every construct of the features case through binary and JSON."""
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from micro.acme.common.v1 import types_pb2
from micro.acme.shop.v1 import shop_client, shop_pb2

order = shop_pb2.Order(
    id="o-1",
    kind=shop_pb2.Order.KIND_ONLINE,
    lines=[shop_pb2.Order.Line(sku="a", quantity=2, unit_price=types_pb2.Money(currency="EUR", units=3, nanos=500))],
    counts={"a": 2},
    cash=types_pb2.Money(currency="EUR", units=7),
    note="leave at door",
    created_at=Timestamp(seconds=1767323045),
    lines_by_id={7: shop_pb2.Order.Line(sku="b", quantity=1)},
    attachment=b"\x00\xff",
    weight_kg=1.5,
    points=-42,
    status=types_pb2.STATUS_OK,
    history=[types_pb2.STATUS_OK, types_pb2.STATUS_FAILED],
    constructor="escaped",
)
assert order.WhichOneof("payment") == "cash"
assert order.HasField("note")
back = shop_pb2.Order.FromString(order.SerializeToString())
assert back == order, "binary round trip"
as_json = json_format.MessageToDict(order)
assert as_json["kind"] == "KIND_ONLINE"
assert as_json["cash"]["units"] == "7"
assert as_json["linesById"]["7"]["sku"] == "b"
assert as_json["createdAt"] == "2026-01-02T03:04:05Z"
assert json_format.ParseDict(as_json, shop_pb2.Order()) == order, "JSON round trip"
assert shop_client.ShopServiceClient.SERVICE_NAME == "acme.shop.v1.ShopService"
assert [m for m in ("get_order", "watch_orders", "import_orders", "chat") if hasattr(shop_client.AsyncShopServiceClient, m)] == [
    "get_order", "watch_orders", "import_orders", "chat"]
print("features: Python round trip ok")
