"""Tests of the Python SDK runtime (``micro._runtime``) that the conformance cases cannot reach.

Retries, deadlines, client/bidi streaming, error decoding, cancellation, metadata and address
handling, for ``Channel`` and ``AsyncChannel``, against an in-process grpcio server whose
behaviour each test controls. Needs no ``MICRO_GEN_BIN``.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import threading
import time
from concurrent import futures
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import grpc
import micro
import pytest
from google.protobuf import any_pb2
from google.protobuf.wrappers_pb2 import BytesValue, StringValue
from micro import _runtime
from micro.errors.errors_pb2 import Error

# --- The test server ----------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def status_details(code: int, message: str, *details: any_pb2.Any) -> bytes:
    """A serialized ``google.rpc.Status``."""
    data = _varint(1 << 3) + _varint(code) + _field(2, message.encode())
    for detail in details:
        data += _field(3, detail.SerializeToString())
    return data


def micro_error_any(error_id: str, code: int, detail: str, status: str) -> any_pb2.Any:
    value = Error(id=error_id, code=code, detail=detail, status=status).SerializeToString()
    return any_pb2.Any(type_url="type.googleapis.com/errors.Error", value=value)


class Recorder:
    """What the server saw: per-attempt metadata and remaining deadlines."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attempts: List[Tuple[float, Optional[float], Dict[str, str]]] = []
        self.fail_first = 0
        self.fail_code = grpc.StatusCode.UNAVAILABLE
        self.cancelled = threading.Event()

    def attempt(self, context: grpc.ServicerContext) -> int:
        with self.lock:
            remaining = context.time_remaining()
            if remaining is not None and remaining > 1e6:  # grpcio's "no deadline"
                remaining = None
            metadata = {key: value for key, value in context.invocation_metadata() if isinstance(value, str)}
            self.attempts.append((time.monotonic(), remaining, metadata))
            return len(self.attempts)


def _handlers(rec: Recorder) -> grpc.GenericRpcHandler:
    def flaky(request: StringValue, context: grpc.ServicerContext) -> StringValue:
        n = rec.attempt(context)
        if n <= rec.fail_first:
            context.abort(rec.fail_code, f"attempt {n} failed")
        return StringValue(value=f"ok after {n}")

    def echo_metadata(request: StringValue, context: grpc.ServicerContext) -> StringValue:
        rec.attempt(context)
        return StringValue(value=json.dumps(rec.attempts[-1][2], sort_keys=True))

    def json_error(request: StringValue, context: grpc.ServicerContext) -> StringValue:
        context.abort(grpc.StatusCode.INTERNAL, request.value)

    def details_error(request: StringValue, context: grpc.ServicerContext) -> StringValue:
        details = status_details(5, "not found", micro_error_any("test.T.Details", 404, "nothing here", "Not Found"))
        context.set_trailing_metadata((("grpc-status-details-bin", details),))
        context.abort(grpc.StatusCode.NOT_FOUND, "plain text, not JSON")

    def stream_then_fail(request: StringValue, context: grpc.ServicerContext) -> Iterator[StringValue]:
        rec.attempt(context)
        yield StringValue(value="one")
        yield StringValue(value="two")
        details = status_details(3, "bad", micro_error_any("test.T.Stream", 400, "bad input", "Bad Request"))
        context.set_trailing_metadata((("grpc-status-details-bin", details),))
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, '{"id":"ignored","code":1}')

    def endless(request: StringValue, context: grpc.ServicerContext) -> Iterator[StringValue]:
        context.add_callback(rec.cancelled.set)
        n = 0
        while context.is_active():
            n += 1
            yield StringValue(value=str(n))
            time.sleep(0.01)

    def slow(request: StringValue, context: grpc.ServicerContext) -> StringValue:
        deadline = time.monotonic() + 5
        while context.is_active() and time.monotonic() < deadline:
            time.sleep(0.01)
        return StringValue(value="slow")

    def unavailable_stream(request: StringValue, context: grpc.ServicerContext) -> Iterator[StringValue]:
        rec.attempt(context)
        context.abort(grpc.StatusCode.UNAVAILABLE, "down")
        yield StringValue()  # pragma: no cover

    def concat(requests: Iterator[BytesValue], context: grpc.ServicerContext) -> BytesValue:
        return BytesValue(value=b"".join(r.value for r in requests))

    def upper(requests: Iterator[StringValue], context: grpc.ServicerContext) -> Iterator[StringValue]:
        for r in requests:
            yield StringValue(value=r.value.upper())

    def unary(fn: Callable[..., Any], cls: Any = StringValue) -> grpc.RpcMethodHandler:
        return grpc.unary_unary_rpc_method_handler(fn, cls.FromString, lambda m: m.SerializeToString())

    def unary_stream(fn: Callable[..., Any]) -> grpc.RpcMethodHandler:
        return grpc.unary_stream_rpc_method_handler(fn, StringValue.FromString, lambda m: m.SerializeToString())

    return grpc.method_handlers_generic_handler(
        "test.T",
        {
            "Flaky": unary(flaky),
            "EchoMetadata": unary(echo_metadata),
            "JsonError": unary(json_error),
            "DetailsError": unary(details_error),
            "StreamThenFail": unary_stream(stream_then_fail),
            "Endless": unary_stream(endless),
            "Slow": unary(slow),
            "UnavailableStream": unary_stream(unavailable_stream),
            "Concat": grpc.stream_unary_rpc_method_handler(
                concat, BytesValue.FromString, lambda m: m.SerializeToString()
            ),
            "Upper": grpc.stream_stream_rpc_method_handler(
                upper, StringValue.FromString, lambda m: m.SerializeToString()
            ),
        },
    )


@pytest.fixture()
def server() -> Iterator[Tuple[str, Recorder]]:
    rec = Recorder()
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    srv.add_generic_rpc_handlers((_handlers(rec),))
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    yield f"127.0.0.1:{port}", rec
    srv.stop(None)


FAST_RETRY = micro.RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.05, jitter=0.0)


def run(mode: str, address: str, body: Callable[[Any], Any], **options: Any) -> Any:
    """Runs ``body(channel)`` with a sync channel, or awaits it with an async one."""
    if mode == "sync":
        with micro.Channel(address, **options) as channel:
            return body(channel)

    async def main() -> Any:
        async with micro.AsyncChannel(address, **options) as channel:
            result = body(channel)
            return await result if asyncio.iscoroutine(result) else result

    return asyncio.run(main())


def unary(mode: str, address: str, method: str, request: Any, response: Any, **options: Any) -> Any:
    call_options = options.pop("call", {})
    return run(mode, address, lambda ch: ch.unary_unary(method, request, response, **call_options), **options)


def collect(mode: str, address: str, method: str, request: Any, **options: Any) -> Tuple[List[str], Optional[Any]]:
    """The values a server stream yielded before ending, and the error it ended with."""
    got: List[str] = []
    if mode == "sync":
        with micro.Channel(address, **options) as channel:
            try:
                for message in channel.unary_stream(method, request, StringValue):
                    got.append(message.value)
            except micro.MicroError as error:
                return got, error
            return got, None

    async def main() -> Tuple[List[str], Optional[Any]]:
        async with micro.AsyncChannel(address, **options) as channel:
            try:
                async for message in channel.unary_stream(method, request, StringValue):
                    got.append(message.value)
            except micro.MicroError as error:
                return got, error
            return got, None

    return asyncio.run(main())


MODES = ["sync", "async"]

# --- Retries and deadlines ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_retries_unavailable_then_succeeds(mode: str, server: Tuple[str, Recorder]) -> None:
    address, rec = server
    rec.fail_first = 2
    got = unary(mode, address, "/test.T/Flaky", StringValue(), StringValue, retry=FAST_RETRY)
    assert got.value == "ok after 3"
    assert len(rec.attempts) == 3


@pytest.mark.parametrize("mode", MODES)
def test_gives_up_after_max_retries(mode: str, server: Tuple[str, Recorder]) -> None:
    address, rec = server
    rec.fail_first = 100
    with pytest.raises(micro.MicroError) as info:
        unary(mode, address, "/test.T/Flaky", StringValue(), StringValue, retry=FAST_RETRY)
    assert info.value.code == grpc.StatusCode.UNAVAILABLE
    assert info.value.detail == "attempt 3 failed"
    assert len(rec.attempts) == 3


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("retry", [None, FAST_RETRY], ids=["retry-off", "not-retryable"])
def test_no_retry_when_off_or_not_retryable(mode: str, retry: Any, server: Tuple[str, Recorder]) -> None:
    address, rec = server
    rec.fail_first = 100
    if retry is not None:
        rec.fail_code = grpc.StatusCode.NOT_FOUND
    with pytest.raises(micro.MicroError):
        unary(mode, address, "/test.T/Flaky", StringValue(), StringValue, retry=retry)
    assert len(rec.attempts) == 1


@pytest.mark.parametrize("mode", MODES)
def test_custom_retryable_codes(mode: str, server: Tuple[str, Recorder]) -> None:
    address, rec = server
    rec.fail_first = 1
    rec.fail_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    policy = micro.RetryPolicy(initial_backoff=0.01, retryable_codes=frozenset({grpc.StatusCode.RESOURCE_EXHAUSTED}))
    assert unary(mode, address, "/test.T/Flaky", StringValue(), StringValue, retry=policy).value == "ok after 2"


@pytest.mark.parametrize("mode", MODES)
def test_backoff_never_sleeps_past_the_deadline(mode: str, server: Tuple[str, Recorder]) -> None:
    address, rec = server
    rec.fail_first = 100
    policy = micro.RetryPolicy(max_retries=5, initial_backoff=0.6, max_backoff=5.0, jitter=0.0)
    start = time.monotonic()
    with pytest.raises(micro.MicroError) as info:
        unary(mode, address, "/test.T/Flaky", StringValue(), StringValue, retry=policy, timeout=1.0)
    elapsed = time.monotonic() - start
    # Attempt 1, sleep 0.6 s, attempt 2; sleeping another 1.2 s would pass the deadline, so the
    # call fails with attempt 2's error at once instead of waiting for DEADLINE_EXCEEDED.
    assert info.value.code == grpc.StatusCode.UNAVAILABLE
    assert len(rec.attempts) == 2
    assert 0.6 <= elapsed < 1.0


@pytest.mark.parametrize("mode", MODES)
def test_each_attempt_gets_the_remaining_deadline(mode: str, server: Tuple[str, Recorder]) -> None:
    address, rec = server
    rec.fail_first = 2
    policy = micro.RetryPolicy(max_retries=2, initial_backoff=0.1, jitter=0.0)
    unary(mode, address, "/test.T/Flaky", StringValue(), StringValue, retry=policy, call={"timeout": 2.0})
    remaining = [r for _, r, _ in rec.attempts]
    assert all(r is not None for r in remaining)
    first, second, third = (float(r) for r in remaining if r is not None)
    assert 1.5 < first <= 2.1
    assert second < first - 0.05 and third < second - 0.15


@pytest.mark.parametrize("mode", MODES)
def test_default_timeout_and_per_call_override(mode: str, server: Tuple[str, Recorder]) -> None:
    address, rec = server
    unary(mode, address, "/test.T/Flaky", StringValue(), StringValue, timeout=7.0)
    unary(mode, address, "/test.T/Flaky", StringValue(), StringValue, timeout=7.0, call={"timeout": 1.0})
    unary(mode, address, "/test.T/Flaky", StringValue(), StringValue, timeout=None)
    unary(mode, address, "/test.T/Flaky", StringValue(), StringValue, timeout=7.0, call={"timeout": 0})
    default, override, none, zero = (r for _, r, _ in rec.attempts)
    assert default is not None and 6.0 < default <= 7.1
    assert override is not None and 0.5 < override <= 1.1
    assert none is None and zero is None


@pytest.mark.parametrize("mode", MODES)
def test_streams_are_not_retried(mode: str, server: Tuple[str, Recorder]) -> None:
    address, rec = server
    got, error = collect(mode, address, "/test.T/UnavailableStream", StringValue(), retry=FAST_RETRY)
    assert got == [] and error is not None and error.code == grpc.StatusCode.UNAVAILABLE
    assert len(rec.attempts) == 1


# --- Errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_error_from_status_details(mode: str, server: Tuple[str, Recorder]) -> None:
    address, _ = server
    with pytest.raises(micro.MicroError) as info:
        unary(mode, address, "/test.T/DetailsError", StringValue(), StringValue)
    e = info.value
    assert (e.code, e.id, e.micro_code, e.detail, e.status) == (
        grpc.StatusCode.NOT_FOUND,
        "test.T.Details",
        404,
        "nothing here",
        "Not Found",
    )
    assert e.message == "plain text, not JSON"
    assert str(e) == "NOT_FOUND: nothing here (id=test.T.Details, micro_code=404, status=Not Found)"
    assert any(key == "grpc-status-details-bin" for key, _ in e.trailing_metadata)


@pytest.mark.parametrize("mode", MODES)
def test_error_from_json_message(mode: str, server: Tuple[str, Recorder]) -> None:
    address, _ = server
    text = '{"id":"proxy","code":401,"detail":"invalid token","status":"Unauthorized"}'
    with pytest.raises(micro.MicroError) as info:
        unary(mode, address, "/test.T/JsonError", StringValue(value=text), StringValue)
    e = info.value
    assert (e.code, e.id, e.micro_code, e.detail, e.status) == (
        grpc.StatusCode.INTERNAL,
        "proxy",
        401,
        "invalid token",
        "Unauthorized",
    )


@pytest.mark.parametrize("mode", MODES)
def test_error_from_plain_message(mode: str, server: Tuple[str, Recorder]) -> None:
    address, _ = server
    with pytest.raises(micro.MicroError) as info:
        unary(mode, address, "/test.T/JsonError", StringValue(value="boom {not json"), StringValue)
    e = info.value
    assert (e.code, e.id, e.micro_code, e.detail, e.status) == (grpc.StatusCode.INTERNAL, "", 0, "boom {not json", "")
    assert str(e) == "INTERNAL: boom {not json"


@pytest.mark.parametrize("mode", MODES)
def test_error_while_iterating_a_stream(mode: str, server: Tuple[str, Recorder]) -> None:
    address, _ = server
    got, error = collect(mode, address, "/test.T/StreamThenFail", StringValue())
    assert got == ["one", "two"]
    assert error is not None
    assert (error.code, error.id, error.micro_code, error.detail) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "test.T.Stream",
        400,
        "bad input",
    )


@pytest.mark.parametrize("mode", MODES)
def test_unimplemented_and_unreachable(mode: str, server: Tuple[str, Recorder]) -> None:
    address, _ = server
    with pytest.raises(micro.MicroError) as info:
        unary(mode, address, "/test.T/Nope", StringValue(), StringValue)
    assert info.value.code == grpc.StatusCode.UNIMPLEMENTED and info.value.micro_code == 0
    with pytest.raises(micro.MicroError) as info:
        unary(mode, "127.0.0.1:1", "/test.T/Flaky", StringValue(), StringValue, retry=None, timeout=5)
    assert info.value.code == grpc.StatusCode.UNAVAILABLE


def test_error_decoding_edge_cases() -> None:
    negative = status_details(2, "x", micro_error_any("neg", -7, "d", "s"))
    e = micro.MicroError.from_status(grpc.StatusCode.UNKNOWN, "m", [("grpc-status-details-bin", negative)])
    assert (e.id, e.micro_code) == ("neg", -7)
    other = any_pb2.Any(type_url="type.googleapis.com/google.rpc.DebugInfo", value=b"\x0a\x01x")
    mixed = status_details(2, "x", other, micro_error_any("second", 500, "d", "s"))
    second = micro.MicroError.from_status(grpc.StatusCode.UNKNOWN, "", [("grpc-status-details-bin", mixed)])
    assert second.id == "second"
    garbage = micro.MicroError.from_status(grpc.StatusCode.UNKNOWN, "text", [("grpc-status-details-bin", b"\xff\xff")])
    assert (garbage.detail, garbage.id) == ("text", "")
    assert micro.MicroError.from_status(grpc.StatusCode.UNKNOWN, "[1, 2]").detail == "[1, 2]"
    assert micro.MicroError.from_status(grpc.StatusCode.UNKNOWN, '{"other": 1}').detail == '{"other": 1}'
    partial = micro.MicroError.from_status(grpc.StatusCode.UNKNOWN, '{"detail": "only detail"}')
    assert (partial.detail, partial.micro_code, partial.id) == ("only detail", 0, "")


def test_micro_error_pickles_and_reprs() -> None:
    e = micro.MicroError(grpc.StatusCode.NOT_FOUND, "gone", id="a.B.C", micro_code=404, status="Not Found")
    copy = pickle.loads(pickle.dumps(e))
    assert (copy.code, copy.detail, copy.id, copy.micro_code, copy.status) == (
        grpc.StatusCode.NOT_FOUND,
        "gone",
        "a.B.C",
        404,
        "Not Found",
    )
    assert "a.B.C" in repr(e) and isinstance(e, Exception)
    assert str(micro.MicroError(grpc.StatusCode.CANCELLED)) == "CANCELLED"


# --- Streaming, cancellation and metadata -------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_client_and_bidi_streaming(mode: str, server: Tuple[str, Recorder]) -> None:
    address, _ = server
    chunks = [BytesValue(value=b"ab"), BytesValue(value=b"cd")]
    words = [StringValue(value="x"), StringValue(value="yz")]
    if mode == "sync":
        with micro.Channel(address) as channel:
            assert channel.stream_unary("/test.T/Concat", iter(chunks), BytesValue).value == b"abcd"
            assert [m.value for m in channel.stream_stream("/test.T/Upper", words, StringValue)] == ["X", "YZ"]
        return

    async def gen() -> Any:
        for chunk in chunks:
            yield chunk

    async def main() -> None:
        async with micro.AsyncChannel(address) as channel:
            assert (await channel.stream_unary("/test.T/Concat", gen(), BytesValue)).value == b"abcd"
            assert (await channel.stream_unary("/test.T/Concat", chunks, BytesValue)).value == b"abcd"
            got = [m.value async for m in channel.stream_stream("/test.T/Upper", words, StringValue)]
            assert got == ["X", "YZ"]

    asyncio.run(main())


@pytest.mark.parametrize("mode", MODES)
def test_leaving_a_stream_early_cancels_it(mode: str, server: Tuple[str, Recorder]) -> None:
    address, rec = server
    if mode == "sync":
        with micro.Channel(address) as channel:
            stream = channel.unary_stream("/test.T/Endless", StringValue(), StringValue)
            assert next(stream).value == "1"
            stream.close()  # type: ignore[attr-defined]
            assert rec.cancelled.wait(5)
        return

    async def main() -> None:
        async with micro.AsyncChannel(address) as channel:
            stream = channel.unary_stream("/test.T/Endless", StringValue(), StringValue)
            async for message in stream:
                assert message.value == "1"
                break
            await stream.aclose()  # type: ignore[attr-defined]
            assert await asyncio.get_running_loop().run_in_executor(None, rec.cancelled.wait, 5)

    asyncio.run(main())


def test_cancellation_cancels_blocking_calls(server: Tuple[str, Recorder]) -> None:
    address, rec = server
    with micro.Channel(address) as channel:
        # A unary call in flight: cancelled from another thread, long before the server answers.
        token = micro.Cancellation()
        assert not token.cancelled
        threading.Timer(0.1, token.cancel).start()
        started = time.monotonic()
        with pytest.raises(micro.MicroError) as unary_error:
            channel.unary_unary("/test.T/Slow", StringValue(), StringValue, cancellation=token)
        assert unary_error.value.code == grpc.StatusCode.CANCELLED
        assert time.monotonic() - started < 3
        assert token.cancelled
        # An already cancelled token fails a call at once, whatever its kind.
        with pytest.raises(micro.MicroError) as at_once:
            channel.unary_unary("/test.T/Flaky", StringValue(), StringValue, cancellation=token)
        assert at_once.value.code == grpc.StatusCode.CANCELLED
        with pytest.raises(micro.MicroError) as client_stream:
            channel.stream_unary("/test.T/Concat", [BytesValue(value=b"a")], BytesValue, cancellation=token)
        assert client_stream.value.code == grpc.StatusCode.CANCELLED
        # A stream being iterated: cancelled after some messages, the server sees it go.
        stream_token = micro.Cancellation()
        got: List[str] = []
        threading.Timer(0.1, stream_token.cancel).start()
        with pytest.raises(micro.MicroError) as stream_error:
            for message in channel.unary_stream("/test.T/Endless", StringValue(), StringValue, cancellation=stream_token):
                got.append(message.value)
        assert stream_error.value.code == grpc.StatusCode.CANCELLED
        assert got and rec.cancelled.wait(5)
        # A token that is never cancelled changes nothing; cancelling it afterwards is harmless.
        idle = micro.Cancellation()
        assert channel.unary_unary("/test.T/Flaky", StringValue(), StringValue, cancellation=idle).value.startswith("ok")
        upper = channel.stream_stream("/test.T/Upper", [StringValue(value="a")], StringValue, cancellation=idle)
        assert [m.value for m in upper] == ["A"]
        idle.cancel()
        idle.cancel()


@pytest.mark.parametrize("mode", MODES)
def test_metadata_token_namespace_and_user_agent(mode: str, server: Tuple[str, Recorder]) -> None:
    address, _ = server
    options: Dict[str, Any] = {
        "token": "tok",
        "namespace": "ns",
        "metadata": [("X-Client", "c"), ("x-shared", "client")],
        "call": {"metadata": [("x-call", "1"), ("x-shared", "call")]},
    }
    got = unary(mode, address, "/test.T/EchoMetadata", StringValue(), StringValue, **options)
    seen = json.loads(got.value)
    assert seen["authorization"] == "Bearer tok"
    assert seen["micro-namespace"] == "ns"
    assert seen["x-client"] == "c" and seen["x-call"] == "1" and seen["x-shared"] == "call"
    assert seen["user-agent"].startswith(micro._runtime.USER_AGENT + " ")
    assert "micro-sdk-python/" + micro.__version__ == micro._runtime.USER_AGENT
    override = unary(
        mode,
        address,
        "/test.T/EchoMetadata",
        StringValue(),
        StringValue,
        token="tok",
        call={"metadata": [("authorization", "Bearer other")]},
    )
    assert json.loads(override.value)["authorization"] == "Bearer other"
    bare = json.loads(unary(mode, address, "/test.T/EchoMetadata", StringValue(), StringValue).value)
    assert "authorization" not in bare and "micro-namespace" not in bare


@pytest.mark.parametrize("mode", MODES)
def test_interceptors_see_sdk_metadata_and_every_attempt(mode: str, server: Tuple[str, Recorder]) -> None:
    address, rec = server
    rec.fail_first = 1
    seen: List[Dict[str, Any]] = []
    interceptor: Any
    if mode == "sync":

        class Sync(grpc.UnaryUnaryClientInterceptor):
            def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
                seen.append({key: value for key, value in (details.metadata or ())})
                return continuation(details, request)

        interceptor = Sync()
    else:

        class Async(grpc.aio.UnaryUnaryClientInterceptor):
            async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
                seen.append({key: value for key, value in (details.metadata or ())})
                return await continuation(details, request)

        interceptor = Async()
    unary(
        mode,
        address,
        "/test.T/Flaky",
        StringValue(),
        StringValue,
        token="t",
        retry=FAST_RETRY,
        interceptors=[interceptor],
    )
    assert len(seen) == 2 and all(m.get("authorization") == "Bearer t" for m in seen)


# --- Addresses and options ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "tls", "target", "use_tls"),
    [
        ("127.0.0.1:8081", None, "127.0.0.1:8081", False),
        ("proxy.m3o.com:443", None, "proxy.m3o.com:443", True),
        ("proxy.m3o.com", None, "proxy.m3o.com", True),
        ("https://proxy.m3o.com", None, "proxy.m3o.com:443", True),
        ("https://proxy.m3o.com:8443/", None, "proxy.m3o.com:8443", True),
        ("HTTPS://h:1", None, "h:1", True),
        ("http://localhost", None, "localhost:80", False),
        ("http://localhost:443", None, "localhost:443", False),
        ("localhost:443", False, "localhost:443", False),
        ("localhost:8081", True, "localhost:8081", True),
        ("https://h:1", False, "h:1", False),
        ("[::1]:443", None, "[::1]:443", True),
        ("[::1]:8081", None, "[::1]:8081", False),
        ("dns:///h:8081", None, "dns:///h:8081", False),
        ("unix:///tmp/micro.sock", None, "unix:///tmp/micro.sock", False),
        ("unix:///tmp/micro.sock", True, "unix:///tmp/micro.sock", True),
    ],
)
def test_address_and_tls(address: str, tls: Optional[bool], target: str, use_tls: bool) -> None:
    assert _runtime._split_address(address, tls) == (target, use_tls)


def test_invalid_options() -> None:
    with pytest.raises(ValueError):
        micro.Channel("https://")
    with pytest.raises(ValueError):
        micro.Channel("h:1", timeout=-1)
    with pytest.raises(ValueError):
        micro.RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError):
        micro.RetryPolicy(jitter=2)
    with pytest.raises(ValueError):
        micro.RetryPolicy(multiplier=0.5)


def test_backoff_grows_caps_and_jitters() -> None:
    policy = micro.RetryPolicy(initial_backoff=0.1, max_backoff=0.5, multiplier=2.0, jitter=0.2)
    for retry, base in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.5), (10, 0.5)]:
        for _ in range(20):
            assert base * 0.8 - 1e-9 <= policy.backoff(retry) <= base * 1.2 + 1e-9
    assert micro.RetryPolicy().retryable_codes == frozenset({grpc.StatusCode.UNAVAILABLE})
