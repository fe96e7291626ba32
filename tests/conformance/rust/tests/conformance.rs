//! Runs every conformance case (`tests/conformance/*.json`, format in
//! `tests/conformance/README.md`) through the generated Rust SDK: each call goes through
//! `micro_client::Micro` and its typed clients (`micro.store().read(...)`), with the case's client
//! options (token, namespace) on the builder and the call's deadline and metadata on its
//! `tonic::Request`. One reference server (in process, test hooks on) per case file; the cases of
//! a file run in order.
//!
//! Requests are built from the case's proto3 JSON and responses turned back into proto3 JSON
//! through prost-reflect over the SDK's own descriptor set (`micro_client::FILE_DESCRIPTOR_SET`),
//! so the typed messages are encoded and decoded by the SDK's prost code.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::Running;
use micro_client::pb::{auth, config, debug, store};
use micro_client::tonic::{self, Code, Request, Response, metadata::MetadataMap};
use micro_client::{Error, Micro, Streaming};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use serde::Deserialize;
use serde_json::Value;

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

/// What one call produced: the response messages as proto3 JSON (one for a unary call) and the
/// response headers and trailers, or the SDK's error.
type Outcome = Result<(Vec<Value>, MetadataMap), Error>;

/// A call as the dispatch table sees it: the request in proto3 JSON, its deadline and metadata.
struct Ctx<'a> {
    pool: &'a DescriptorPool,
    input: String,
    output: String,
    call: &'a Call,
}

impl Ctx<'_> {
    fn descriptor(&self, name: &str) -> Result<MessageDescriptor, String> {
        self.pool.get_message_by_name(name).ok_or_else(|| format!("no message {name} in the SDK's descriptor set"))
    }

    /// The typed request, with the call's deadline and metadata.
    fn request<Req: prost::Message + Default>(&self) -> Result<Request<Req>, String> {
        let dynamic = DynamicMessage::deserialize(self.descriptor(&self.input)?, self.call.request.clone())
            .map_err(|e| format!("request is not a valid {}: {e}", self.input))?;
        let message = Req::decode(dynamic.encode_to_vec().as_slice()).map_err(|e| format!("request: {e}"))?;
        let mut request = Request::new(message);
        if let Some(ms) = self.call.timeout_ms {
            request.set_timeout(Duration::from_millis(ms));
        }
        for (key, value) in &self.call.metadata {
            let key = tonic::metadata::AsciiMetadataKey::from_bytes(key.as_bytes())
                .map_err(|_| format!("bad metadata key {key:?}"))?;
            let value = value.parse().map_err(|_| format!("bad metadata value {value:?}"))?;
            request.metadata_mut().insert(key, value);
        }
        Ok(request)
    }

    /// A typed response as proto3 JSON (json names, defaults omitted, 64-bit integers as strings).
    fn json<Resp: prost::Message>(&self, message: &Resp) -> Result<Value, String> {
        let dynamic = DynamicMessage::decode(self.descriptor(&self.output)?, message.encode_to_vec().as_slice())
            .map_err(|e| format!("response: {e}"))?;
        serde_json::to_value(&dynamic).map_err(|e| format!("response: {e}"))
    }
}

/// A unary call through a typed client method.
async fn unary<Req, Resp, F, Fut>(ctx: &Ctx<'_>, method: F) -> Result<Outcome, String>
where
    Req: prost::Message + Default,
    Resp: prost::Message,
    F: FnOnce(Request<Req>) -> Fut,
    Fut: Future<Output = Result<Response<Resp>, Error>>,
{
    Ok(match method(ctx.request()?).await {
        Ok(response) => Ok((vec![ctx.json(response.get_ref())?], response.metadata().clone())),
        Err(err) => Err(err),
    })
}

/// A server-streaming call through a typed client method: every message, then the trailers.
async fn server_streaming<Req, Resp, F, Fut>(ctx: &Ctx<'_>, method: F) -> Result<Outcome, String>
where
    Req: prost::Message + Default,
    Resp: prost::Message,
    F: FnOnce(Request<Req>) -> Fut,
    Fut: Future<Output = Result<Response<Streaming<Resp>>, Error>>,
{
    let response = match method(ctx.request()?).await {
        Ok(response) => response,
        Err(err) => return Ok(Err(err)),
    };
    let headers = response.metadata().clone();
    let mut stream = response.into_inner();
    let mut messages = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(message)) => messages.push(ctx.json(&message)?),
            Ok(None) => break,
            Err(err) => return Ok(Err(err)),
        }
    }
    let mut combined = headers.into_headers();
    match stream.trailers().await {
        Ok(Some(trailers)) => combined.extend(trailers.into_headers()),
        Ok(None) => {}
        Err(err) => return Ok(Err(err)),
    }
    Ok(Ok((messages, MetadataMap::from_headers(combined))))
}

/// The typed client method of every rpc the cases may call: `"service" => accessor { "Method" =>
/// kind(method, RequestType) }`. An rpc missing here fails its case with a message saying so.
macro_rules! dispatch {
    ($micro:expr, $ctx:expr, $service:expr, $method:expr;
     $($svc:literal => $accessor:ident { $($name:literal => $kind:ident($f:ident, $req:ty)),* $(,)? })*) => {
        match ($service, $method) {
            $($(($svc, $name) => {
                let micro = $micro.clone();
                $kind($ctx, |request: Request<$req>| async move { micro.$accessor().$f(request).await }).await
            })*)*
            (service, method) => Err(format!(
                "the Rust runner has no dispatch for {service}/{method}: add it to tests/conformance/rust/tests/conformance.rs"
            )),
        }
    };
}

async fn invoke(micro: &Micro, ctx: &Ctx<'_>, service: &str, method: &str) -> Result<Outcome, String> {
    dispatch!(micro, ctx, service, method;
        "store.Store" => store {
            "Read" => unary(read, store::ReadRequest),
            "Write" => unary(write, store::WriteRequest),
            "Delete" => unary(delete, store::DeleteRequest),
            "List" => server_streaming(list, store::ListRequest),
            "Databases" => unary(databases, store::DatabasesRequest),
            "Tables" => unary(tables, store::TablesRequest),
        }
        "store.BlobStore" => blob_store {
            "Read" => server_streaming(read, store::BlobReadRequest),
            "Delete" => unary(delete, store::BlobDeleteRequest),
            "List" => unary(list, store::BlobListRequest),
        }
        "config.Config" => config {
            "Get" => unary(get, config::GetRequest),
            "Set" => unary(set, config::SetRequest),
            "Delete" => unary(delete, config::DeleteRequest),
            "Read" => unary(read, config::ReadRequest),
        }
        "debug.Debug" => debug {
            "Health" => unary(health, debug::HealthRequest),
            "Stats" => unary(stats, debug::StatsRequest),
            "Log" => unary(log, debug::LogRequest),
            "Trace" => unary(trace, debug::TraceRequest),
        }
        "auth.Auth" => auth {
            "Generate" => unary(generate, auth::GenerateRequest),
            "Inspect" => unary(inspect, auth::InspectRequest),
            "Token" => unary(token, auth::TokenRequest),
        }
    )
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

fn check_headers(expect: &Expect, headers: &MetadataMap, failures: &mut Vec<String>) {
    for (key, want) in &expect.headers {
        match headers.get(key.as_str()).map(|v| v.to_str()) {
            Some(Ok(got)) if got == want => {}
            got => failures.push(format!("header {key}: want {want:?}, got {got:?}")),
        }
    }
    for (key, pattern) in &expect.headers_match {
        let regex = regex::Regex::new(pattern).expect("headersMatch regex");
        match headers.get(key.as_str()).map(|v| v.to_str()) {
            Some(Ok(got)) if regex.is_match(got) => {}
            got => failures.push(format!("header {key}: want match {pattern:?}, got {got:?}")),
        }
    }
}

fn check_error(want: &ExpectError, err: &Error, failures: &mut Vec<String>) {
    if code_name(err.code()) != want.code {
        failures.push(format!("want error {}, got {err}", want.code));
    }
    let mut field = |name: &str, want: Option<String>, got: String| {
        if let Some(want) = want {
            if want != got {
                failures.push(format!("error {name}: want {want:?}, got {got:?}"));
            }
        }
    };
    field("id", want.id.clone(), err.id().to_owned());
    field("microCode", want.micro_code.map(|c| c.to_string()), err.micro_code().to_string());
    field("status", want.status.clone(), err.status().to_owned());
    field("detail", want.detail.clone(), err.detail().to_owned());
}

async fn run_call(micro: &Micro, pool: &DescriptorPool, default_service: &str, call: &Call) -> Vec<String> {
    let service_name = call.service.as_deref().unwrap_or(default_service);
    let Some(service) = pool.get_service_by_name(service_name) else {
        return vec![format!("unknown service {service_name}")];
    };
    let Some(method) = service.methods().find(|m| m.name() == call.method) else {
        return vec![format!("unknown method {service_name}/{}", call.method)];
    };
    let ctx = Ctx {
        pool,
        input: method.input().full_name().to_owned(),
        output: method.output().full_name().to_owned(),
        call,
    };
    let outcome = match invoke(micro, &ctx, service_name, &call.method).await {
        Ok(outcome) => outcome,
        Err(problem) => return vec![problem],
    };
    let expect = &call.expect;
    let mut failures = Vec::new();
    match outcome {
        Ok((messages, headers)) => {
            if let Some(error) = &expect.error {
                failures.push(format!("want error {}, got success", error.code));
            }
            let want = match (&expect.response, &expect.responses) {
                (Some(one), _) => Some(vec![one.clone()]),
                (_, Some(many)) => Some(many.clone()),
                _ => None,
            };
            if let Some(want) = want {
                if messages != want {
                    failures.push(format!(
                        "response mismatch:\n    want {}\n    got  {}",
                        Value::from(want),
                        Value::from(messages)
                    ));
                }
            }
            check_headers(expect, &headers, &mut failures);
        }
        Err(err) => {
            match &expect.error {
                Some(want) => check_error(want, &err, &mut failures),
                None => failures.push(format!("want success, got {err}")),
            }
            check_headers(expect, err.metadata(), &mut failures);
        }
    }
    failures
}

/// Runs every case of one case file against a fresh server; returns (cases, calls) on success and
/// panics with every failure otherwise.
async fn run_file(path: &Path) -> (usize, usize) {
    let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file: CaseFile = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let pool = DescriptorPool::decode(micro_client::FILE_DESCRIPTOR_SET).expect("the SDK's descriptor set");
    let server = Running::start().await;
    let mut report = Vec::new();
    let mut calls = 0;
    for case in &file.cases {
        let mut builder = Micro::builder(server.address());
        if let Some(token) = &case.client.token {
            builder = builder.token(token);
        }
        if let Some(namespace) = &case.client.namespace {
            builder = builder.namespace(namespace);
        }
        let micro = builder.connect().await.unwrap_or_else(|e| panic!("{name}: connect: {e}"));
        for (index, call) in case.calls.iter().enumerate() {
            calls += 1;
            for failure in run_call(&micro, &pool, &file.service, call).await {
                report.push(format!("{name}: case {:?}, call {} ({}): {failure}", case.name, index + 1, call.method));
            }
        }
    }
    assert!(report.is_empty(), "{} conformance failure(s):\n{}", report.len(), report.join("\n"));
    println!("{name}: {} cases, {calls} calls passed (Rust SDK)", file.cases.len());
    (file.cases.len(), calls)
}

fn case_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/conformance")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_case_passes_through_the_rust_sdk() {
    let files = case_files();
    assert!(files.len() >= 2, "no case files in tests/conformance");
    let (mut cases, mut calls) = (0, 0);
    for file in &files {
        let (c, n) = run_file(file).await;
        cases += c;
        calls += n;
    }
    println!("conformance (Rust SDK): {} files, {cases} cases, {calls} calls passed", files.len());
    assert!(cases >= 54, "only {cases} cases");
}
