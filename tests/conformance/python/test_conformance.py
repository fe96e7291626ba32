"""Conformance runner for the generated Python SDK (``sdks/python``, import name ``micro``).

Runs every case of ``tests/conformance/*.json`` (format: ``tests/conformance/README.md``)
through both high-level clients, ``micro.Micro`` (blocking) and ``micro.AsyncMicro`` (asyncio,
driven with ``asyncio.run``), against the reference server ``$MICRO_GEN_BIN serve --test-hooks``.
Each (case file, client) pair gets its own server, so state never leaks between files or
between the two clients; the cases of a file run in file order.

Test ids read ``store.json::<case name>[sync]`` / ``[async]``. Environment:

- ``MICRO_GEN_BIN`` (required): the ``micro-gen`` binary;
- ``MICRO_CONFORMANCE_CASES`` (optional): a directory of case files to run instead of
  ``tests/conformance``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import grpc
import grpc.aio
import micro
import pytest
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

CASES_DIR = Path(os.environ.get("MICRO_CONFORMANCE_CASES") or Path(__file__).resolve().parent.parent)
CASE_FILES = sorted(CASES_DIR.glob("*.json"))
MODES = ("sync", "async")
SERVER_START_TIMEOUT = 60.0
"""Seconds to wait for the server's ``listening on`` line."""

_LISTENING = re.compile(r"listening on (\S+)")
_CLIENT_OPTIONS = {"token", "namespace", "timeoutMs", "metadata", "headers", "retry", "tls"}
_CALL_KEYS = {"service", "method", "request", "requests", "timeoutMs", "metadata", "expect", "name", "comment"}
_EXPECT_KEYS = {"response", "responses", "error", "headers", "headersMatch"}
_ERROR_KEYS = {"code", "id", "microCode", "status", "detail", "message"}


# --- Case loading -------------------------------------------------------------------------------


@dataclass
class Case:
    """One case of a case file, as run by one client."""

    file: Path
    index: int
    name: str
    service: str
    data: Dict[str, Any]
    mode: str

    @property
    def key(self) -> Tuple[str, str]:
        """The server a case runs against: one per (case file, client)."""
        return (str(self.file), self.mode)


def _load_cases() -> List[Any]:
    params: List[Any] = []
    for path in CASE_FILES:
        doc = json.loads(path.read_text(encoding="utf-8"))
        service = doc.get("service", "")
        for mode in MODES:
            for index, data in enumerate(doc.get("cases", [])):
                name = data.get("name") or f"case {index}"
                case = Case(path, index, name, service, data, mode)
                params.append(pytest.param(case, id=f"{path.name}::{name}[{mode}]"))
    return params


# --- The reference server -----------------------------------------------------------------------


class Server:
    """A running ``micro-gen serve --test-hooks`` on a free port."""

    def __init__(self, binary: str) -> None:
        self.process = subprocess.Popen(
            [binary, "serve", "--address", "127.0.0.1:0", "--test-hooks"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.address = self._wait_listening()

    def _wait_listening(self) -> str:
        found: List[str] = []
        seen: List[str] = []
        stdout = self.process.stdout
        assert stdout is not None

        def read() -> None:
            for line in stdout:
                seen.append(line)
                match = _LISTENING.search(line)
                if match:
                    found.append(match.group(1))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(SERVER_START_TIMEOUT)
        if not found:
            self.stop()
            stderr = self.process.stderr.read() if self.process.stderr else ""
            pytest.fail(
                f"the server printed no 'listening on HOST:PORT' line within {SERVER_START_TIMEOUT} s "
                f"(exit code {self.process.returncode}); stdout: {''.join(seen)!r}; stderr: {stderr!r}",
                pytrace=False,
            )
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in stdout], daemon=True).start()
        return found[0]

    def stop(self) -> None:
        """Terminates the server (kills it when it does not exit within 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Servers:
    """Starts one server per (case file, client) and stops the previous one on a switch."""

    def __init__(self) -> None:
        self.current: Optional[Tuple[Tuple[str, str], Server]] = None

    def for_case(self, case: Case) -> Server:
        if self.current is not None and self.current[0] == case.key:
            return self.current[1]
        self.close()
        binary = os.environ.get("MICRO_GEN_BIN")
        if not binary:
            pytest.fail("MICRO_GEN_BIN is not set: it must name the micro-gen binary", pytrace=False)
        server = Server(binary)
        self.current = (case.key, server)
        return server

    def close(self) -> None:
        if self.current is not None:
            self.current[1].stop()
            self.current = None


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    pool = Servers()
    yield pool
    pool.close()


# --- Capturing response headers -----------------------------------------------------------------


@dataclass
class Headers:
    """The response headers (initial metadata) of the last call attempt."""

    values: Dict[str, str] = field(default_factory=dict)

    def record(self, metadata: Any) -> None:
        self.values = {}
        self.merge(metadata)

    def merge(self, metadata: Any) -> None:
        """Adds metadata entries whose keys were not captured yet."""
        for key, value in metadata or ():
            if key not in self.values:
                self.values[key] = value.decode("latin-1") if isinstance(value, bytes) else value


class SyncCapture(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """A grpcio interceptor that records the response headers of every call."""

    def __init__(self, headers: Headers) -> None:
        self.headers = headers

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        self.headers.record(None)
        outcome = continuation(details, request)
        self.headers.record(outcome.initial_metadata())
        return outcome

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        self.headers.record(None)
        call = continuation(details, request)
        self.headers.record(call.initial_metadata())
        return call


class AsyncCaptureUnary(grpc.aio.UnaryUnaryClientInterceptor):
    """A ``grpc.aio`` interceptor that records the response headers of unary calls."""

    def __init__(self, headers: Headers) -> None:
        self.headers = headers

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        self.headers.record(None)
        call = await continuation(details, request)
        self.headers.record(await call.initial_metadata())
        return call


class AsyncCaptureStream(grpc.aio.UnaryStreamClientInterceptor):
    """A ``grpc.aio`` interceptor that records the response headers of server streams."""

    def __init__(self, headers: Headers) -> None:
        self.headers = headers

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        self.headers.record(None)
        call = await continuation(details, request)
        self.headers.record(await call.initial_metadata())
        return call


# --- Running a case -----------------------------------------------------------------------------


def snake_case(name: str) -> str:
    """The Python method name of an rpc: ``Read`` -> ``read``, ``GetService`` -> ``get_service``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", r"_\1\2", name).lower()


def client_options(case: Case, headers: Headers) -> Dict[str, Any]:
    """Keyword arguments for ``Micro``/``AsyncMicro`` from the case's ``client`` object."""
    spec = case.data.get("client") or {}
    unknown = set(spec) - _CLIENT_OPTIONS
    assert not unknown, f"unsupported client options {sorted(unknown)} in case {case.name!r}"
    options: Dict[str, Any] = {}
    if "token" in spec:
        options["token"] = spec["token"]
    if "namespace" in spec:
        options["namespace"] = spec["namespace"]
    if "tls" in spec:
        options["tls"] = spec["tls"]
    if "timeoutMs" in spec:
        options["timeout"] = spec["timeoutMs"] / 1000.0
    extra = {**spec.get("metadata", {}), **spec.get("headers", {})}
    if extra:
        options["metadata"] = list(extra.items())
    if "retry" in spec:
        options["retry"] = retry_policy(spec["retry"])
    if case.mode == "sync":
        options["interceptors"] = [SyncCapture(headers)]
    else:
        options["interceptors"] = [AsyncCaptureUnary(headers), AsyncCaptureStream(headers)]
    return options


def retry_policy(spec: Any) -> Optional[micro.RetryPolicy]:
    """A ``RetryPolicy`` from a case's ``retry`` option (``false`` switches retries off)."""
    if spec is False or spec is None:
        return None
    names = {
        "maxRetries": ("max_retries", 1),
        "initialBackoffMs": ("initial_backoff", 1000),
        "maxBackoffMs": ("max_backoff", 1000),
        "multiplier": ("multiplier", 1),
        "jitter": ("jitter", 1),
    }
    kwargs: Dict[str, Any] = {}
    for key, value in spec.items():
        if key == "retryableCodes":
            kwargs["retryable_codes"] = frozenset(grpc.StatusCode[code] for code in value)
        else:
            assert key in names, f"unsupported retry option {key!r}"
            name, divisor = names[key]
            kwargs[name] = value / divisor if divisor != 1 else value
    return micro.RetryPolicy(**kwargs)


def find_client(sdk: Any, service: str) -> Any:
    """The attribute of a ``Micro``/``AsyncMicro`` whose class has ``SERVICE_NAME == service``."""
    for attribute in dir(sdk):
        if attribute.startswith("__"):
            continue
        value = getattr(sdk, attribute, None)
        if getattr(type(value), "SERVICE_NAME", None) == service:
            return value
    raise AssertionError(f"{type(sdk).__name__} has no client with SERVICE_NAME {service!r}")


def find_method(client: Any, method: str) -> Callable[..., Any]:
    name = snake_case(method)
    for candidate in (name, name + "_"):
        found = getattr(client, candidate, None)
        if callable(found):
            return found
    raise AssertionError(f"{type(client).__name__} has no method {name!r} for rpc {method!r}")


def message_class(descriptor: Any) -> Any:
    return message_factory.GetMessageClass(descriptor)


def as_json(message: Message) -> Dict[str, Any]:
    """A message as proto3 JSON (json names, defaults omitted)."""
    return json_format.MessageToDict(message)


def normalized(expected: Dict[str, Any], cls: Any) -> Dict[str, Any]:
    """An expected response in the printer's canonical form (json names, int64 as strings)."""
    return as_json(json_format.ParseDict(expected, cls()))


@dataclass
class Call:
    """One call of a case, resolved against the SDK."""

    label: str
    method: MethodDescriptor
    data: Dict[str, Any]

    @property
    def expect(self) -> Dict[str, Any]:
        return self.data.get("expect") or {}

    def requests(self) -> List[Message]:
        cls = message_class(self.method.input_type)
        items = self.data["requests"] if "requests" in self.data else [self.data.get("request") or {}]
        return [json_format.ParseDict(item, cls()) for item in items]

    def kwargs(self) -> Dict[str, Any]:
        kwargs: Dict[str, Any] = {}
        if "timeoutMs" in self.data:
            kwargs["timeout"] = self.data["timeoutMs"] / 1000.0
        if self.data.get("metadata"):
            kwargs["metadata"] = [(k, str(v)) for k, v in self.data["metadata"].items()]
        return kwargs


def resolve_calls(case: Case) -> List[Call]:
    pool = descriptor_pool.Default()
    calls: List[Call] = []
    for index, data in enumerate(case.data.get("calls", [])):
        unknown = set(data) - _CALL_KEYS
        assert not unknown, f"unsupported call keys {sorted(unknown)}"
        service = data.get("service") or case.service
        method = data["method"]
        label = f"call {index} ({service}.{method})"
        expect = data.get("expect") or {}
        unknown = set(expect) - _EXPECT_KEYS
        assert not unknown, f"{label}: unsupported expect keys {sorted(unknown)}"
        outcomes = [key for key in ("response", "responses", "error") if key in expect]
        assert len(outcomes) == 1, f"{label}: expect needs exactly one of response/responses/error"
        calls.append(Call(label, pool.FindMethodByName(f"{service}.{method}"), data))
    return calls


def check_result(call: Call, result: Any, error: Optional[micro.MicroError], headers: Headers) -> None:
    """Compares one call's outcome with its ``expect``; raises AssertionError on a mismatch."""
    expect = call.expect
    output = message_class(call.method.output_type)
    if "error" in expect:
        want = expect["error"]
        unknown = set(want) - _ERROR_KEYS
        assert not unknown, f"{call.label}: unsupported error keys {sorted(unknown)}"
        assert error is not None, f"{call.label}: expected {want['code']}, got a response {result!r}"
        code = error.code.name
        assert code == want["code"], f"{call.label}: code {code}, expected {want['code']} ({error})"
        for key, attribute in (("id", "id"), ("microCode", "micro_code"), ("status", "status"), ("detail", "detail")):
            if key in want:
                got = getattr(error, attribute)
                assert got == want[key], f"{call.label}: error {attribute} {got!r}, expected {want[key]!r} ({error})"
        if "message" in want:
            assert error.message == want["message"], f"{call.label}: error message {error.message!r}"
        # A failed call's headers usually come in a trailers-only response, which grpcio reports
        # as trailing metadata: like connect's error metadata, count both as the error's headers.
        headers.merge(error.trailing_metadata)
    else:
        assert error is None, f"{call.label}: unexpected error {error!r}"
        if "response" in expect:
            assert isinstance(result, Message), f"{call.label}: expected one response, got {result!r}"
            got = as_json(result)
            assert got == normalized(expect["response"], output), (
                f"{call.label}: response {got}, expected {expect['response']}"
            )
        else:
            assert isinstance(result, list), f"{call.label}: expected a stream of responses, got {result!r}"
            got_all = [as_json(message) for message in result]
            want_all = [normalized(item, output) for item in expect["responses"]]
            assert got_all == want_all, f"{call.label}: responses {got_all}, expected {expect['responses']}"
    for key, value in (expect.get("headers") or {}).items():
        got_header = headers.values.get(key)
        assert got_header == value, f"{call.label}: header {key!r} is {got_header!r}, expected {value!r}"
    for key, pattern in (expect.get("headersMatch") or {}).items():
        got_header = headers.values.get(key)
        assert got_header is not None and re.search(pattern, got_header), (
            f"{call.label}: header {key!r} is {got_header!r}, expected a match of {pattern!r}"
        )


def run_sync(case: Case, address: str) -> None:
    headers = Headers()
    with micro.Micro(address, **client_options(case, headers)) as sdk:
        for call in resolve_calls(case):
            rpc = find_method(find_client(sdk, call.method.containing_service.full_name), call.method.name)
            requests = call.requests()
            argument: Any = iter(requests) if call.method.client_streaming else requests[0]
            result: Any = None
            error: Optional[micro.MicroError] = None
            try:
                outcome = rpc(argument, **call.kwargs())
                result = list(outcome) if call.method.server_streaming else outcome
            except micro.MicroError as raised:
                error = raised
            check_result(call, result, error, headers)


async def run_async(case: Case, address: str) -> None:
    headers = Headers()
    async with micro.AsyncMicro(address, **client_options(case, headers)) as sdk:
        for call in resolve_calls(case):
            rpc = find_method(find_client(sdk, call.method.containing_service.full_name), call.method.name)
            requests = call.requests()
            argument: Any = iter(requests) if call.method.client_streaming else requests[0]
            result: Any = None
            error: Optional[micro.MicroError] = None
            try:
                if call.method.server_streaming:
                    result = [message async for message in rpc(argument, **call.kwargs())]
                else:
                    result = await rpc(argument, **call.kwargs())
            except micro.MicroError as raised:
                error = raised
            check_result(call, result, error, headers)


# --- Tests --------------------------------------------------------------------------------------


def test_case_files_exist() -> None:
    """The runner must have something to run."""
    assert CASE_FILES, f"no conformance case files (*.json) in {CASES_DIR}"


@pytest.mark.parametrize("case", _load_cases())
def test_conformance(case: Case, servers: Servers) -> None:
    address = servers.for_case(case).address
    if case.mode == "sync":
        run_sync(case, address)
    else:
        asyncio.run(run_async(case, address))
