"""Runtime check of the coverage SDK (tests/protos/coverage).

Run by tests/conformance/python/run.sh with the generated SDK on PYTHONPATH, after
``mypy --strict`` over the SDK and this file, against ``micro-gen serve --echo-unknown`` at the
address in ``sys.argv[1]``: proto2 defaults and presence, required fields, a group, nested types
four deep, maps of every key type, packed and unpacked repeated fields, well-known types and
wrappers, then every rpc of the three services in two packages, each echo equal to the request.
"""
import math
import sys
from typing import Iterator, TypeVar

from google.protobuf import empty_pb2, json_format, timestamp_pb2

from micro import Micro
from micro.coverage.common.v1 import common_pb2
from micro.coverage.legacy.v1 import legacy_pb2
from micro.coverage.shop.v1 import shop_pb2

T = TypeVar("T")


def check(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(f"check failed: {what}")


def stream(*items: T) -> Iterator[T]:
    yield from items


def defaults() -> None:
    empty = legacy_pb2.Record()
    check(empty.f_double == 1.5 and empty.f_float == -2.25 and empty.f_int32 == -7, "double, float, int32 defaults")
    check(empty.f_int64 == 9007199254740993 and empty.f_uint32 == 4000000000, "int64, uint32 defaults")
    check(empty.f_uint64 == 18446744073709551615 and empty.f_sint32 == -32 and empty.f_sint64 == -64, "uint64, sint defaults")
    check((empty.f_fixed32, empty.f_fixed64, empty.f_sfixed32, empty.f_sfixed64) == (32, 64, -320, -640), "fixed defaults")
    check(empty.f_bool is True and empty.f_string == 'h"i\\\n\u00e9', "bool and string defaults")
    check(empty.f_bytes == b"\x00\x01\xffz", "bytes default")
    check(empty.status == legacy_pb2.STATUS_SOLD_OUT and math.isinf(empty.f_inf) and math.isnan(empty.f_nan), "enum, inf, nan defaults")
    check(empty.plain == "" and not empty.HasField("f_double") and not empty.HasField("status"), "no presence")
    check(legacy_pb2.Record.Level1.Level2.Level3().depth == legacy_pb2.Record.Level1.Level2.Level3.DEPTH_FOUR, "nested enum default")
    check(not empty.IsInitialized(), "required fields unset")


def build_record() -> legacy_pb2.Record:
    record = legacy_pb2.Record(
        id="r1", revision=0, f_double=0.0, f_int64=-1, f_uint64=0, f_bool=False, f_string="", f_bytes=b"",
        status=legacy_pb2.STATUS_IN_STOCK, unpacked=[1, -1], packed=[2, 3],
        statuses=[legacy_pb2.STATUS_DISCONTINUED], tags=["a", ""],
        audit=legacy_pb2.Record.Audit(by="me", at=5),
        price=common_pb2.Money(currency="EUR", units=1, nanos=5),
        number=0,
    )
    record.level1.level2.level3.depth = legacy_pb2.Record.Level1.Level2.Level3.DEPTH_THREE
    record.level1.level2.level3.leaf = "leaf"
    note = record.notes["n"]
    note.text = "note"
    note.kind = common_pb2.Note.KIND_TEXT
    note.author.handle.value = "h"
    note.line = 3
    check(record.HasField("f_double") and record.f_double == 0.0, "explicit default-equal value has presence")
    check(record.HasField("revision") and record.HasField("audit") and record.IsInitialized(), "required and group presence")
    check(record.WhichOneof("choice") == "number", "oneof with a zero value")
    check(legacy_pb2.Record.FromString(record.SerializeToString()) == record, "proto2 binary round trip")
    return record


def build_item(record: legacy_pb2.Record) -> shop_pb2.Item:
    item = shop_pb2.Item(
        id="i1", label="", stock=0, severity=common_pb2.SEVERITY_UNSPECIFIED,
        price=common_pb2.Money(currency="USD", units=-3), record=record,
        note=common_pb2.Note(text="picked", severity=common_pb2.SEVERITY_HIGH),
        m_int32={-1: "a"}, m_int64={-9223372036854775808: "b"}, m_uint32={4294967295: "c"},
        m_uint64={18446744073709551615: "d"}, m_sint32={-2: "e"}, m_sint64={-3: "f"},
        m_fixed32={7: "g"}, m_fixed64={8: "h"}, m_sfixed32={-9: "i"}, m_sfixed64={-10: "j"},
        m_bool={True: "k", False: "l"}, m_string={"": "m"}, m_enum={"y": common_pb2.SEVERITY_LOW},
        m_bytes={"z": b"\x00"}, packed=[1, -1], unpacked=[2],
        children=[shop_pb2.Item(id="child")],
        severities=[common_pb2.SEVERITY_HIGH, common_pb2.SEVERITY_LEGACY],
        mask={"paths": ["a.b"]},
    )
    item.m_message["x"].units = 1
    item.created.FromSeconds(0)
    item.ttl.seconds = 3
    item.attributes.update({"a": 1, "b": [True, None]})
    item.value.number_value = 2
    item.list.values.add().string_value = "s"
    item.any.Pack(common_pb2.Money(currency="X"))
    item.empty.SetInParent()
    item.w_double.value = 0.0
    item.w_double.SetInParent()
    item.w_float.value = 1.5
    item.w_int64.value = -1
    item.w_uint64.value = 1
    item.w_int32.SetInParent()
    item.w_uint32.value = 2
    item.w_bool.SetInParent()
    item.w_string.SetInParent()
    item.w_bytes.value = b"\x01"
    check(item.HasField("label") and item.HasField("stock") and item.HasField("severity"), "proto3 optional presence")
    check(item.HasField("w_bool") and item.w_bool.value is False, "wrapper presence")
    check(not shop_pb2.Item().HasField("label"), "proto3 optional unset")
    check(item.WhichOneof("pick") == "note", "oneof holding a message")
    check(shop_pb2.Item.FromString(item.SerializeToString()) == item, "proto3 binary round trip")
    check(json_format.ParseDict(json_format.MessageToDict(item), shop_pb2.Item()) == item, "JSON round trip")
    return item


def main() -> None:
    address = sys.argv[1]
    defaults()
    record = build_record()
    item = build_item(record)
    with Micro(address, timeout=10.0, retry=None) as micro:
        other = shop_pb2.Item(id="first")
        check(micro.shop.put(item) == item, "unary put")
        check(list(micro.shop.watch(item)) == [item], "server-streaming watch")
        check(micro.shop.upload(stream(other, item)) == item, "client-streaming upload")
        check(list(micro.shop.exchange(stream(other, item))) == [item], "bidi exchange")
        now = timestamp_pb2.Timestamp(seconds=1_700_000_000)
        check(micro.shop.stamp(now) == now, "well-known type as request")

        first = legacy_pb2.Record(id="first", revision=1)
        put = micro.legacy.put(record)
        check(put == record and put.HasField("f_double"), "unary proto2 put keeps presence")
        check(not put.HasField("f_float") and put.f_float == -2.25, "echoed unset field reads its default")
        check(list(micro.legacy.scan(record)) == [record], "server-streaming scan")
        check(micro.legacy.load(stream(first, record)) == record, "client-streaming load")
        check(list(micro.legacy.sync(stream(first, record))) == [record], "bidi sync")

        note = common_pb2.Note(text="n", kind=common_pb2.Note.KIND_TEXT, url="u")
        check(micro.admin.ping(empty_pb2.Empty()) == empty_pb2.Empty(), "unary Empty")
        check(micro.admin.annotate(note) == note, "unary annotate")
        check(list(micro.admin.tail(note)) == [note], "server-streaming tail")
        check(micro.admin.gather(stream(common_pb2.Note(), note)) == note, "client-streaming gather")
        check(list(micro.admin.relay(stream(note))) == [note], "bidi relay")
        check(micro.legacy_admin.reset(empty_pb2.Empty()) == empty_pb2.Empty(), "deprecated rpc")
    print("python coverage: ok")


if __name__ == "__main__":
    main()
