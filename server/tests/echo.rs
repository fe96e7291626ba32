//! `Options::echo_unknown`: unknown services answer with their last request message, every call
//! kind; implemented services (and their unknown methods) are untouched; off by default.

mod common;

use common::Running;
use micro_server::Options;
use prost_types::Timestamp;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::{Code, Request, Status, client::Grpc};
use tonic_prost::ProstCodec;

fn stamp(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 7 }
}

async fn client(server: &Running) -> Grpc<tonic::transport::Channel> {
    let mut grpc = Grpc::new(server.channel().await);
    grpc.ready().await.expect("ready");
    grpc
}

async fn unary(server: &Running, path: &'static str, message: Timestamp) -> Result<Timestamp, Status> {
    let mut grpc = client(server).await;
    let codec: ProstCodec<Timestamp, Timestamp> = ProstCodec::default();
    grpc.unary(Request::new(message), PathAndQuery::from_static(path), codec).await.map(|r| r.into_inner())
}

/// Sends `messages` on a stream and collects every response message.
async fn streaming(server: &Running, path: &'static str, messages: Vec<Timestamp>) -> Result<Vec<Timestamp>, Status> {
    let mut grpc = client(server).await;
    let codec: ProstCodec<Timestamp, Timestamp> = ProstCodec::default();
    let response =
        grpc.streaming(Request::new(tokio_stream::iter(messages)), PathAndQuery::from_static(path), codec).await?;
    let mut stream = response.into_inner();
    let mut out = Vec::new();
    while let Some(message) = stream.message().await? {
        out.push(message);
    }
    Ok(out)
}

#[tokio::test]
async fn unknown_services_echo_the_last_request_message() {
    let server = Running::start_with(Options { echo_unknown: true, ..Options::default() }).await;

    // Unary and server-streaming: the request comes back, once.
    assert_eq!(unary(&server, "/acme.shop.v1.Shop/Get", stamp(42)).await.unwrap(), stamp(42));
    assert_eq!(streaming(&server, "/acme.shop.v1.Shop/Watch", vec![stamp(1)]).await.unwrap(), vec![stamp(1)]);
    // Client-streaming and bidi: one response, the last request.
    assert_eq!(
        streaming(&server, "/acme.shop.v1.Shop/Upload", vec![stamp(1), stamp(2), stamp(3)]).await.unwrap(),
        vec![stamp(3)]
    );
    // An empty message is a message: its zero bytes come back.
    assert_eq!(unary(&server, "/x.Y/Z", Timestamp::default()).await.unwrap(), Timestamp::default());
    // No message at all: INVALID_ARGUMENT.
    let err = streaming(&server, "/acme.shop.v1.Shop/Upload", vec![]).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");

    // Implemented services keep their behaviour, including UNIMPLEMENTED for an unknown method.
    let err = unary(&server, "/store.Store/NoSuchMethod", stamp(1)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn unknown_services_are_unimplemented_without_echo() {
    let server = Running::start(false).await;
    let err = unary(&server, "/acme.shop.v1.Shop/Get", stamp(42)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn echo_honours_the_max_message_size() {
    let server = Running::start_with(Options { echo_unknown: true, max_message_size: 64, ..Options::default() }).await;
    let mut grpc = client(&server).await;
    let codec: ProstCodec<prost_types::Value, prost_types::Value> = ProstCodec::default();
    let big = prost_types::Value { kind: Some(prost_types::value::Kind::StringValue("x".repeat(1000))) };
    let err = grpc.unary(Request::new(big), PathAndQuery::from_static("/acme.Big/Get"), codec).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    server.stop().await;
}
