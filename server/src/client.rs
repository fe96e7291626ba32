//! `client.Client`: calls, streams and publishes routed in-process to this server's services.
//!
//! Micro v3.19.0 registers no handler for `client.Client` (spec §4); this server gives the proto
//! the meaning its comments describe, as a generic proxy to its own services. Each call is made
//! again, over gRPC, to the server's own address (one lazily connected channel), so it passes
//! through the same middleware, auth and limits as a direct call:
//!
//! - `Call{service, endpoint: "Handler.Method", content_type, body}` calls
//!   `/<service>.<Handler>/<Method>` with `body` as the request message and returns the reply
//!   as `{body}`. `content_type` picks the encoding of both bodies: empty,
//!   `application/protobuf`, `application/proto`, `application/grpc`, `application/grpc+proto`
//!   or `application/octet-stream` mean protobuf (the bytes are forwarded as they are);
//!   `application/json` or `application/grpc+json` mean JSON as Micro's JSON codec writes it
//!   (proto field names, default values included), converted with the descriptors of the core
//!   protos and the kitchen-sink service (the services this server speaks).
//! - `Stream` does the same for a stream: the first request picks the service, endpoint and
//!   content type (later requests only contribute their `body`), every request's body is sent
//!   on one stream to the endpoint, the client's half-close is passed on, and every reply comes
//!   back as a `Response`. It works for unary, client-, server- and bidi-streaming endpoints
//!   (a unary or server-streaming endpoint answers once the caller has half-closed, since only
//!   then is its one request complete).
//!   The response headers are sent at once; every failure arrives as the stream's status.
//! - `Publish{topic, content_type, body}` publishes to the broker as Micro's client does —
//!   `broker.Broker/Publish` with `message.header` = `{Content-Type, Micro-Topic}` and the
//!   `body` — and returns the message it was given.
//! - The call's metadata is forwarded (`authorization`, `micro-namespace`, trace ids, test
//!   hooks other than `x-micro-test-delay-ms` and `x-micro-test-echo`), and so is its deadline.
//! - Errors: a missing `service` or `endpoint`, an `endpoint` that is not `Handler.Method`, an
//!   unknown `content_type`, a body that is not valid JSON for the method (JSON only) or a
//!   missing `topic` is 400 with id `client.Client.<Method>`; `Stream` without any request is
//!   400 `client.Client.Stream` / `no request was sent`. A failure of the routed call is
//!   returned as it is (an unknown service or method is `UNIMPLEMENTED`, a Micro error keeps
//!   its code, message and details), as a direct call would fail.

use std::{
    net::{Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use http::uri::PathAndQuery;
use prost::{
    Message as _,
    bytes::{Buf as _, BufMut as _, Bytes},
};
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{
    Request, Response, Status, Streaming,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    metadata::MetadataMap,
    transport::{Channel, Endpoint},
};

use crate::{
    error::MicroError,
    pb::{
        self,
        client::{Message, Request as ClientRequest, Response as ClientResponse, client_server::Client},
    },
    shared::Shared,
};

/// Metadata that is not forwarded: transport headers and the test hooks already applied.
const NOT_FORWARDED: [&str; 9] = [
    "content-type",
    "te",
    "user-agent",
    "grpc-timeout",
    "grpc-encoding",
    "grpc-accept-encoding",
    "host",
    "x-micro-test-delay-ms",
    "x-micro-test-echo",
];

/// A codec that passes message bytes through untouched (also the echo fallback's, `echo.rs`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The descriptors of the core protos and the kitchen-sink service, for JSON bodies.
fn pool() -> Option<&'static DescriptorPool> {
    static POOL: OnceLock<Option<DescriptorPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).ok()?;
        // Without the kitchen sink, JSON still reaches every core service.
        let _ = pool.decode_file_descriptor_set(micro_kitchen::FILE_DESCRIPTOR_SET);
        Some(pool)
    })
    .as_ref()
}

/// How bodies are encoded.
#[derive(Debug, Clone)]
enum Encoding {
    /// Protobuf: forwarded as is.
    Proto,
    /// JSON, converted from the request type and to the response type of the method.
    Json { input: MessageDescriptor, output: MessageDescriptor },
}

impl Encoding {
    /// The encoding for `content_type` when calling `service`.`handler`/`method`.
    fn for_call(content_type: &str, service: &str, handler: &str, method: &str, id: &str) -> Result<Self, Status> {
        let base = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match base.as_str() {
            ""
            | "application/protobuf"
            | "application/proto"
            | "application/grpc"
            | "application/grpc+proto"
            | "application/octet-stream" => Ok(Self::Proto),
            "application/json" | "application/grpc+json" => {
                let full = format!("{service}.{handler}");
                let method = pool()
                    .and_then(|pool| pool.get_service_by_name(&full))
                    .and_then(|svc| svc.methods().find(|m| m.name() == method))
                    .ok_or_else(|| Status::unimplemented(format!("unknown method {method} for service {full}")))?;
                Ok(Self::Json { input: method.input(), output: method.output() })
            }
            _ => Err(MicroError::bad_request(id, format!("unsupported content type {content_type:?}")).into()),
        }
    }

    /// A request body, encoded for the wire.
    fn request(&self, body: Vec<u8>, id: &str) -> Result<Bytes, Status> {
        match self {
            Self::Proto => Ok(Bytes::from(body)),
            Self::Json { input, .. } => {
                let mut de = serde_json::Deserializer::from_slice(&body);
                let message = DynamicMessage::deserialize(input.clone(), &mut de)
                    .and_then(|m| de.end().map(|()| m))
                    .map_err(|err| MicroError::bad_request(id, format!("invalid JSON body: {err}")))?;
                Ok(Bytes::from(message.encode_to_vec()))
            }
        }
    }

    /// A reply from the wire, encoded for the caller.
    fn response(&self, body: Bytes, id: &str) -> Result<Vec<u8>, Status> {
        match self {
            Self::Proto => Ok(body.to_vec()),
            Self::Json { output, .. } => {
                let message = DynamicMessage::decode(output.clone(), body)
                    .map_err(|err| MicroError::internal_server_error(id, format!("invalid reply: {err}")))?;
                let mut out = Vec::new();
                let mut ser = serde_json::Serializer::new(&mut out);
                let options = SerializeOptions::new().use_proto_field_name(true).skip_default_fields(false);
                message
                    .serialize_with_options(&mut ser, &options)
                    .map_err(|err| MicroError::internal_server_error(id, format!("invalid reply: {err}")))?;
                Ok(out)
            }
        }
    }
}

/// `service` and `endpoint` as a gRPC path and its parts, or the 400 for bad ones.
fn route(service: &str, endpoint: &str, id: &str) -> Result<(PathAndQuery, String, String), Status> {
    if service.is_empty() {
        return Err(MicroError::bad_request(id, "service is required").into());
    }
    if endpoint.is_empty() {
        return Err(MicroError::bad_request(id, "endpoint is required").into());
    }
    let invalid = || MicroError::bad_request(id, format!("invalid endpoint {endpoint:?}: expected Handler.Method"));
    let (handler, method) = endpoint.split_once('.').ok_or_else(invalid)?;
    if handler.is_empty() || method.is_empty() || method.contains('.') {
        return Err(invalid().into());
    }
    let path = PathAndQuery::try_from(format!("/{service}.{handler}/{method}"))
        .map_err(|_| MicroError::bad_request(id, format!("invalid service {service:?}")))?;
    Ok((path, handler.to_owned(), method.to_owned()))
}

/// Parses a `grpc-timeout` value (digits then `H`, `M`, `S`, `m`, `u` or `n`).
fn grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || !value.is_ascii() {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// An outgoing request carrying `message`, the forwardable metadata of `incoming` and its
/// deadline.
fn forward<T>(incoming: &MetadataMap, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let outgoing = request.metadata_mut().as_mut();
    let headers = incoming.clone().into_headers();
    for (name, value) in &headers {
        if !NOT_FORWARDED.contains(&name.as_str()) && !name.as_str().starts_with(':') {
            outgoing.append(name.clone(), value.clone());
        }
    }
    if let Some(timeout) = headers.get("grpc-timeout").and_then(|v| v.to_str().ok()).and_then(grpc_timeout) {
        request.set_timeout(timeout);
    }
    request
}

/// A failure of the routed call, cleaned of its transport metadata.
fn passed_on(status: &Status) -> Status {
    Status::with_details(status.code(), status.message().to_owned(), Bytes::copy_from_slice(status.details()))
}

/// The `client.Client` service.
#[derive(Debug, Clone)]
pub(crate) struct ClientService {
    channel: Channel,
    shared: Shared,
}

impl ClientService {
    /// The service for the server of `shared`, calling its `local_addr` (the loopback address
    /// when it is bound to every interface). Must be made inside the tokio runtime.
    pub(crate) fn new(shared: &Shared) -> Self {
        let mut addr: SocketAddr = shared.local_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() { Ipv4Addr::LOCALHOST.into() } else { Ipv6Addr::LOCALHOST.into() });
        }
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .map(|endpoint| endpoint.tcp_nodelay(true).connect_lazy())
            .unwrap_or_else(|_| Endpoint::from_static("http://127.0.0.1:0").connect_lazy());
        Self { channel, shared: shared.clone() }
    }

    /// A ready gRPC client on the server's own channel.
    async fn grpc(&self) -> Result<tonic::client::Grpc<Channel>, Status> {
        let max = self.shared.max_message_size;
        let mut grpc = tonic::client::Grpc::new(self.channel.clone())
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        grpc.ready().await.map_err(|err| MicroError::service_unavailable("client.Client", format!("{err}")))?;
        Ok(grpc)
    }
}

/// The outcome of the `Stream` relay, sent to the caller.
type Replies = mpsc::Sender<Result<ClientResponse, Status>>;

impl ClientService {
    /// Relays a `Stream` call: see the [module documentation](self).
    async fn relay(
        self,
        metadata: MetadataMap,
        mut incoming: Streaming<ClientRequest>,
        replies: &Replies,
    ) -> Result<(), Status> {
        const ID: &str = "client.Client.Stream";
        let Some(first) = incoming.message().await? else {
            return Err(MicroError::bad_request(ID, "no request was sent").into());
        };
        let (path, handler, method) = route(&first.service, &first.endpoint, ID)?;
        let encoding = Encoding::for_call(&first.content_type, &first.service, &handler, &method, ID)?;
        let first_body = encoding.request(first.body, ID)?;

        // Requests: the first body, then each later one, until the caller half-closes.
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        let failed: Arc<Mutex<Option<Status>>> = Arc::default();
        let failure = failed.clone();
        let request_encoding = encoding.clone();
        tokio::spawn(async move {
            if tx.send(first_body).await.is_err() {
                return;
            }
            loop {
                let next = match incoming.message().await {
                    Ok(Some(request)) => request_encoding.request(request.body, ID),
                    Ok(None) => return,
                    Err(status) => Err(status),
                };
                match next {
                    Ok(body) => {
                        if tx.send(body).await.is_err() {
                            return;
                        }
                    }
                    Err(status) => {
                        *failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(status);
                        return;
                    }
                }
            }
        });

        let mut grpc = self.grpc().await?;
        let request = forward(&metadata, ReceiverStream::new(rx));
        let opened = tokio::select! {
            () = self.shared.shutdown.cancelled() => return Err(Shared::shutting_down()),
            () = replies.closed() => return Ok(()),
            opened = grpc.streaming(request, path, RawCodec) => opened,
        };
        let mut replies_in = opened.map_err(|s| passed_on(&s))?.into_inner();
        loop {
            let reply = tokio::select! {
                () = self.shared.shutdown.cancelled() => return Err(Shared::shutting_down()),
                () = replies.closed() => return Ok(()),
                reply = replies_in.message() => reply.map_err(|s| passed_on(&s))?,
            };
            let Some(body) = reply else { break };
            let response = ClientResponse { body: encoding.response(body, ID)? };
            if replies.send(Ok(response)).await.is_err() {
                return Ok(());
            }
        }
        let failure = failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        failure.map_or(Ok(()), Err)
    }
}

#[tonic::async_trait]
impl Client for ClientService {
    type StreamStream = ReceiverStream<Result<ClientResponse, Status>>;

    async fn call(&self, request: Request<ClientRequest>) -> Result<Response<ClientResponse>, Status> {
        const ID: &str = "client.Client.Call";
        let (metadata, _, call) = request.into_parts();
        let (path, handler, method) = route(&call.service, &call.endpoint, ID)?;
        let encoding = Encoding::for_call(&call.content_type, &call.service, &handler, &method, ID)?;
        let body = encoding.request(call.body, ID)?;
        let mut grpc = self.grpc().await?;
        let reply = grpc.unary(forward(&metadata, body), path, RawCodec).await.map_err(|s| passed_on(&s))?;
        Ok(Response::new(ClientResponse { body: encoding.response(reply.into_inner(), ID)? }))
    }

    async fn stream(&self, request: Request<Streaming<ClientRequest>>) -> Result<Response<Self::StreamStream>, Status> {
        let (metadata, _, incoming) = request.into_parts();
        let (tx, rx) = mpsc::channel(16);
        let service = self.clone();
        tokio::spawn(async move {
            if let Err(status) = service.relay(metadata, incoming, &tx).await {
                let _ = tx.send(Err(status)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn publish(&self, request: Request<Message>) -> Result<Response<Message>, Status> {
        const ID: &str = "client.Client.Publish";
        let (metadata, _, message) = request.into_parts();
        if message.topic.is_empty() {
            return Err(MicroError::bad_request(ID, "topic is required").into());
        }
        let publish = pb::broker::PublishRequest {
            topic: message.topic.clone(),
            message: Some(pb::broker::Message {
                header: [
                    ("Content-Type".to_owned(), message.content_type.clone()),
                    ("Micro-Topic".to_owned(), message.topic.clone()),
                ]
                .into(),
                body: message.body.clone(),
            }),
        };
        let path = PathAndQuery::from_static("/broker.Broker/Publish");
        let mut grpc = self.grpc().await?;
        let body = Bytes::from(publish.encode_to_vec());
        grpc.unary(forward(&metadata, body), path, RawCodec).await.map_err(|s| passed_on(&s))?;
        Ok(Response::new(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_endpoints_to_grpc_paths() {
        let (path, handler, method) = route("store", "Store.Read", "x").unwrap();
        assert_eq!(path.as_str(), "/store.Store/Read");
        assert_eq!((handler.as_str(), method.as_str()), ("Store", "Read"));
        for (service, endpoint) in
            [("", "Store.Read"), ("store", ""), ("store", "Read"), ("store", "A.B.C"), ("store", ".Read")]
        {
            let err = route(service, endpoint, "x").unwrap_err();
            assert_eq!(err.code(), tonic::Code::InvalidArgument, "{service} {endpoint}");
        }
    }

    #[test]
    fn parses_timeouts() {
        assert_eq!(grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(grpc_timeout("x"), None);
        assert_eq!(grpc_timeout("10q"), None);
    }

    #[test]
    fn json_bodies_use_proto_names_and_defaults() {
        let encoding = Encoding::for_call("application/json", "store", "Store", "Read", "x").unwrap();
        let wire = encoding.request(br#"{"key":"k","options":{"table":"t"}}"#.to_vec(), "x").unwrap();
        let decoded = pb::store::ReadRequest::decode(wire).unwrap();
        assert_eq!(decoded.key, "k");
        assert_eq!(decoded.options.unwrap().table, "t");
        let reply = pb::store::ReadResponse { records: vec![] }.encode_to_vec();
        let json = encoding.response(Bytes::from(reply), "x").unwrap();
        assert_eq!(String::from_utf8(json).unwrap(), r#"{"records":[]}"#);
        let err = encoding.request(b"{".to_vec(), "x").unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        let err = Encoding::for_call("application/json", "store", "Store", "Nope", "x").unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unimplemented);
        let kitchen = Encoding::for_call("application/json", "micro.kitchen.v1", "KitchenSink", "Ping", "x").unwrap();
        assert_eq!(kitchen.request(b"{}".to_vec(), "x").unwrap().len(), 0);
        let err = Encoding::for_call("text/plain", "store", "Store", "Read", "x").unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
    }
}
