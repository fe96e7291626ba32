//! The echo fallback ([`Options::echo_unknown`](crate::Options::echo_unknown)): calls to a
//! service the server does not implement are answered with the last request message they sent.
//!
//! This lets any SDK generated from a user's own protos be exercised end to end against a
//! standard gRPC server without writing one: a method whose request and response are the same
//! message type gets back exactly what it sent. The service never decodes a message (it works on
//! the raw protobuf bytes, so it needs no descriptors) and answers every kind of call the same
//! way, after the client half-closes its request stream:
//!
//! | method kind | response |
//! |---|---|
//! | unary | the request |
//! | server-streaming | one message: the request |
//! | client-streaming | the last request |
//! | bidi | one message: the last request |
//!
//! A call that sent no message at all fails with `INVALID_ARGUMENT`. Request metadata is not
//! echoed; limits ([`Options::max_message_size`](crate::Options::max_message_size)), auth and the
//! middleware apply as to every other call.

use std::convert::Infallible;

use http::{Request, Response};
use prost::bytes::Bytes;
use tokio_stream::StreamExt;
use tonic::Status;
use tonic::body::Body;
use tonic::codec::Streaming;
use tonic::server::{Grpc, StreamingService};

use crate::client::RawCodec;
use crate::shared::BoxFuture;

/// Handles one call to an unknown service as the module documentation describes.
///
/// Never fails at the HTTP level: every outcome is a gRPC status in the response.
pub(crate) async fn handle<B>(request: Request<B>, max_message_size: usize) -> Result<Response<Body>, Infallible>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let mut grpc =
        Grpc::new(RawCodec).max_decoding_message_size(max_message_size).max_encoding_message_size(max_message_size);
    Ok(grpc.streaming(EchoLast, request).await)
}

/// Echoes the last message of the request stream.
struct EchoLast;

/// One response message, as a stream.
type OneMessage = tokio_stream::Once<Result<Bytes, Status>>;

impl StreamingService<Bytes> for EchoLast {
    type Response = Bytes;
    type ResponseStream = OneMessage;
    type Future = BoxFuture<Result<tonic::Response<OneMessage>, Status>>;

    fn call(&mut self, request: tonic::Request<Streaming<Bytes>>) -> Self::Future {
        Box::pin(async move {
            let mut stream = request.into_inner();
            let mut last = None;
            while let Some(message) = stream.next().await {
                last = Some(message?);
            }
            let last = last.ok_or_else(|| Status::invalid_argument("echo: the call sent no request message"))?;
            Ok(tonic::Response::new(tokio_stream::once(Ok(last))))
        })
    }
}
