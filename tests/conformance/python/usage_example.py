"""How an application uses the generated Python SDK; checked with ``mypy --strict`` by run.sh.

Runnable against a server, too: ``python usage_example.py 127.0.0.1:8081``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import List, Optional

import grpc
from micro import AsyncMicro, Micro, MicroError, RetryPolicy
from micro.config.config_pb2 import GetRequest, GetResponse, SetRequest, Value
from micro.store.store_pb2 import ListOptions, ListRequest, ReadRequest, ReadResponse, Record, WriteRequest


def sync_usage(address: str) -> List[str]:
    """Blocking client: write, read, stream and handle errors."""
    retry = RetryPolicy(max_retries=3, initial_backoff=0.05, retryable_codes=frozenset({grpc.StatusCode.UNAVAILABLE}))
    with Micro(address, token="token", namespace="micro", timeout=10.0, retry=retry) as micro:
        micro.store.write(WriteRequest(record=Record(key="greeting", value=b"hello")))
        response: ReadResponse = micro.store.read(ReadRequest(key="greeting"), timeout=2.5)
        values: List[bytes] = [record.value for record in response.records]
        assert values == [b"hello"]

        keys: List[str] = []
        for page in micro.store.list(ListRequest(options=ListOptions(prefix="greet"))):
            keys.extend(page.keys)

        micro.config.set(SetRequest(namespace="app", path="feature.enabled", value=Value(data="true")))
        got: GetResponse = micro.config.get(GetRequest(namespace="app", path="feature.enabled"))
        assert got.value.data == "true"

        try:
            micro.store.read(ReadRequest(key="missing"), metadata=[("x-request-id", "1")])
        except MicroError as e:
            code: grpc.StatusCode = e.code
            micro_code: int = e.micro_code
            error_id: str = e.id
            print(code.name, micro_code, error_id, e.detail, e.status, str(e))
        return keys


async def async_usage(address: str) -> Optional[str]:
    """asyncio client: the same calls, awaited."""
    async with AsyncMicro(address, token="token", namespace="micro", retry=None) as micro:
        await micro.store.write(WriteRequest(record=Record(key="async", value=b"1")))
        response: ReadResponse = await micro.store.read(ReadRequest(key="async"))
        keys: List[str] = []
        async for page in micro.store.list(ListRequest()):
            keys.extend(page.keys)
        got: GetResponse = await micro.config.get(GetRequest(namespace="app", path="feature.enabled"))
        try:
            await micro.store.read(ReadRequest(key="missing"), timeout=0.5)
        except MicroError as e:
            if e.code == grpc.StatusCode.NOT_FOUND and e.micro_code == 404:
                return got.value.data
            raise
        return response.records[0].key if response.records else None


def main(argv: List[str]) -> int:
    address = argv[1] if len(argv) > 1 else "127.0.0.1:8081"
    print(sync_usage(address))
    print(asyncio.run(async_usage(address)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
