"""Runtime check of the Python keyword-torture SDK (tests/protos/names/python).

Run by tests/conformance/python/run.sh with the generated SDK on PYTHONPATH, after
``mypy --strict`` over the SDK and this file, against ``micro-gen serve --echo-unknown`` at the
address in ``sys.argv[1]``. It shows how to reach what Python cannot name: fields, enum values
and classes named with keywords (``getattr``/``setattr``, ``**{...}``, ``Kind.Value("None")``,
the escaped class alias ``lambda_``), and fields named like ``Message`` methods (``getattr``, and
the method through the class: ``Cls.ListFields(msg)``). Every rpc kind goes through ``Micro`` and one
through ``AsyncMicro``; each echo must equal the request.
"""
import asyncio
import math
import struct
import sys
from typing import Any, AsyncIterator, Dict, Iterator, List, TypeVar

from google.protobuf import json_format, struct_pb2

from micro import AsyncMicro, Micro
from micro.def_.lambda_ import class_pb2 as c
from micro.None_.self import types_pb2 as t

T = TypeVar("T")


def check(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(f"check failed: {what}")


def fields(**kwargs: Any) -> Dict[str, Any]:
    """Keyword arguments the stubs do not declare (keyword or Message-member field names), as a
    ``Dict[str, Any]`` to pass with ``**``: ``t.self(**fields(**{"class": "x"}))``."""
    return kwargs


def build() -> t.self:
    # Keyword-named fields are not attributes or keyword arguments: pass them with ** and a dict.
    keywords: Dict[str, Any] = {
        "None": "None", "True": "True", "False": True, "class": "class", "def": "def",
        "async": 1, "await": -2, "lambda": "lambda", "from": "from", "import": "import",
        "pass": "pass", "nonlocal": 3,
    }
    msg = t.self(
        type="type", object="object", int=4, str="str", bytes=b"\x00\xff", float=1.5, bool=True,
        list=["a", "b"], dict={"class": "v"}, print="", mro="mro", match="match", case="case",
        _="underscore", json={"None": None, "list": [1, "x"]}, Optional={"value": 7},
        Any={"string_value": "any"}, builtins="b", grpc="g", google="go", **keywords,
    )
    msg.datetime.seconds = 1
    msg.timedelta.nanos = 5
    msg.typing.type_url = "type.googleapis.com/None.self.self"
    setattr(msg, "Extensions", "ext")  # a Message member name: reached with getattr/setattr
    # The oneof `yield`: its member `raise` holds a nested message.
    getattr(msg, "raise").CopyFrom(t.self(str="nested", **fields(**{"class": "inner"})))
    # Maps named with keywords, one keyed by int64 with a keyword enum value.
    getattr(msg, "with")["self"].CopyFrom(t.self(mro="map value"))
    getattr(msg, "in")[-5] = t.Kind.Value("class")
    getattr(msg, "is")[True] = b"yes"
    # Nested three deep, through the escaped class names (assert_, del_, elif_, try_).
    elif_ = t.self.assert_.del_.elif_(self="self field")
    setattr(elif_, "pass", t.self.assert_.del_.elif_.try_.Value("None_"))
    getattr(elif_, "lambda").add(self="repeated")
    getattr(msg, "not")[1].CopyFrom(elif_)
    getattr(msg, "else").CopyFrom(elif_)
    setattr(msg, "finally", t.self.assert_.del_.elif_.lambda_)
    getattr(msg, "and").add(str="and")
    getattr(msg, "or").extend([t.Kind.Value("None"), t.Kind.Value("await"), t.values])
    setattr(msg, "if", t.Kind.Value("True"))
    setattr(msg, "break", 9)
    getattr(msg, "for").append("for")
    # A well-known enum (its values are typed NullValue.ValueType).
    msg.NoneType["null"] = struct_pb2.NULL_VALUE
    msg.Ellipsis.append(struct_pb2.NullValue.Value("NULL_VALUE"))
    msg.NotImplemented = struct_pb2.NULL_VALUE
    return msg


def check_message(msg: t.self) -> None:
    check(msg.WhichOneof("yield") == "raise", "oneof member raise is set")
    check(getattr(getattr(msg, "raise"), "class") == "inner", "nested message in the oneof")
    check(msg.WhichOneof("while") == "break", "second oneof")
    check(getattr(msg, "with")["self"].mro == "map value", "message map entry")
    check(getattr(msg, "in")[-5] == 3 and t.Kind.Name(3) == "class", "keyword enum value in a map")
    check(getattr(msg, "None") == "None" and getattr(msg, "False") is True, "keyword fields")
    check(getattr(msg, "Extensions") == "ext", "field named Extensions")
    check(msg.HasField("print") and msg.HasField("nonlocal"), "proto3 optional presence")
    check(getattr(msg, "else").self == "self field", "nested message field")
    check(getattr(msg, "finally") == 3, "nested keyword enum")
    check(msg.NoneType["null"] == struct_pb2.NULL_VALUE and len(msg.Ellipsis) == 1, "map and list of NullValue")
    # Every field survives binary and JSON (the wire names are the proto's).
    check(t.self.FromString(msg.SerializeToString()) == msg, "binary round trip")
    # (protobuf's json_format cannot parse a map or list of NullValue back: left out here.)
    plain = t.self()
    plain.CopyFrom(msg)
    plain.ClearField("NoneType")
    plain.ClearField("Ellipsis")
    as_json = json_format.MessageToDict(plain)
    check(as_json["None"] == "None" and as_json["class"] == "class", "JSON names")
    check(json_format.ParseDict(as_json, t.self()) == plain, "JSON round trip")


def messages() -> None:
    # Classes named with a keyword are also bound under an escaped name.
    check(c.lambda_ is getattr(c, "lambda"), "lambda_ alias")
    check(t.self.assert_ is getattr(t.self, "assert"), "nested assert_ alias")
    check(getattr(t, "None") == 0 and t.Kind.Value("None") == 0, "keyword enum values via getattr and Value()")
    check(t.DESCRIPTOR_ == 9 and t.values == 11 and t.Kind.values() == list(range(15)), "enum values named like EnumTypeWrapper members")
    # A message named DESCRIPTOR replaces the module's file descriptor, as with protoc.
    d = t.DESCRIPTOR(**fields(ListFields="lf", SerializeToString="sts"))
    check(getattr(d, "ListFields") == "lf", "field named ListFields")
    # The methods, through the class: on the instance, the field wins.
    check(len(t.DESCRIPTOR.ListFields(d)) == 2, "the ListFields method, through the class")
    check(t.DESCRIPTOR.FromString(t.DESCRIPTOR.SerializeToString(d)) == d, "message with Message-named fields round trips")
    i = t.int(object=t.object(), **fields(__init__="i", __class__="c"))
    check(getattr(i, "__class__") == "c" and type(i) is t.int, "dunder-named fields")
    check(t.FooBar(fooBar=t.FooBar.foo_bar(foo_bar="x")).fooBar.foo_bar == "x", "case collisions")


def proto2() -> c.lambda_:
    empty = c.lambda_()
    check(not empty.HasField("str") and empty.str == "None", "string default, unset")
    check(getattr(empty, "class") == t.Kind.Value("async"), "keyword enum default")
    check(getattr(empty, "True") is True and getattr(empty, "False") == -9007199254740993, "keyword-named defaults")
    check(empty.bytes == b"\x00\x01" and empty.type == "type", "bytes and str defaults")
    check(math.isinf(empty.inf) and math.isnan(empty.nan), "inf and nan defaults")
    check(empty.min == 2.2250738585072014e-308 and empty.max == 1.7976931348623157e308, "extreme double defaults")
    check(empty.float == struct.unpack("<f", struct.pack("<f", 1.17549435e-38))[0], "smallest normal float default")
    check(not empty.IsInitialized(), "required None is unset")
    msg = c.lambda_(self=build(), int=[1, -1], str="", bytes=b"", foo_bar="fb", type="", **fields(**{"None": "required", "await": "a"}))
    getattr(msg, "Kind").append(t.Kind.Value("def"))
    msg.dict["k"].self = "x"
    check(msg.HasField("str") and msg.str == "", "explicit empty string has presence")
    check(msg.IsInitialized() and msg.WhichOneof("async") == "await", "required set, oneof async")
    check(c.property(fooBar="x", staticmethod=msg).staticmethod == msg, "message named property")
    check(c.classmethod.super.isinstance.TypeError.Value("Exception") == 2, "nested three deep")
    check(c.str.Value("str_None") == 0 and getattr(c, "str_class") == 2, "enum named str")
    return msg


def stream(*items: T) -> Iterator[T]:
    yield from items


async def astream(*items: T) -> AsyncIterator[T]:
    for item in items:
        yield item


async def run_async(address: str, msg: t.self) -> None:
    async with AsyncMicro(address, timeout=10.0, retry=None) as micro:
        check(await micro.micro.none(msg) == msg, "async unary None")
        got: List[t.self] = [m async for m in micro.micro.channel_(astream(t.self(), msg))]
        check(got == [msg], "async bidi channel")


def main() -> None:
    address = sys.argv[1]
    msg = build()
    check_message(msg)
    messages()
    legacy = proto2()
    other = t.self(str="first")
    with Micro(address, timeout=10.0, retry=None) as micro:
        check(micro.micro.none(msg) == msg, "unary None")
        check(list(micro.micro.close_(msg)) == [msg], "server-streaming close")
        check(micro.micro.class_(stream(other, msg)) == msg, "client-streaming class")
        check(list(micro.micro.channel_(stream(other, msg))) == [msg], "bidi channel")
        for call in (micro.micro.service_name, micro.micro.init, micro.micro.close__, micro.micro.enter):
            check(call(msg) == msg, f"unary {call.__name__}")
        # A service and rpcs named like builtins (float, str) and messages named print and dict.
        printed = t.print()
        getattr(printed, "dict")[1].id = 7
        check(micro.float.float(printed) == printed, "unary float")
        check(list(micro.float.str(stream(printed))) == [printed], "bidi str")
        check(t.Exception.IsInitialized_ is getattr(t.Exception, "IsInitialized"), "nested class named like a Message method")
        svc = micro.class_
        check(svc.def_(legacy) == legacy, "unary def (proto2)")
        check(list(svc.yield_(legacy)) == [legacy], "server-streaming yield")
        check(svc.await_(stream(c.lambda_(**fields(**{"None": "x"})), legacy)) == legacy, "client-streaming await")
        check(list(svc.async_(stream(legacy))) == [legacy], "bidi async")
    asyncio.run(run_async(address, msg))
    print("python names torture: ok")


if __name__ == "__main__":
    main()
