//! `debug.Debug`: health, statistics, recent log records and trace spans of this server.
//!
//! Every call the server receives, whatever its service, passes through the [`RecordLayer`]
//! (the outermost layer), which keeps the last [`CAPACITY`] calls as one log record and one
//! trace span each, in memory only:
//!
//! - `Health` → `{status: "ok"}`.
//! - `Stats` → `timestamp` (now) and `started` in unix seconds, `uptime` in seconds, `requests`
//!   (calls received, this one included) and `errors` (calls answered with a non-OK status in
//!   their response headers, which covers every handler error), `memory` (resident set size in
//!   bytes) and `threads` from `/proc/self/status` on Linux (0 elsewhere), `gc` 0 (no garbage
//!   collector).
//! - `Log` → the records of the calls that completed before this one, oldest first: those with
//!   a `timestamp` (unix seconds) greater than `since` (when `since` > 0), then the last `count`
//!   of them (when `count` > 0). A record's `message` is `<service>.<Handler>.<Method> <CODE>`
//!   (e.g. `store.Store.Read NOT_FOUND`, the canonical gRPC code name) and its `metadata` holds
//!   `level` (`info`, or `error` for a failed call), `service` (the micro service name, e.g.
//!   `store`), `endpoint` (`Handler.Method`, e.g. `Store.Read`), `code` (as in the message),
//!   `trace` (the id of the call's span's trace) and `duration` (nanoseconds, decimal).
//! - `Trace` → the spans of the calls that completed before this one, oldest first; with `id`
//!   only those of that trace. A span is `INBOUND`, named `<service>.<Handler>.<Method>` (as
//!   Micro's trace wrapper names it), `started` in unix nanoseconds, `duration` in nanoseconds
//!   up to the response headers (for a streaming call: until the stream was opened), `id` a
//!   fresh UUID, and `metadata` `{code: <CODE>}`. A call that carries `micro-trace-id`
//!   metadata joins that trace (and `micro-span-id` becomes its span's `parent`), as Micro's
//!   trace headers do; otherwise the span starts a new trace whose id is a fresh UUID.
//!
//! Differences from Micro: Micro's `Log` returns the service's own logger output (whatever the
//! code logged), here the server logs one record per call; Micro's debug handler is reached as
//! `/<service>.Debug/<Method>` per service, here one `debug.Debug` reports the whole server.

use std::{
    collections::{HashMap, VecDeque},
    convert::Infallible,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use http::{HeaderMap, Request as HttpRequest, Response as HttpResponse};
use tonic::{Code, Request, Response, Status, body::Body};
use tower::{Layer, Service};

use crate::{
    middleware::Stats,
    pb::debug::{
        HealthRequest, HealthResponse, LogRequest, LogResponse, Record, Span, SpanType, StatsRequest, StatsResponse,
        TraceRequest, TraceResponse, debug_server::Debug,
    },
    shared::BoxFuture,
    shared::unix_now,
};

/// How many calls the server remembers for `Log` and `Trace`.
pub(crate) const CAPACITY: usize = 1024;

/// Metadata key of the trace a call belongs to (Micro's `Micro-Trace-Id`).
const TRACE_ID: &str = "micro-trace-id";
/// Metadata key of the caller's span (Micro's `Micro-Span-Id`), the parent of the call's span.
const SPAN_ID: &str = "micro-span-id";

/// A fresh random (version 4) UUID in its 36-character text form.
pub(crate) fn uuid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: still unique within this process.
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        bytes[..8].copy_from_slice(&u64::try_from(nanos & u128::from(u64::MAX)).unwrap_or_default().to_be_bytes());
        bytes[8..].copy_from_slice(&count.to_be_bytes());
    }
    uuid_text(bytes)
}

/// The id numbered `n`, in version 4 UUID text form, for the span (and new trace) of a recorded
/// call: the same `n` always gives the same id within the process, different numbers different
/// ids, and the ids are unpredictable from run to run (a random per-process key mixed with `n`
/// by splitmix64). Unlike [`uuid`] it makes no system call, since the recorder runs on every
/// call. Not for secrets.
fn id_of(n: u64) -> String {
    static KEY: std::sync::OnceLock<[u64; 2]> = std::sync::OnceLock::new();
    fn splitmix64(x: u64) -> u64 {
        let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let key = KEY.get_or_init(|| {
        let mut key = [0u8; 16];
        if getrandom::fill(&mut key).is_err() {
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
            key = nanos.to_le_bytes();
        }
        let (a, b) = key.split_at(8);
        [u64::from_le_bytes(a.try_into().unwrap_or_default()), u64::from_le_bytes(b.try_into().unwrap_or_default())]
    });
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&splitmix64(n ^ key[0]).to_be_bytes());
    bytes[8..].copy_from_slice(&splitmix64(n.wrapping_add(key[1])).to_be_bytes());
    uuid_text(bytes)
}

/// `bytes` as a version 4 UUID's 36-character text (the version and variant bits are set).
fn uuid_text(mut bytes: [u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut text = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(HEX[usize::from(b >> 4)]));
        text.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    text
}

/// The canonical name of a gRPC status code (`NOT_FOUND`, …).
pub(crate) fn code_name(code: Code) -> &'static str {
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

/// What the recorder keeps of one finished call; its log record and span are made from it only
/// when `Log` or `Trace` asks (the recorder runs on every call, so it stays cheap).
#[derive(Debug)]
struct Call {
    /// The gRPC path, `/store.Store/Read`.
    path: String,
    /// The `micro-trace-id` the call carried, if any.
    trace: Option<String>,
    /// The `micro-span-id` the call carried, if any.
    parent: Option<String>,
    started: SystemTime,
    elapsed: std::time::Duration,
    code: Code,
    /// The call's number, set by [`Recorder::record`]; its span id (and its trace id when it
    /// carried none) derive from it.
    number: u64,
}

impl Call {
    /// The call's log record and span, as described in the [module documentation](self).
    fn to_record_and_span(&self) -> (Record, Span) {
        let (service, endpoint) = split_path(&self.path);
        let name = format!("{service}.{endpoint}");
        let code = code_name(self.code);
        let trace = self.trace.clone().unwrap_or_else(|| id_of(self.number.wrapping_mul(2)));
        let since_epoch = self.started.duration_since(UNIX_EPOCH).unwrap_or_default();
        let duration = u64::try_from(self.elapsed.as_nanos()).unwrap_or(u64::MAX);
        let level = if code == "OK" { "info" } else { "error" };
        let record = Record {
            timestamp: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
            metadata: HashMap::from([
                ("level".to_owned(), level.to_owned()),
                ("service".to_owned(), service.to_owned()),
                ("endpoint".to_owned(), endpoint.clone()),
                ("code".to_owned(), code.to_owned()),
                ("trace".to_owned(), trace.clone()),
                ("duration".to_owned(), duration.to_string()),
            ]),
            message: format!("{name} {code}"),
        };
        let span = Span {
            trace,
            id: id_of(self.number.wrapping_mul(2).wrapping_add(1)),
            parent: self.parent.clone().unwrap_or_default(),
            name,
            started: u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX),
            duration,
            metadata: HashMap::from([("code".to_owned(), code.to_owned())]),
            r#type: SpanType::Inbound as i32,
        };
        (record, span)
    }
}

/// The last [`CAPACITY`] calls.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    calls: Mutex<VecDeque<Call>>,
    /// Calls recorded so far.
    count: AtomicU64,
}

impl Recorder {
    /// An empty recorder.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, VecDeque<Call>> {
        self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The log records and spans of the calls kept, oldest first.
    fn records_and_spans(&self) -> Vec<(Record, Span)> {
        self.calls().iter().map(Call::to_record_and_span).collect()
    }

    /// Records one finished call, numbering it (its `number` is overwritten).
    fn record(&self, mut call: Call) {
        call.number = self.count.fetch_add(1, Ordering::Relaxed);
        let evicted = {
            let mut calls = self.calls();
            let evicted = if calls.len() == CAPACITY { calls.pop_front() } else { None };
            calls.push_back(call);
            evicted
        };
        // Freed outside the lock.
        drop(evicted);
    }
}

/// `/store.Store/Read` → (`store`, `Store.Read`): the micro service name (every dot segment of
/// the first path part but the last, as Micro's `ServiceFromMethod`) and the endpoint.
fn split_path(path: &str) -> (&str, String) {
    let path = path.trim_start_matches('/');
    let (qualified, method) = path.split_once('/').unwrap_or((path, ""));
    match qualified.rsplit_once('.') {
        Some((service, handler)) => (service, format!("{handler}.{method}")),
        None => (qualified, format!("{qualified}.{method}")),
    }
}

/// The tower layer that records every call into a [`Recorder`].
#[derive(Debug, Clone)]
pub(crate) struct RecordLayer {
    recorder: Arc<Recorder>,
}

impl RecordLayer {
    /// A layer recording into `recorder`.
    pub(crate) fn new(recorder: Arc<Recorder>) -> Self {
        Self { recorder }
    }
}

impl<S> Layer<S> for RecordLayer {
    type Service = RecordService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RecordService { inner, recorder: self.recorder.clone() }
    }
}

/// The service made by [`RecordLayer`].
#[derive(Debug, Clone)]
pub(crate) struct RecordService<S> {
    inner: S,
    recorder: Arc<Recorder>,
}

/// A header's value as text, if present, visible ASCII and not empty.
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()).map(str::to_owned)
}

impl<S> Service<HttpRequest<Body>> for RecordService<S>
where
    S: Service<HttpRequest<Body>, Response = HttpResponse<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = HttpResponse<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<HttpResponse<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: HttpRequest<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let recorder = self.recorder.clone();
        let path = req.uri().path().to_owned();
        let trace = header(req.headers(), TRACE_ID);
        let parent = header(req.headers(), SPAN_ID);
        let started = SystemTime::now();
        let at = Instant::now();
        Box::pin(async move {
            let response = inner.call(req).await?;
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i32>().ok())
                .map_or(Code::Ok, Code::from_i32);
            recorder.record(Call { path, trace, parent, started, elapsed: at.elapsed(), code, number: 0 });
            Ok(response)
        })
    }
}

/// The `debug.Debug` service.
#[derive(Debug, Clone)]
pub(crate) struct DebugService {
    stats: Arc<Stats>,
    recorder: Arc<Recorder>,
}

impl DebugService {
    /// A debug service reporting `stats` and the calls in `recorder`.
    pub(crate) fn new(stats: Arc<Stats>, recorder: Arc<Recorder>) -> Self {
        Self { stats, recorder }
    }
}

/// `(resident bytes, threads)` of this process from `/proc/self/status`, zeros if unknown.
fn process_status() -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (0, 0);
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:") * 1024, field("Threads:"))
}

#[tonic::async_trait]
impl Debug for DebugService {
    async fn log(&self, request: Request<LogRequest>) -> Result<Response<LogResponse>, Status> {
        let LogRequest { count, since } = request.into_inner();
        let mut records: Vec<Record> = self
            .recorder
            .records_and_spans()
            .into_iter()
            .filter(|(record, _)| since <= 0 || record.timestamp > since)
            .map(|(record, _)| record)
            .collect();
        if let Ok(count) = usize::try_from(count) {
            if count > 0 && records.len() > count {
                records.drain(..records.len() - count);
            }
        }
        Ok(Response::new(LogResponse { records }))
    }

    async fn health(&self, _request: Request<HealthRequest>) -> Result<Response<HealthResponse>, Status> {
        Ok(Response::new(HealthResponse { status: "ok".to_owned() }))
    }

    async fn stats(&self, _request: Request<StatsRequest>) -> Result<Response<StatsResponse>, Status> {
        let (memory, threads) = process_status();
        Ok(Response::new(StatsResponse {
            timestamp: unix_now(),
            started: self.stats.started,
            uptime: self.stats.started_at.elapsed().as_secs(),
            memory,
            threads,
            gc: 0,
            requests: self.stats.requests.load(Ordering::Relaxed),
            errors: self.stats.errors.load(Ordering::Relaxed),
        }))
    }

    async fn trace(&self, request: Request<TraceRequest>) -> Result<Response<TraceResponse>, Status> {
        let id = request.into_inner().id;
        let spans = self
            .recorder
            .records_and_spans()
            .into_iter()
            .filter(|(_, span)| id.is_empty() || span.trace == id)
            .map(|(_, span)| span)
            .collect();
        Ok(Response::new(TraceResponse { spans }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_grpc_paths_like_micro() {
        assert_eq!(split_path("/store.Store/Read"), ("store", "Store.Read".to_owned()));
        assert_eq!(split_path("/a.b.Foo/Bar"), ("a.b", "Foo.Bar".to_owned()));
        assert_eq!(split_path("/Foo/Bar"), ("Foo", "Foo.Bar".to_owned()));
    }

    #[test]
    fn uuids_are_version_4_text() {
        let uuid_shape =
            regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$").unwrap();
        let a = uuid();
        assert!(uuid_shape.is_match(&a), "{a}");
        assert_ne!(a, uuid());
        let b = id_of(7);
        assert!(uuid_shape.is_match(&b), "{b}");
        assert_eq!(b, id_of(7));
        let ids: std::collections::HashSet<String> = (0..10_000).map(id_of).collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn keeps_the_last_calls_only() {
        let recorder = Recorder::new();
        for i in 0..CAPACITY + 5 {
            let path = format!("/s.H/M{i}");
            recorder.record(Call {
                path,
                trace: None,
                parent: None,
                started: SystemTime::now(),
                elapsed: std::time::Duration::ZERO,
                code: Code::Ok,
                number: 0,
            });
        }
        let calls = recorder.records_and_spans();
        assert_eq!(calls.len(), CAPACITY);
        assert_eq!(calls[0].1.name, "s.H.M5");
        assert_eq!(calls[0].0.message, "s.H.M5 OK");
        // Built on demand, a call's ids are the same every time, and its new trace is its own.
        let again = recorder.records_and_spans();
        assert_eq!(calls[0].1.id, again[0].1.id);
        assert_eq!(calls[0].1.trace, again[0].1.trace);
        assert_eq!(calls[0].0.metadata["trace"], calls[0].1.trace);
        assert_ne!(calls[0].1.trace, calls[1].1.trace);
        assert_ne!(calls[0].1.id, calls[0].1.trace);
    }
}
