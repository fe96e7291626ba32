"""Quickstart: write, read and list records, read config, and handle a Micro error.

Run with the SDK installed (``pip install micro-sdk``) and a platform listening on MICRO_ADDRESS.
"""
import os

import grpc

from micro import Micro, MicroError
from micro.config import config_pb2
from micro.store import store_pb2


def main() -> None:
    with Micro(
        os.environ.get("MICRO_ADDRESS", "127.0.0.1:8081"),
        token=os.environ.get("MICRO_TOKEN"),
        namespace=os.environ.get("MICRO_NAMESPACE", "micro"),
        timeout=5.0,
    ) as micro:
        micro.store.write(store_pb2.WriteRequest(record=store_pb2.Record(key="quickstart/greeting", value=b"hello")))
        records = micro.store.read(store_pb2.ReadRequest(key="quickstart/greeting")).records
        print(f"read {records[0].key} = {records[0].value.decode()}")

        for page in micro.store.list(store_pb2.ListRequest(options=store_pb2.ListOptions(prefix="quickstart/"))):
            print(f"listed {', '.join(page.keys)}")

        micro.config.set(config_pb2.SetRequest(namespace="quickstart", path="db.port", value=config_pb2.Value(data="5432")))
        value = micro.config.get(config_pb2.GetRequest(namespace="quickstart", path="db")).value
        print(f"config db = {value.data}")

        try:
            micro.store.read(store_pb2.ReadRequest(key="quickstart/missing"))
            raise SystemExit("expected NOT_FOUND")
        except MicroError as e:
            if e.code != grpc.StatusCode.NOT_FOUND:
                raise
            print(f"missing key: {e.code.name} {e.id} {e.micro_code} {e.status}")


if __name__ == "__main__":
    main()
