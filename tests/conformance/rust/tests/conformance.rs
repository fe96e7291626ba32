//! Runs every conformance case (`tests/conformance/*.json`, format and extensions in
//! `tests/conformance/README.md`) through a generated Rust SDK: core files through
//! `micro_client::Micro` (`sdks/rust`), `"sdk": "kitchen"` files through `micro_kitchen::Micro`
//! (`tests/protos/kitchen/rust`). Each call goes through the SDK's typed client method
//! (`micro.store().read(...)`, all four streaming kinds), with the case's client options (token,
//! namespace) on the builder and the call's deadline and metadata on its `tonic::Request`;
//! `cancelAfterMs` and `take` cancel the way a Rust caller does, by dropping the call's future
//! or stream. One reference server (in process, test hooks on, the file's `server.args`) per case
//! file; files run concurrently, the cases of a file in order.
//!
//! Requests are built from the case's proto3 JSON and responses turned back into proto3 JSON
//! through prost-reflect over the SDKs' own descriptor sets, so the typed messages are encoded
//! and decoded by the SDKs' prost code. The results go to `$CONFORMANCE_RESULTS/rust.json`
//! (README "Results and the matrix"); `MICRO_CONFORMANCE_CASES=<dir or file>` runs other case
//! files.

#[path = "../../../../server/tests/common/cases.rs"]
mod cases;
mod common;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use cases::{
    Call, Case, CaseFile, ClientOptions, ExpectError, FileReport, at_path, case_files, check_headers, code_name,
    empty_object, group_of, includes, print_reports, read_case_file, server_options, substitute, substitute_expect,
    substitute_str, text_of, write_results,
};
use common::Running;
use micro_client::tonic::{self, Code, Request, metadata::MetadataMap};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use serde_json::Value;
use tokio::time::Instant;

/// Longest a call may take when its case sets no `timeoutMs` (the SDK then sets no deadline), so
/// a broken server cannot hang the run.
const SAFETY_TIMEOUT: Duration = Duration::from_secs(30);

/// The SDKs' descriptor sets, merged: the core SDK's and the kitchen SDK's.
fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut pool =
            DescriptorPool::decode(micro_client::FILE_DESCRIPTOR_SET).expect("the core SDK's descriptor set");
        pool.decode_file_descriptor_set(micro_kitchen::FILE_DESCRIPTOR_SET).expect("the kitchen SDK's descriptor set");
        pool
    })
}

/// The repository root.
fn repo() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    repo.canonicalize().unwrap_or(repo)
}

/// A failed call, from either SDK's `Error`.
struct Failure {
    code: Code,
    id: String,
    micro_code: i32,
    status: String,
    detail: String,
    text: String,
}

/// What one call produced: the messages that arrived (proto3 JSON), the response headers and
/// trailers, and the error it ended with, if any.
struct Outcome {
    messages: Vec<Value>,
    headers: MetadataMap,
    error: Option<Failure>,
}

impl Outcome {
    fn cancelled(messages: Vec<Value>, headers: MetadataMap) -> Self {
        let failure = Failure {
            code: Code::Cancelled,
            id: String::new(),
            micro_code: 0,
            status: String::new(),
            detail: String::new(),
            text: "cancelled by the client (cancelAfterMs: the call's future was dropped)".into(),
        };
        Outcome { messages, headers, error: Some(failure) }
    }
}

/// Merges `more` into `headers`.
fn merge(headers: MetadataMap, more: &MetadataMap) -> MetadataMap {
    let mut combined = headers.into_headers();
    combined.extend(more.clone().into_headers());
    MetadataMap::from_headers(combined)
}

/// One call ready to go through a typed client method: the substituted requests, the call's
/// metadata and deadline, and how it ends early.
struct Prepared {
    input: MessageDescriptor,
    output: MessageDescriptor,
    requests: Vec<Value>,
    metadata: Vec<(String, String)>,
    timeout: Option<Duration>,
    take: Option<usize>,
    cancel_at: Option<Instant>,
}

impl Prepared {
    /// The typed requests.
    fn messages<Req: prost::Message + Default>(&self) -> Result<Vec<Req>, String> {
        self.requests
            .iter()
            .map(|json| {
                let dynamic = DynamicMessage::deserialize(self.input.clone(), json.clone())
                    .map_err(|e| format!("request is not a valid {}: {e}", self.input.full_name()))?;
                Req::decode(dynamic.encode_to_vec().as_slice()).map_err(|e| format!("request: {e}"))
            })
            .collect()
    }

    /// The single typed request of a unary or server-streaming call.
    fn message<Req: prost::Message + Default>(&self) -> Result<Req, String> {
        self.messages()?.pop().ok_or_else(|| "no request".to_owned())
    }

    /// `message` with the call's deadline and metadata.
    fn request<T>(&self, message: T) -> Result<Request<T>, String> {
        let mut request = Request::new(message);
        if let Some(timeout) = self.timeout {
            request.set_timeout(timeout);
        }
        for (key, value) in &self.metadata {
            let key = tonic::metadata::AsciiMetadataKey::from_bytes(key.as_bytes())
                .map_err(|_| format!("bad metadata key {key:?}"))?;
            let value = value.parse().map_err(|_| format!("bad metadata value {value:?}"))?;
            request.metadata_mut().insert(key, value);
        }
        Ok(request)
    }

    /// A typed response as proto3 JSON (json names, defaults omitted, 64-bit integers as strings).
    fn json<Resp: prost::Message>(&self, message: &Resp) -> Result<Value, String> {
        let dynamic = DynamicMessage::decode(self.output.clone(), message.encode_to_vec().as_slice())
            .map_err(|e| format!("response: {e}"))?;
        serde_json::to_value(&dynamic).map_err(|e| format!("response: {e}"))
    }
}

/// Awaits `future`, or gives `None` once the call's `cancelAfterMs` has passed (dropping the
/// future cancels the call).
async fn until<T>(cancel_at: Option<Instant>, future: impl Future<Output = T>) -> Option<T> {
    match cancel_at {
        Some(at) => tokio::time::timeout_at(at, future).await.ok(),
        None => Some(future.await),
    }
}

/// A call in flight: its outcome, or a problem of the runner.
type CallFuture = Pin<Box<dyn Future<Output = Result<Outcome, String>> + Send>>;

/// The four streaming kinds for one SDK crate (each has its own `Error` and `Streaming`).
macro_rules! kinds {
    ($module:ident, $sdk:ident) => {
        mod $module {
            use std::future::Future;

            use $sdk::tonic::{Request, Response, metadata::MetadataMap};
            use $sdk::{Error, Streaming};

            use super::{Failure, Outcome, Prepared, merge, until};

            /// The requests of a client-streaming or bidi call.
            pub(super) type Requests<T> = tokio_stream::Iter<std::vec::IntoIter<T>>;

            fn failure(err: &Error) -> Failure {
                Failure {
                    code: err.code(),
                    id: err.id().to_owned(),
                    micro_code: err.micro_code(),
                    status: err.status().to_owned(),
                    detail: err.detail().to_owned(),
                    text: err.to_string(),
                }
            }

            fn failed(messages: Vec<serde_json::Value>, headers: MetadataMap, err: &Error) -> Outcome {
                Outcome { messages, headers: merge(headers, err.metadata()), error: Some(failure(err)) }
            }

            async fn one<Resp, Fut>(call: &Prepared, future: Fut) -> Result<Outcome, String>
            where
                Resp: prost::Message,
                Fut: Future<Output = Result<Response<Resp>, Error>>,
            {
                Ok(match until(call.cancel_at, future).await {
                    None => Outcome::cancelled(Vec::new(), MetadataMap::new()),
                    Some(Ok(response)) => Outcome {
                        messages: vec![call.json(response.get_ref())?],
                        headers: response.metadata().clone(),
                        error: None,
                    },
                    Some(Err(err)) => failed(Vec::new(), MetadataMap::new(), &err),
                })
            }

            async fn many<Resp, Fut>(call: &Prepared, future: Fut) -> Result<Outcome, String>
            where
                Resp: prost::Message,
                Fut: Future<Output = Result<Response<Streaming<Resp>>, Error>>,
            {
                let response = match until(call.cancel_at, future).await {
                    None => return Ok(Outcome::cancelled(Vec::new(), MetadataMap::new())),
                    Some(Err(err)) => return Ok(failed(Vec::new(), MetadataMap::new(), &err)),
                    Some(Ok(response)) => response,
                };
                let mut headers = response.metadata().clone();
                let mut stream = response.into_inner();
                let mut messages = Vec::new();
                loop {
                    if call.take.is_some_and(|take| messages.len() >= take) {
                        // `take` reached: dropping the stream cancels the call.
                        return Ok(Outcome { messages, headers, error: None });
                    }
                    match until(call.cancel_at, stream.message()).await {
                        None => return Ok(Outcome::cancelled(messages, headers)),
                        Some(Ok(Some(message))) => messages.push(call.json(&message)?),
                        Some(Ok(None)) => break,
                        Some(Err(err)) => return Ok(failed(messages, headers, &err)),
                    }
                }
                match stream.trailers().await {
                    Ok(Some(trailers)) => headers = merge(headers, &trailers),
                    Ok(None) => {}
                    Err(err) => return Ok(failed(messages, headers, &err)),
                }
                Ok(Outcome { messages, headers, error: None })
            }

            pub(super) async fn unary<Req, Resp, F, Fut>(call: Prepared, method: F) -> Result<Outcome, String>
            where
                Req: prost::Message + Default,
                Resp: prost::Message,
                F: FnOnce(Request<Req>) -> Fut,
                Fut: Future<Output = Result<Response<Resp>, Error>>,
            {
                let request = call.request(call.message::<Req>()?)?;
                one(&call, method(request)).await
            }

            pub(super) async fn server_streaming<Req, Resp, F, Fut>(
                call: Prepared,
                method: F,
            ) -> Result<Outcome, String>
            where
                Req: prost::Message + Default,
                Resp: prost::Message,
                F: FnOnce(Request<Req>) -> Fut,
                Fut: Future<Output = Result<Response<Streaming<Resp>>, Error>>,
            {
                let request = call.request(call.message::<Req>()?)?;
                many(&call, method(request)).await
            }

            pub(super) async fn client_streaming<Req, Resp, F, Fut>(
                call: Prepared,
                method: F,
            ) -> Result<Outcome, String>
            where
                Req: prost::Message + Default,
                Resp: prost::Message,
                F: FnOnce(Request<Requests<Req>>) -> Fut,
                Fut: Future<Output = Result<Response<Resp>, Error>>,
            {
                let request = call.request(tokio_stream::iter(call.messages::<Req>()?))?;
                one(&call, method(request)).await
            }

            pub(super) async fn bidi<Req, Resp, F, Fut>(call: Prepared, method: F) -> Result<Outcome, String>
            where
                Req: prost::Message + Default,
                Resp: prost::Message,
                F: FnOnce(Request<Requests<Req>>) -> Fut,
                Fut: Future<Output = Result<Response<Streaming<Resp>>, Error>>,
            {
                let request = call.request(tokio_stream::iter(call.messages::<Req>()?))?;
                many(&call, method(request)).await
            }
        }
    };
}

kinds!(core_kinds, micro_client);
kinds!(kitchen_kinds, micro_kitchen);

/// The typed client method of every rpc: `"service" => accessor { "Method" => kind(method,
/// RequestType) }`. An rpc missing here fails its case with a message saying so.
macro_rules! dispatch {
    ($kinds:ident, $micro:expr, $call:expr, $service:expr, $method:expr;
     $($svc:literal => $accessor:ident { $($name:literal => $kind:ident($f:ident, $req:ty)),* $(,)? })*) => {
        match ($service, $method) {
            $($(($svc, $name) => {
                let micro = $micro.clone();
                let future: CallFuture = Box::pin($kinds::$kind::<$req, _, _, _>(
                    $call,
                    move |request| async move { micro.$accessor().$f(request).await },
                ));
                Ok(future)
            })*)*
            (service, method) => Err(format!(
                "the Rust runner has no dispatch for {service}/{method}: add it to tests/conformance/rust/tests/conformance.rs"
            )),
        }
    };
}

/// Every rpc of every core service, through `micro_client::Micro`.
fn core_call(micro: &micro_client::Micro, call: Prepared, service: &str, method: &str) -> Result<CallFuture, String> {
    use micro_client::pb::{
        api, auth, broker, client, config, debug, events, network, registry, router, runtime, store,
    };
    dispatch!(core_kinds, micro, call, service, method;
        "auth.Accounts" => accounts {
            "List" => unary(list, auth::ListAccountsRequest),
            "Delete" => unary(delete, auth::DeleteAccountRequest),
            "ChangeSecret" => unary(change_secret, auth::ChangeSecretRequest),
        }
        "api.Api" => api {
            "AddToBlockList" => unary(add_to_block_list, api::AddToBlockListRequest),
            "RemoveFromBlockList" => unary(remove_from_block_list, api::RemoveFromBlockListRequest),
            "ReadBlockList" => unary(read_block_list, api::ReadBlockListRequest),
        }
        "auth.Auth" => auth {
            "Generate" => unary(generate, auth::GenerateRequest),
            "Inspect" => unary(inspect, auth::InspectRequest),
            "Token" => unary(token, auth::TokenRequest),
        }
        "store.BlobStore" => blob_store {
            "Read" => server_streaming(read, store::BlobReadRequest),
            "Write" => client_streaming(write, store::BlobWriteRequest),
            "Delete" => unary(delete, store::BlobDeleteRequest),
            "List" => unary(list, store::BlobListRequest),
        }
        "broker.Broker" => broker {
            "Publish" => unary(publish, broker::PublishRequest),
            "Subscribe" => server_streaming(subscribe, broker::SubscribeRequest),
        }
        "runtime.Build" => build {
            "Read" => server_streaming(read, runtime::Service),
        }
        "client.Client" => client {
            "Call" => unary(call, client::Request),
            "Stream" => bidi(stream, client::Request),
            "Publish" => unary(publish, client::Message),
        }
        "config.Config" => config {
            "Get" => unary(get, config::GetRequest),
            "Set" => unary(set, config::SetRequest),
            "Delete" => unary(delete, config::DeleteRequest),
            "Read" => unary(read, config::ReadRequest),
        }
        "debug.Debug" => debug {
            "Log" => unary(log, debug::LogRequest),
            "Health" => unary(health, debug::HealthRequest),
            "Stats" => unary(stats, debug::StatsRequest),
            "Trace" => unary(trace, debug::TraceRequest),
        }
        "events.Store" => events_store {
            "Read" => unary(read, events::ReadRequest),
            "Write" => unary(write, events::WriteRequest),
        }
        "network.Network" => network {
            "Connect" => unary(connect, network::ConnectRequest),
            "Graph" => unary(graph, network::GraphRequest),
            "Nodes" => unary(nodes, network::NodesRequest),
            "Routes" => unary(routes, network::RoutesRequest),
            "Services" => unary(services, network::ServicesRequest),
            "Status" => unary(status, network::StatusRequest),
        }
        "registry.Registry" => registry {
            "GetService" => unary(get_service, registry::GetRequest),
            "Register" => unary(register, registry::Service),
            "Deregister" => unary(deregister, registry::Service),
            "ListServices" => unary(list_services, registry::ListRequest),
            "Watch" => server_streaming(watch, registry::WatchRequest),
        }
        "router.Router" => router {
            "Lookup" => unary(lookup, router::LookupRequest),
            "Watch" => server_streaming(watch, router::WatchRequest),
        }
        "auth.Rules" => rules {
            "Create" => unary(create, auth::CreateRequest),
            "Delete" => unary(delete, auth::DeleteRequest),
            "List" => unary(list, auth::ListRequest),
        }
        "runtime.Runtime" => runtime {
            "Create" => unary(create, runtime::CreateRequest),
            "Read" => unary(read, runtime::ReadRequest),
            "Delete" => unary(delete, runtime::DeleteRequest),
            "Update" => unary(update, runtime::UpdateRequest),
            "Logs" => server_streaming(logs, runtime::LogsRequest),
        }
        "runtime.Source" => source {
            "Upload" => client_streaming(upload, runtime::UploadRequest),
        }
        "store.Store" => store {
            "Read" => unary(read, store::ReadRequest),
            "Write" => unary(write, store::WriteRequest),
            "Delete" => unary(delete, store::DeleteRequest),
            "List" => server_streaming(list, store::ListRequest),
            "Databases" => unary(databases, store::DatabasesRequest),
            "Tables" => unary(tables, store::TablesRequest),
        }
        "events.Stream" => stream {
            "Publish" => unary(publish, events::PublishRequest),
            "Consume" => server_streaming(consume, events::ConsumeRequest),
        }
        "router.Table" => table {
            "Create" => unary(create, router::Route),
            "Delete" => unary(delete, router::Route),
            "Update" => unary(update, router::Route),
            "Read" => unary(read, router::ReadRequest),
        }

    )
}

/// Every rpc of the kitchen-sink service, through `micro_kitchen::Micro`.
fn kitchen_call(
    micro: &micro_kitchen::Micro,
    call: Prepared,
    service: &str,
    method: &str,
) -> Result<CallFuture, String> {
    use micro_kitchen::pb::micro::kitchen::v1 as kitchen;
    dispatch!(kitchen_kinds, micro, call, service, method;
        "micro.kitchen.v1.KitchenSink" => kitchen_sink {
            "Echo" => unary(echo, kitchen::EchoRequest),
            "EchoStream" => server_streaming(echo_stream, kitchen::EchoRequest),
            "Collect" => client_streaming(collect, kitchen::EchoRequest),
            "Chat" => bidi(chat, kitchen::EchoRequest),
            "Ping" => unary(ping, ()),
        }
    )
}

/// A client of the file's SDK, connected with a case's client options.
#[derive(Clone)]
enum Sdk {
    Core(micro_client::Micro),
    Kitchen(micro_kitchen::Micro),
}

impl Sdk {
    async fn connect(kitchen: bool, address: String, options: &ClientOptions) -> Result<Sdk, String> {
        macro_rules! connect {
            ($sdk:ident, $variant:ident) => {{
                let mut builder = $sdk::Micro::builder(address);
                if let Some(token) = &options.token {
                    builder = builder.token(token);
                }
                if let Some(namespace) = &options.namespace {
                    builder = builder.namespace(namespace);
                }
                builder.connect().await.map(Sdk::$variant).map_err(|err| format!("connect: {err}"))
            }};
        }
        if kitchen { connect!(micro_kitchen, Kitchen) } else { connect!(micro_client, Core) }
    }

    fn call(&self, call: Prepared, service: &str, method: &str) -> Result<CallFuture, String> {
        match self {
            Sdk::Core(micro) => core_call(micro, call, service, method),
            Sdk::Kitchen(micro) => kitchen_call(micro, call, service, method),
        }
    }
}

/// Substitutes and starts one call; the future's outcome, and whether the method streams
/// responses.
fn start(
    file: &CaseFile,
    sdk: &Sdk,
    call: &Call,
    saved: &HashMap<String, Value>,
) -> Result<(CallFuture, bool), String> {
    let service_name = call.service.as_deref().unwrap_or(&file.service);
    let service = pool().get_service_by_name(service_name).ok_or_else(|| format!("unknown service {service_name}"))?;
    let method = service
        .methods()
        .find(|m| m.name() == call.method)
        .ok_or_else(|| format!("unknown method {service_name}/{}", call.method))?;
    let requests = match (&call.request, &call.requests) {
        (_, Some(many)) => many.clone(),
        (Some(one), None) => vec![one.clone()],
        (None, None) => vec![empty_object()],
    };
    let requests = requests.iter().map(|request| substitute(request, saved)).collect::<Result<Vec<_>, _>>()?;
    let mut metadata = Vec::new();
    for (key, value) in &call.metadata {
        metadata.push((key.clone(), text_of(&substitute_str(value, saved)?)));
    }
    let timeout = call.timeout_ms.map(Duration::from_millis);
    let prepared = Prepared {
        input: method.input(),
        output: method.output(),
        requests,
        metadata,
        timeout,
        take: call.take,
        cancel_at: call.cancel_after_ms.map(|ms| Instant::now() + Duration::from_millis(ms)),
    };
    let future = sdk.call(prepared, service_name, &call.method)?;
    let limit = timeout.map_or(SAFETY_TIMEOUT, |timeout| SAFETY_TIMEOUT.max(timeout + Duration::from_secs(5)));
    let future: CallFuture = Box::pin(async move {
        tokio::time::timeout(limit, future).await.unwrap_or_else(|_| Err(format!("no outcome after {limit:?}")))
    });
    Ok((future, method.is_server_streaming()))
}

fn check_error(want: &ExpectError, got: &Failure, failures: &mut Vec<String>) {
    if code_name(got.code) != want.code {
        failures.push(format!("want error {}, got {} ({})", want.code, code_name(got.code), got.text));
    }
    let mut field = |name: &str, want: Option<String>, got: String| {
        if let Some(want) = want {
            if want != got {
                failures.push(format!("error {name}: want {want:?}, got {got:?}"));
            }
        }
    };
    field("id", want.id.clone(), got.id.clone());
    field("microCode", want.micro_code.map(|c| c.to_string()), got.micro_code.to_string());
    field("status", want.status.clone(), got.status.clone());
    field("detail", want.detail.clone(), got.detail.clone());
}

/// Checks a call's outcome against its expectation, then saves what the call asks to save.
fn check(call: &Call, streaming: bool, outcome: Outcome, saved: &mut HashMap<String, Value>) -> Vec<String> {
    let expect = match substitute_expect(&call.expect, saved) {
        Ok(expect) => expect,
        Err(err) => return vec![format!("expect: {err}")],
    };
    let expect = &expect;
    let mut failures = Vec::new();
    let got = outcome.messages;
    match (&outcome.error, &expect.error) {
        (None, Some(want)) => failures.push(format!("want error {}, got success", want.code)),
        (Some(err), None) => failures.push(format!("want success, got {} ({})", code_name(err.code), err.text)),
        (Some(err), Some(want)) => check_error(want, err, &mut failures),
        (None, None) => {}
    }
    let mismatch = |want: Value, failures: &mut Vec<String>| {
        failures.push(format!("response mismatch:\n    want {want}\n    got  {}", Value::from(got.clone())));
    };
    if let Some(want) = &expect.response {
        if outcome.error.is_none() && got != [want.clone()] {
            mismatch(want.clone(), &mut failures);
        }
    }
    if let Some(want) = &expect.response_includes {
        if outcome.error.is_none() && !(got.len() == 1 && includes(&got[0], want)) {
            mismatch(want.clone(), &mut failures);
        }
    }
    if let Some(want) = &expect.responses {
        if &got != want {
            mismatch(Value::from(want.clone()), &mut failures);
        }
    }
    if let Some(want) = &expect.responses_includes {
        if !(got.len() == want.len() && got.iter().zip(want).all(|(got, want)| includes(got, want))) {
            mismatch(Value::from(want.clone()), &mut failures);
        }
    }
    check_headers(expect, &outcome.headers, &mut failures);
    if failures.is_empty() && outcome.error.is_none() {
        let response = if streaming { Value::from(got) } else { got.into_iter().next().unwrap_or_default() };
        for (name, path) in &call.save {
            match at_path(&response, path) {
                Some(value) => {
                    saved.insert(name.clone(), value.clone());
                }
                None => failures.push(format!("save {name:?}: no value at {path:?} in {response}")),
            }
        }
    }
    failures
}

/// Runs one case; returns its failures.
async fn run_case(file: &CaseFile, case: &Case, address: &str, saved: &mut HashMap<String, Value>) -> Vec<String> {
    let client = substitute(&case.client, saved)
        .and_then(|client| serde_json::from_value::<ClientOptions>(client).map_err(|e| e.to_string()));
    let client = match client {
        Ok(client) => client,
        Err(err) => return vec![format!("client: {err}")],
    };
    let kitchen = file.sdk.as_deref() == Some("kitchen");
    let sdk = match Sdk::connect(kitchen, address.to_owned(), &client).await {
        Ok(sdk) => sdk,
        Err(err) => return vec![err],
    };
    let mut failures = Vec::new();
    let mut pending = Vec::new();
    for (index, call) in case.calls.iter().enumerate() {
        let label = format!("call {} ({})", index + 1, call.method);
        let (future, streaming) = match start(file, &sdk, call, saved) {
            Ok(started) => started,
            Err(err) => {
                failures.push(format!("{label}: {err}"));
                continue;
            }
        };
        if call.parallel {
            pending.push((label, call, streaming, tokio::spawn(future)));
            continue;
        }
        match future.await {
            Ok(outcome) => {
                failures.extend(check(call, streaming, outcome, saved).into_iter().map(|f| format!("{label}: {f}")))
            }
            Err(problem) => failures.push(format!("{label}: {problem}")),
        }
    }
    for (label, call, streaming, task) in pending {
        match task.await.expect("parallel call") {
            Ok(outcome) => {
                failures.extend(check(call, streaming, outcome, saved).into_iter().map(|f| format!("{label}: {f}")))
            }
            Err(problem) => failures.push(format!("{label}: {problem}")),
        }
    }
    failures
}

/// Runs every case of one case file against a fresh server.
async fn run_file(path: PathBuf) -> FileReport {
    let started = std::time::Instant::now();
    let group = group_of(&path);
    let file = match read_case_file(&path) {
        Ok(file) => file,
        Err(err) => return FileReport::broken(&group, err),
    };
    if let Some(sdk) = file.sdk.as_deref().filter(|sdk| !["core", "kitchen"].contains(sdk)) {
        return FileReport::broken(&group, format!("unknown sdk {sdk:?}"));
    }
    let options = match server_options(&file.server.args) {
        Ok(options) => options,
        Err(err) => return FileReport::broken(&group, err),
    };
    let server = Running::start_with(options).await;
    let mut report = FileReport { group: group.clone(), ..FileReport::default() };
    let mut saved = HashMap::new();
    for case in &file.cases {
        let failures = run_case(&file, case, &server.address(), &mut saved).await;
        report.calls += case.calls.len();
        if failures.is_empty() {
            report.passed += 1;
        } else {
            report.failed_cases.push(case.name.clone());
            report.details.extend(failures.into_iter().map(|f| format!("{group}: case {:?}, {f}", case.name)));
        }
    }
    report.elapsed = started.elapsed();
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_case_passes_through_the_rust_sdk() {
    let files = case_files(&repo().join("tests/conformance"));
    assert!(!files.is_empty(), "no case files");
    let _ = pool();
    let tasks: Vec<_> = files.into_iter().map(|path| tokio::spawn(run_file(path))).collect();
    let mut reports = Vec::new();
    for task in tasks {
        reports.push(task.await.expect("case file task"));
    }
    reports.sort_by(|a, b| a.group.cmp(&b.group));
    let results = write_results(&repo(), "rust", &reports);
    let details = print_reports("Rust SDK", &reports);
    if std::env::var_os("MICRO_CONFORMANCE_CASES").is_none() {
        // Issue 5 asks for at least 150 cases across every rpc: guard against files going missing.
        let cases: usize = reports.iter().map(|r| r.passed + r.failed_cases.len()).sum();
        assert!(cases >= 150, "only {cases} cases in tests/conformance");
    }
    println!("results: {}", results.display());
    assert!(details.is_empty(), "{} failure(s):\n{}", details.len(), details.join("\n"));
}

#[tokio::test]
async fn every_rpc_of_both_sdks_has_a_dispatch() {
    let core = micro_client::Micro::builder("127.0.0.1:1").connect_lazy().expect("core client");
    let kitchen = micro_kitchen::Micro::builder("127.0.0.1:1").connect_lazy().expect("kitchen client");
    let mut missing = Vec::new();
    let mut rpcs = 0;
    for service in pool().services() {
        for method in service.methods() {
            rpcs += 1;
            let prepared = Prepared {
                input: method.input(),
                output: method.output(),
                requests: Vec::new(),
                metadata: Vec::new(),
                timeout: None,
                take: None,
                cancel_at: None,
            };
            let (service, name) = (service.full_name(), method.name());
            // The future is never polled: this only checks the table.
            let dispatched = if service.starts_with("micro.kitchen.") {
                kitchen_call(&kitchen, prepared, service, name)
            } else {
                core_call(&core, prepared, service, name)
            };
            if dispatched.is_err() {
                missing.push(format!("{service}/{name}"));
            }
        }
    }
    assert!(missing.is_empty(), "no dispatch for {missing:?}");
    assert!(rpcs >= 68, "only {rpcs} rpcs in the SDKs' descriptor sets");
}
