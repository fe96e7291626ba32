"""The kitchen-sink SDK's messages as a user writes them; run.sh checks it with ``mypy --strict``.

It is type-checked, never run, against the kitchen-sink SDK installed (as the package ``micro``)
into its own directory: every well-known type is protobuf's own class from ``google.protobuf``,
and the stubs (``kitchen_pb2.pyi``) type every field, map, oneof and enum.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2, wrappers_pb2

import micro
from micro.micro.kitchen.v1 import kitchen_pb2 as k


def request() -> k.EchoRequest:
    stamp = timestamp_pb2.Timestamp(seconds=1, nanos=2)
    struct = struct_pb2.Struct()
    struct.update({"a": 1, "b": [True, None, "x"]})
    well_known = k.WellKnown(
        timestamp=stamp,
        duration=duration_pb2.Duration(seconds=3),
        struct=struct,
        value=struct_pb2.Value(string_value="v"),
        double_value=wrappers_pb2.DoubleValue(value=1.5),
        int64_value=wrappers_pb2.Int64Value(value=5),
        bytes_value=wrappers_pb2.BytesValue(value=b"\x02"),
        timestamps=[stamp],
        values={"n": struct_pb2.Value(number_value=1)},
    )
    payload = k.Everything(
        scalars=k.Scalars(f_int64=1, f_bytes=b"\x01", f_color=k.COLOR_RED),
        optionals=k.Optionals(o_int32=0, o_string=""),
        maps=k.Maps(int32_key={1: "one"}, bool_key={True: "yes"}, message_value={"m": k.Scalars(f_bool=True)}),
        nested=k.Nested(inner=k.Nested.Inner(deeper=k.Nested.Inner.Deeper(level=k.Nested.Inner.Deeper.LEVEL_DEEP))),
        choice=k.Choice(number=7),
        well_known=well_known,
        tree=k.Tree(name="root", children=[k.Tree(name="leaf")], by_name={"leaf": k.Tree(name="leaf")}),
    )
    return k.EchoRequest(payload=payload, behavior=k.Behavior(repeat=2))


def main() -> None:
    with micro.Micro("127.0.0.1:8081") as client:
        response: k.EchoResponse = client.kitchen_sink.echo(request(), timeout=5.0)
        stamp: timestamp_pb2.Timestamp = response.payload.well_known.timestamp
        wrapped: float = response.payload.well_known.double_value.value
        has_optional: bool = response.payload.optionals.HasField("o_int32")
        which: Optional[str] = response.payload.choice.WhichOneof("value")
        keys: Dict[int, str] = dict(response.payload.maps.int32_key)
        names: List[str] = [child.name for child in response.payload.tree.children]
        print(stamp.ToDatetime(), wrapped, has_optional, which, keys, names)
        for message in client.kitchen_sink.echo_stream(request()):
            index: int = message.index
            print(index)
        collected: k.CollectResponse = client.kitchen_sink.collect(iter([request(), request()]))
        print(collected.count)
        for answer in client.kitchen_sink.chat([request()]):
            print(answer.index)
