//! The reference runner of the conformance cases in `tests/conformance/*.json`.
//!
//! It follows `tests/conformance/README.md` exactly, as the SDK runners do, but calls the
//! server with dynamic messages (prost-reflect over the server's own descriptor set) instead
//! of a generated SDK: one server (with test hooks) per case file, cases in order, every
//! call's expectation checked. It also lints the case files: unknown keys, a missing or
//! duplicated expectation, a `response` for a streaming method (or `responses` for a unary
//! one), unknown gRPC code names, and expected messages that are not already in canonical
//! proto3 JSON (json names, defaults omitted, 64-bit integers as strings) all fail.

mod common;

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use common::{Running, USER_AGENT};
use micro_server::{MicroError, pb::FILE_DESCRIPTOR_SET};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor};
use serde::Deserialize;
use serde_json::Value;
use tonic::{
    Code, Request, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    metadata::{MetadataKey, MetadataMap, MetadataValue},
    transport::Channel,
};

/// Deadline for calls whose case sets no `timeoutMs`, so a broken server cannot hang the test.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    service: String,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    client: ClientOptions,
    calls: Vec<Call>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientOptions {
    token: Option<String>,
    namespace: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Call {
    service: Option<String>,
    method: String,
    #[serde(default = "empty_object")]
    request: Value,
    timeout_ms: Option<u64>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    expect: Expect,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Expect {
    response: Option<Value>,
    responses: Option<Vec<Value>>,
    error: Option<ExpectError>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    headers_match: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ExpectError {
    code: String,
    id: Option<String>,
    micro_code: Option<i32>,
    status: Option<String>,
    detail: Option<String>,
}

/// A codec for dynamic messages of a given response type.
struct DynamicCodec {
    response: MessageDescriptor,
}

struct DynamicEncoder;

struct DynamicDecoder {
    response: MessageDescriptor,
}

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        DynamicDecoder { response: self.response.clone() }
    }
}

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(dst).map_err(|err| Status::internal(format!("encode: {err}")))
    }
}

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        DynamicMessage::decode(self.response.clone(), src)
            .map(Some)
            .map_err(|err| Status::internal(format!("decode: {err}")))
    }
}

/// The canonical gRPC name of a status code.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// Proto3 JSON of a message: json names, defaults omitted, 64-bit integers as strings.
fn to_json(message: &DynamicMessage) -> Value {
    serde_json::to_value(message).expect("serialize message")
}

/// Parses `json` as a `descriptor` message (json or proto field names accepted).
fn from_json(descriptor: &MessageDescriptor, json: &Value) -> Result<DynamicMessage, String> {
    DynamicMessage::deserialize(descriptor.clone(), json.clone())
        .map_err(|err| format!("not a valid {} in proto3 JSON: {err}", descriptor.full_name()))
}

/// Checks that an expected message is valid and already canonical; returns it.
fn canonical(descriptor: &MessageDescriptor, expected: &Value) -> Result<Value, String> {
    let round_trip = to_json(&from_json(descriptor, expected)?);
    if &round_trip != expected {
        return Err(format!(
            "expected {} is not canonical proto3 JSON: {expected} (canonical: {round_trip})",
            descriptor.full_name()
        ));
    }
    Ok(round_trip)
}

/// The outcome of one call: messages (one for unary) and response headers, or an error.
type Outcome = Result<(Vec<DynamicMessage>, MetadataMap), Status>;

async fn invoke(
    channel: Channel,
    method: &MethodDescriptor,
    request: DynamicMessage,
    metadata: &[(String, String)],
    timeout: Duration,
) -> Outcome {
    let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
    let path = path.parse().map_err(|_| Status::internal("bad path"))?;
    let codec = DynamicCodec { response: method.output() };
    let mut request = Request::new(request);
    request.set_timeout(timeout);
    for (key, value) in metadata {
        let key = MetadataKey::from_bytes(key.as_bytes())
            .map_err(|_| Status::internal(format!("bad metadata key {key:?}")))?;
        let value = MetadataValue::try_from(value.as_str())
            .map_err(|_| Status::internal(format!("bad metadata value {value:?}")))?;
        request.metadata_mut().insert(key, value);
    }
    let mut grpc = tonic::client::Grpc::new(channel);
    let call = async {
        grpc.ready().await.map_err(|err| Status::unavailable(format!("not ready: {err}")))?;
        if method.is_server_streaming() {
            let response = grpc.server_streaming(request, path, codec).await?;
            let headers = response.metadata().clone();
            let mut stream = response.into_inner();
            let mut messages = Vec::new();
            while let Some(message) = stream.message().await? {
                messages.push(message);
            }
            Outcome::Ok((messages, headers))
        } else {
            let response = grpc.unary(request, path, codec).await?;
            let headers = response.metadata().clone();
            Ok((vec![response.into_inner()], headers))
        }
    };
    // Like the SDKs' clients, enforce the deadline locally as well. tonic's client reports its
    // own expiry of `grpc-timeout` as CANCELLED "Timeout expired"; once the deadline has passed,
    // that is DEADLINE_EXCEEDED (gRPC spec), whichever timer the scheduler ran first.
    let deadline = tokio::time::Instant::now() + timeout;
    match tokio::time::timeout_at(deadline, call).await {
        Ok(Err(status)) if status.code() == tonic::Code::Cancelled && tokio::time::Instant::now() >= deadline => {
            Err(Status::deadline_exceeded("deadline exceeded (client)"))
        }
        Ok(outcome) => outcome,
        Err(_) => Err(Status::deadline_exceeded("deadline exceeded (client)")),
    }
}

fn check_headers(expect: &Expect, headers: &MetadataMap, failures: &mut Vec<String>) {
    for (key, want) in &expect.headers {
        match headers.get(key.as_str()).map(|v| v.to_str()) {
            Some(Ok(got)) if got == want => {}
            got => failures.push(format!("header {key}: want {want:?}, got {got:?}")),
        }
    }
    for (key, pattern) in &expect.headers_match {
        let regex = match regex::Regex::new(pattern) {
            Ok(regex) => regex,
            Err(err) => {
                failures.push(format!("headersMatch {key}: bad regex {pattern:?}: {err}"));
                continue;
            }
        };
        match headers.get(key.as_str()).map(|v| v.to_str()) {
            Some(Ok(got)) if regex.is_match(got) => {}
            got => failures.push(format!("header {key}: want match {pattern:?}, got {got:?}")),
        }
    }
}

fn check_error(want: &ExpectError, status: &Status, failures: &mut Vec<String>) {
    if code_name(status.code()) != want.code {
        failures.push(format!("want error {}, got {} ({:?})", want.code, code_name(status.code()), status.message()));
    }
    let wants_micro = want.id.is_some() || want.micro_code.is_some() || want.status.is_some() || want.detail.is_some();
    if !wants_micro {
        return;
    }
    // The reference server must carry the Micro error both ways: as the JSON message (what a
    // client behind Micro's proxy sees) and as the errors.Error status detail.
    let from_json = MicroError::from_json(status.message());
    let from_details = if status.details().is_empty() { None } else { MicroError::from_status(status) };
    if from_json.is_none() || from_details.is_none() || from_json != from_details {
        failures.push(format!(
            "Micro error must be both the JSON message and the status detail: message {:?}, detail {from_details:?}",
            status.message()
        ));
    }
    let Some(got) = from_details.or(from_json) else {
        return;
    };
    if let Some(id) = &want.id {
        if &got.id != id {
            failures.push(format!("error id: want {id:?}, got {:?}", got.id));
        }
    }
    if let Some(code) = want.micro_code {
        if got.code != code {
            failures.push(format!("error microCode: want {code}, got {}", got.code));
        }
    }
    if let Some(text) = &want.status {
        if &got.status != text {
            failures.push(format!("error status: want {text:?}, got {:?}", got.status));
        }
    }
    if let Some(detail) = &want.detail {
        if &got.detail != detail {
            failures.push(format!("error detail: want {detail:?}, got {:?}", got.detail));
        }
    }
}

/// Runs one call and returns its failures.
async fn run_call(
    pool: &DescriptorPool,
    channel: Channel,
    default_service: &str,
    client: &ClientOptions,
    call: &Call,
) -> Vec<String> {
    let mut failures = Vec::new();
    let service_name = call.service.as_deref().unwrap_or(default_service);
    let Some(service) = pool.get_service_by_name(service_name) else {
        return vec![format!("unknown service {service_name}")];
    };
    let Some(method) = service.methods().find(|m| m.name() == call.method) else {
        return vec![format!("unknown method {service_name}.{}", call.method)];
    };
    if method.is_client_streaming() {
        return vec![format!("{service_name}.{} is client-streaming: not supported by the case format", call.method)];
    }
    let expect = &call.expect;
    let kinds = [expect.response.is_some(), expect.responses.is_some(), expect.error.is_some()];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return vec!["expect must have exactly one of response, responses, error".into()];
    }
    if expect.response.is_some() && method.is_server_streaming() {
        failures.push("`response` used for a server-streaming method (use `responses`)".into());
    }
    if expect.responses.is_some() && !method.is_server_streaming() {
        failures.push("`responses` used for a unary method (use `response`)".into());
    }
    if let Some(error) = &expect.error {
        if !CODE_NAMES.contains(&error.code.as_str()) || error.code == "OK" {
            failures.push(format!("unknown error code name {:?}", error.code));
        }
    }
    let output = method.output();
    let expected: Vec<Value> = match (&expect.response, &expect.responses) {
        (Some(one), _) => vec![one.clone()],
        (_, Some(many)) => many.clone(),
        _ => Vec::new(),
    };
    for value in &expected {
        if let Err(err) = canonical(&output, value) {
            failures.push(err);
        }
    }
    let request = match from_json(&method.input(), &call.request) {
        Ok(request) => request,
        Err(err) => {
            failures.push(format!("request: {err}"));
            return failures;
        }
    };
    if !failures.is_empty() {
        return failures;
    }

    let mut metadata = Vec::new();
    if let Some(token) = &client.token {
        metadata.push(("authorization".to_owned(), format!("Bearer {token}")));
    }
    if let Some(namespace) = &client.namespace {
        metadata.push(("micro-namespace".to_owned(), namespace.clone()));
    }
    metadata.extend(call.metadata.iter().map(|(k, v)| (k.clone(), v.clone())));
    let timeout = call.timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis);

    match invoke(channel, &method, request, &metadata, timeout).await {
        Ok((messages, headers)) => {
            if let Some(error) = &expect.error {
                failures.push(format!("want error {}, got success", error.code));
            } else {
                let got: Vec<Value> = messages.iter().map(to_json).collect();
                if got != expected {
                    failures.push(format!(
                        "response mismatch:\n    want {}\n    got  {}",
                        Value::from(expected.clone()),
                        Value::from(got)
                    ));
                }
            }
            check_headers(expect, &headers, &mut failures);
        }
        Err(status) => {
            match &expect.error {
                Some(error) => check_error(error, &status, &mut failures),
                None => failures.push(format!("want success, got {} {:?}", code_name(status.code()), status.message())),
            }
            check_headers(expect, status.metadata(), &mut failures);
        }
    }
    failures
}

/// Runs every case of `tests/conformance/<file>` against a fresh server; returns
/// `(cases, calls)` on success and panics with every failure otherwise.
async fn run_file(file: &str) -> (usize, usize) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let cases: CaseFile = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    assert!(!cases.cases.is_empty(), "{file}: no cases");
    let pool = DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("descriptor pool");

    let server = Running::start(true).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .expect("endpoint")
        .user_agent(USER_AGENT)
        .expect("user agent")
        .connect()
        .await
        .expect("connect");

    let mut names = std::collections::HashSet::new();
    let mut report = Vec::new();
    let mut calls = 0;
    for case in &cases.cases {
        if !names.insert(case.name.as_str()) {
            report.push(format!("{file}: duplicate case name {:?}", case.name));
        }
        if case.calls.is_empty() {
            report.push(format!("{file}: case {:?} has no calls", case.name));
        }
        for (index, call) in case.calls.iter().enumerate() {
            calls += 1;
            let failures = run_call(&pool, channel.clone(), &cases.service, &case.client, call).await;
            for failure in failures {
                report.push(format!("{file}: case {:?}, call {} ({}): {failure}", case.name, index + 1, call.method));
            }
        }
    }
    server.stop().await;
    assert!(report.is_empty(), "{} conformance failure(s):\n{}", report.len(), report.join("\n"));
    println!("{file}: {} cases, {calls} calls passed", cases.cases.len());
    (cases.cases.len(), calls)
}

#[tokio::test]
async fn store_cases_pass() {
    let (cases, _) = run_file("store.json").await;
    assert!(cases >= 22, "store.json has {cases} cases");
}

#[tokio::test]
async fn config_cases_pass() {
    let (cases, _) = run_file("config.json").await;
    assert!(cases >= 12, "config.json has {cases} cases");
}
