//! `micro.kitchen.v1.KitchenSink`: the kitchen-sink conformance service of
//! `tests/protos/kitchen/micro/kitchen/v1/kitchen.proto`, built as the proto's comments say.
//!
//! - `Echo` answers `{payload, index: 0}`; `EchoStream` sends `behavior.repeat` answers (0 sends
//!   one) with `index` 0, 1, …; `Collect` answers once, after the client half-closes, with every
//!   payload in order and their count; `Chat` answers each request as it arrives, `index`
//!   counting from 0, and ends when the client half-closes; `Ping` returns `Empty`.
//! - `behavior.sleep_ms` is slept before the answer (`Echo`, `Collect`) or before each answer
//!   (`EchoStream`, `Chat`: each request's own behavior).
//! - `behavior.fail` answers with that status instead ([`failure_status`]): `Echo` and
//!   `Collect` after the sleep, `EchoStream` after `fail_after` answers (0: at once,
//!   trailers-only), `Chat` in place of the failing request's answer.
//! - Request metadata `x-kitchen-<rest>` comes back as the response header
//!   `x-kitchen-echo-<rest>` and the trailer `x-kitchen-trailer-<rest>`, or both in the one
//!   block of a trailers-only answer ([`MetadataEcho`]).
//! - Sleeps end early: the call's deadline (`grpc-timeout`) answers `DEADLINE_EXCEEDED`
//!   (for unary and client-streaming calls the middleware does it), a client that goes away
//!   stops the stream, and server shutdown answers `UNAVAILABLE` (Micro error 503).

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use http::{HeaderMap, HeaderName, HeaderValue};
use http_body::Frame;
use micro_kitchen::pb::micro::kitchen::v1::{
    Behavior, CollectResponse, EchoRequest, EchoResponse, Failure,
    kitchen_sink_server::{KitchenSink, KitchenSinkServer},
};
use prost::Message as _;
use tokio::{sync::mpsc, time::Instant};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status, Streaming, body::Body, codegen::Bytes, server::NamedService};
use tower::Service;

use crate::{
    error::{ERROR_TYPE_URL, MicroError, status_text},
    shared::{BoxFuture, Shared},
};

/// Prefix of the request metadata that is echoed.
const ECHO_PREFIX: &str = "x-kitchen-";
/// How much earlier than a stream's deadline the server ends it with `DEADLINE_EXCEEDED`, so the
/// client sees the server's status rather than its own cancellation.
const DEADLINE_MARGIN: Duration = Duration::from_millis(5);
/// Responses a stream buffers before waiting for the client to read.
const STREAM_BUFFER: usize = 4;

/// The service as the server adds it: the generated server with the message size limits of
/// `shared`, wrapped in the metadata echo.
pub(crate) fn service(shared: &Shared) -> MetadataEcho<KitchenSinkServer<KitchenService>> {
    let server = KitchenSinkServer::new(KitchenService::new(shared))
        .max_decoding_message_size(shared.max_message_size)
        .max_encoding_message_size(shared.max_message_size);
    MetadataEcho { inner: server }
}

/// The `KitchenSink` handlers; stateless apart from the shared shutdown signal.
#[derive(Debug, Clone)]
pub(crate) struct KitchenService {
    shared: Shared,
}

impl KitchenService {
    /// The service of one server.
    pub(crate) fn new(shared: &Shared) -> Self {
        Self { shared: shared.clone() }
    }

    /// Sleeps `ms` milliseconds unless the server shuts down first (then `UNAVAILABLE`). Used
    /// before unary answers, whose deadline the middleware enforces.
    async fn sleep(&self, ms: u32) -> Result<(), Status> {
        if ms == 0 {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ms.into())) => Ok(()),
            () = self.shared.shutdown.cancelled() => Err(Shared::shutting_down()),
        }
    }
}

/// The Micro error id of a method: `micro.kitchen.v1.KitchenSink.<method>`.
fn error_id(method: &str) -> String {
    format!("micro.kitchen.v1.KitchenSink.{method}")
}

/// `google.rpc.Status`, encoded into `grpc-status-details-bin` (as [`crate::error`] does, but
/// with the gRPC code the caller chose rather than the one mapped from the Micro code).
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    /// The gRPC status code.
    #[prost(int32, tag = "1")]
    code: i32,
    /// The status message.
    #[prost(string, tag = "2")]
    message: String,
    /// The `errors.Error` detail.
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

/// The status a [`Failure`] asks for: its gRPC `code` and `message`, or, when `micro_code` is
/// set, the Micro error `{id, code: micro_code, detail, status}` as JSON message and
/// `errors.Error` status detail (spec B3) under that gRPC code. A `code` outside 1..=16 is
/// INVALID_ARGUMENT, Micro error 400 `micro.kitchen.v1.KitchenSink.<method>`.
fn failure_status(failure: &Failure, method: &str) -> Status {
    if !(1..=16).contains(&failure.code) {
        let detail = format!("fail.code {} is not a gRPC error code (1 to 16)", failure.code);
        return MicroError::bad_request(error_id(method), detail).into();
    }
    let code = Code::from(failure.code);
    if failure.micro_code == 0 {
        return Status::new(code, failure.message.clone());
    }
    let status = match failure.status.as_str() {
        "" => status_text(failure.micro_code).to_owned(),
        text => text.to_owned(),
    };
    let err = MicroError { id: failure.id.clone(), code: failure.micro_code, detail: failure.detail.clone(), status };
    let message = err.to_json();
    let details = RpcStatus {
        code: failure.code,
        message: message.clone(),
        details: vec![prost_types::Any { type_url: ERROR_TYPE_URL.to_owned(), value: err.to_proto().encode_to_vec() }],
    };
    Status::with_details(code, message, details.encode_to_vec().into())
}

/// Where a stream ends early: the instant of its deadline, less [`DEADLINE_MARGIN`], from the
/// request's `grpc-timeout`; `None` without one.
fn stream_deadline<T>(request: &Request<T>) -> Option<Instant> {
    let value = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let timeout = parse_grpc_timeout(value)?;
    Some(Instant::now() + timeout.saturating_sub(DEADLINE_MARGIN))
}

/// Parses a `grpc-timeout` value: up to 8 digits and a unit (`H`, `M`, `S`, `m`, `u`, `n`).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 || !value.is_ascii() {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// The sending end of a response stream, with what ends it early.
struct Outlet {
    tx: mpsc::Sender<Result<EchoResponse, Status>>,
    shared: Shared,
    deadline: Option<Instant>,
}

/// Why a stream stops early: `Some(status)` to send as its end, `None` when the client is gone.
type Stop = Option<Status>;

impl Outlet {
    /// Runs `work` unless the client goes away, the server shuts down or the deadline passes.
    async fn guard<T>(&self, work: impl Future<Output = T>) -> Result<T, Stop> {
        let deadline = async {
            match self.deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = self.tx.closed() => Err(None),
            () = self.shared.shutdown.cancelled() => Err(Some(Shared::shutting_down())),
            () = deadline => Err(Some(Status::deadline_exceeded("deadline exceeded"))),
            value = work => Ok(value),
        }
    }

    /// Sleeps `ms` milliseconds, guarded.
    async fn sleep(&self, ms: u32) -> Result<(), Stop> {
        self.guard(tokio::time::sleep(Duration::from_millis(ms.into()))).await
    }

    /// Sends one response; `Err(None)` when the client is gone.
    async fn send(&self, item: Result<EchoResponse, Status>) -> Result<(), Stop> {
        match self.guard(self.tx.send(item)).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(None),
        }
    }

    /// Ends the stream after an early stop: sends the status, if any (the client may be gone).
    async fn finish(self, result: Result<(), Stop>) {
        if let Err(Some(status)) = result {
            let _ = self.tx.send(Err(status)).await;
        }
    }
}

/// Starts a response stream: `run` feeds the [`Outlet`] on a task of its own.
fn spawn_stream<F, Fut>(
    shared: &Shared,
    deadline: Option<Instant>,
    run: F,
) -> ReceiverStream<Result<EchoResponse, Status>>
where
    F: FnOnce(Outlet) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    tokio::spawn(run(Outlet { tx, shared: shared.clone(), deadline }));
    ReceiverStream::new(rx)
}

#[tonic::async_trait]
impl KitchenSink for KitchenService {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        let EchoRequest { payload, behavior } = request.into_inner();
        let behavior = behavior.unwrap_or_default();
        self.sleep(behavior.sleep_ms).await?;
        if let Some(failure) = &behavior.fail {
            return Err(failure_status(failure, "Echo"));
        }
        Ok(Response::new(EchoResponse { payload, index: 0 }))
    }

    type EchoStreamStream = ReceiverStream<Result<EchoResponse, Status>>;

    async fn echo_stream(&self, request: Request<EchoRequest>) -> Result<Response<Self::EchoStreamStream>, Status> {
        let deadline = stream_deadline(&request);
        let EchoRequest { payload, behavior } = request.into_inner();
        let Behavior { fail, fail_after, sleep_ms, repeat } = behavior.unwrap_or_default();
        let repeat = repeat.max(1);
        let count = match &fail {
            Some(failure) if fail_after == 0 => return Err(failure_status(failure, "EchoStream")),
            Some(_) => fail_after.min(repeat),
            None => repeat,
        };
        let stream = spawn_stream(&self.shared, deadline, move |out| async move {
            let result = async {
                for index in 0..count {
                    out.sleep(sleep_ms).await?;
                    out.send(Ok(EchoResponse { payload: payload.clone(), index })).await?;
                }
                match &fail {
                    Some(failure) => Err(Some(failure_status(failure, "EchoStream"))),
                    None => Ok(()),
                }
            }
            .await;
            out.finish(result).await;
        });
        Ok(Response::new(stream))
    }

    async fn collect(&self, request: Request<Streaming<EchoRequest>>) -> Result<Response<CollectResponse>, Status> {
        let mut incoming = request.into_inner();
        let mut behavior = None;
        let mut payloads = Vec::new();
        loop {
            let next = tokio::select! {
                next = incoming.message() => next?,
                () = self.shared.shutdown.cancelled() => return Err(Shared::shutting_down()),
            };
            let Some(EchoRequest { payload, behavior: own }) = next else { break };
            if behavior.is_none() {
                behavior = Some(own.unwrap_or_default());
            }
            payloads.push(payload.unwrap_or_default());
        }
        let behavior = behavior.unwrap_or_default();
        self.sleep(behavior.sleep_ms).await?;
        if let Some(failure) = &behavior.fail {
            return Err(failure_status(failure, "Collect"));
        }
        let count = u32::try_from(payloads.len()).unwrap_or(u32::MAX);
        Ok(Response::new(CollectResponse { payloads, count }))
    }

    type ChatStream = ReceiverStream<Result<EchoResponse, Status>>;

    async fn chat(&self, request: Request<Streaming<EchoRequest>>) -> Result<Response<Self::ChatStream>, Status> {
        let deadline = stream_deadline(&request);
        let mut incoming = request.into_inner();
        let stream = spawn_stream(&self.shared, deadline, move |out| async move {
            let result = async {
                let mut index = 0;
                while let Some(EchoRequest { payload, behavior }) = out.guard(incoming.message()).await?? {
                    let behavior = behavior.unwrap_or_default();
                    out.sleep(behavior.sleep_ms).await?;
                    if let Some(failure) = &behavior.fail {
                        return Err(Some(failure_status(failure, "Chat")));
                    }
                    out.send(Ok(EchoResponse { payload, index })).await?;
                    index += 1;
                }
                Ok(())
            }
            .await;
            out.finish(result).await;
        });
        Ok(Response::new(stream))
    }

    async fn ping(&self, _request: Request<()>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
}

/// Wraps a gRPC service so that request metadata `x-kitchen-<rest>` comes back as the response
/// header `x-kitchen-echo-<rest>` and the trailer `x-kitchen-trailer-<rest>` (every value, in
/// order); a trailers-only answer (a status in the response headers) gets both in its headers.
#[derive(Debug, Clone)]
pub(crate) struct MetadataEcho<S> {
    inner: S,
}

impl<S: NamedService> NamedService for MetadataEcho<S> {
    const NAME: &'static str = S::NAME;
}

/// Metadata entries, in order.
type Entries = Vec<(HeaderName, HeaderValue)>;

/// The echoed metadata of a request: (header entries, trailer entries).
fn echoed(headers: &HeaderMap) -> (Entries, Entries) {
    let mut echo = Vec::new();
    let mut trailers = Vec::new();
    for (name, value) in headers {
        let Some(rest) = name.as_str().strip_prefix(ECHO_PREFIX) else { continue };
        let echo_name = HeaderName::from_bytes(format!("{ECHO_PREFIX}echo-{rest}").as_bytes());
        let trailer_name = HeaderName::from_bytes(format!("{ECHO_PREFIX}trailer-{rest}").as_bytes());
        if let (Ok(echo_name), Ok(trailer_name)) = (echo_name, trailer_name) {
            echo.push((echo_name, value.clone()));
            trailers.push((trailer_name, value.clone()));
        }
    }
    (echo, trailers)
}

impl<S> Service<http::Request<Body>> for MetadataEcho<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone is the one that was not polled ready; keep the ready one for this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (echo, trailers) = echoed(request.headers());
        Box::pin(async move {
            let mut response = inner.call(request).await?;
            if echo.is_empty() {
                return Ok(response);
            }
            let trailers_only = response.headers().contains_key("grpc-status");
            let headers = response.headers_mut();
            for (name, value) in echo {
                headers.append(name, value);
            }
            if trailers_only {
                for (name, value) in trailers {
                    headers.append(name, value);
                }
                return Ok(response);
            }
            Ok(response.map(|body| Body::new(WithTrailers { inner: body, extra: Some(trailers) })))
        })
    }
}

/// A response body whose trailers get extra entries.
struct WithTrailers {
    inner: Body,
    extra: Option<Entries>,
}

impl http_body::Body for WithTrailers {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            other => return Poll::Ready(other),
        };
        match frame.into_trailers() {
            Ok(mut trailers) => {
                for (name, value) in this.extra.take().unwrap_or_default() {
                    trailers.append(name, value);
                }
                Poll::Ready(Some(Ok(Frame::trailers(trailers))))
            }
            Err(frame) => Poll::Ready(Some(Ok(frame))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grpc_timeouts() {
        assert_eq!(parse_grpc_timeout("200m"), Some(Duration::from_millis(200)));
        assert_eq!(parse_grpc_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("5x"), None);
        assert_eq!(parse_grpc_timeout("m"), None);
    }

    #[test]
    fn failures_without_micro_code_are_plain_statuses() {
        let failure = Failure { code: 5, message: "gone".into(), ..Failure::default() };
        let status = failure_status(&failure, "Echo");
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "gone");
        assert!(status.details().is_empty());
        assert_eq!(MicroError::from_status(&status), None);
    }

    #[test]
    fn failures_with_micro_code_carry_the_micro_error_under_the_chosen_code() {
        let failure = Failure {
            code: 9,
            message: "ignored".into(),
            id: "kitchen.test".into(),
            micro_code: 404,
            detail: "no such thing".into(),
            status: String::new(),
        };
        let status = failure_status(&failure, "Echo");
        assert_eq!(status.code(), Code::FailedPrecondition);
        let expected = MicroError::not_found("kitchen.test", "no such thing");
        assert_eq!(status.message(), expected.to_json());
        assert_eq!(MicroError::from_status(&status), Some(expected));
        let rpc = RpcStatus::decode(status.details()).expect("google.rpc.Status");
        assert_eq!(rpc.code, 9);
    }

    #[test]
    fn bad_failure_codes_are_invalid_argument() {
        for code in [0, 17, -1] {
            let status = failure_status(&Failure { code, ..Failure::default() }, "Chat");
            assert_eq!(status.code(), Code::InvalidArgument, "code {code}");
            let err = MicroError::from_status(&status).expect("micro error");
            assert_eq!((err.id.as_str(), err.code), ("micro.kitchen.v1.KitchenSink.Chat", 400));
        }
    }

    #[test]
    fn echoes_only_kitchen_metadata() {
        let mut headers = HeaderMap::new();
        headers.append("x-kitchen-a", HeaderValue::from_static("1"));
        headers.append("x-kitchen-a", HeaderValue::from_static("2"));
        headers.append("x-micro-b", HeaderValue::from_static("3"));
        let (echo, trailers) = echoed(&headers);
        let names = |v: &[(HeaderName, HeaderValue)]| {
            v.iter().map(|(n, v)| format!("{n}={}", v.to_str().unwrap_or_default())).collect::<Vec<_>>()
        };
        assert_eq!(names(&echo), ["x-kitchen-echo-a=1", "x-kitchen-echo-a=2"]);
        assert_eq!(names(&trailers), ["x-kitchen-trailer-a=1", "x-kitchen-trailer-a=2"]);
    }
}
