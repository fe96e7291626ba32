//! What the conformance cases do not cover: retries, interceptors, the deadline of a stream,
//! connection errors, and the precedence of a call's own metadata, through `micro_client::Micro`
//! against the reference server.

mod common;

use std::time::{Duration, Instant};

use common::{Running, closed_port};
use micro_client::pb::store;
use micro_client::tonic::{Code, Request, Status};
use micro_client::{Micro, RetryPolicy};

fn read(key: &str) -> store::ReadRequest {
    store::ReadRequest { key: key.to_owned(), ..Default::default() }
}

#[tokio::test]
async fn unary_calls_are_retried_on_unavailable_with_backoff() {
    let address = format!("127.0.0.1:{}", closed_port());
    let policy = RetryPolicy { initial_backoff: Duration::from_millis(100), jitter: 0.0, ..RetryPolicy::default() };
    let micro = Micro::builder(&address).retry(policy).connect_lazy().expect("options");
    let start = Instant::now();
    let err = micro.store().read(read("k")).await.expect_err("nothing listens");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    // Two retries: 100 ms, then 200 ms.
    assert!(start.elapsed() >= Duration::from_millis(300), "{:?}", start.elapsed());

    let micro = Micro::builder(&address).retry(None).connect_lazy().expect("options");
    let start = Instant::now();
    assert_eq!(micro.store().read(read("k")).await.expect_err("nothing listens").code(), Code::Unavailable);
    assert!(start.elapsed() < Duration::from_millis(300), "{:?}", start.elapsed());
}

#[tokio::test]
async fn retries_stop_at_the_deadline() {
    let address = format!("127.0.0.1:{}", closed_port());
    let policy = RetryPolicy { initial_backoff: Duration::from_secs(2), max_retries: 5, ..RetryPolicy::default() };
    let micro =
        Micro::builder(&address).retry(policy).timeout(Duration::from_millis(500)).connect_lazy().expect("options");
    let start = Instant::now();
    let err = micro.store().read(read("k")).await.expect_err("nothing listens");
    assert_eq!(err.code(), Code::Unavailable, "the last error is returned, not a deadline error: {err}");
    assert!(start.elapsed() < Duration::from_secs(1), "no retry past the deadline: {:?}", start.elapsed());
}

#[tokio::test]
async fn connect_fails_with_unavailable() {
    let err = Micro::connect(format!("127.0.0.1:{}", closed_port())).await.expect_err("nothing listens");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(std::error::Error::source(&err).is_some(), "the transport error is kept");
    let err = Micro::connect("no port").await.expect_err("bad address");
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
}

#[tokio::test]
async fn interceptors_run_after_the_sdk_metadata_and_can_fail_calls() {
    let server = Running::start().await;
    let micro = Micro::builder(server.address())
        .token("from-client")
        .interceptor(|mut request: Request<()>| {
            let seen = request.metadata().get("authorization").cloned();
            assert_eq!(seen.as_ref().and_then(|v| v.to_str().ok()), Some("Bearer from-client"));
            request.metadata_mut().insert("micro-namespace", "from-interceptor".parse().expect("value"));
            Ok(request)
        })
        .connect()
        .await
        .expect("connect");
    let mut request = Request::new(read("missing"));
    request.metadata_mut().insert("x-micro-test-echo", "1".parse().expect("value"));
    let err = micro.store().read(request).await.expect_err("missing key");
    assert_eq!(err.code(), Code::NotFound);
    let echoed = err.metadata().get("x-micro-echo-namespace").and_then(|v| v.to_str().ok());
    assert_eq!(echoed, Some("from-interceptor"));

    let failing = Micro::builder(server.address())
        .interceptor(|_| Err(Status::permission_denied("stopped by the interceptor")))
        .connect()
        .await
        .expect("connect");
    let err = failing.store().read(read("k")).await.expect_err("interceptor fails the call");
    assert_eq!((err.code(), err.detail()), (Code::PermissionDenied, "stopped by the interceptor"));
}

#[tokio::test]
async fn a_calls_own_metadata_wins_over_the_clients() {
    let server = Running::start().await;
    let micro = Micro::builder(server.address())
        .token("t")
        .metadata("micro-namespace", "default")
        .connect()
        .await
        .expect("connect");
    let mut request = Request::new(read("k"));
    request.metadata_mut().insert("authorization", "Basic abc".parse().expect("value"));
    let err = micro.store().read(request).await.expect_err("Basic is rejected");
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert_eq!(err.id(), "micro-server");
}

#[tokio::test]
async fn the_deadline_covers_a_whole_stream() {
    let server = Running::start().await;
    let micro = Micro::builder(server.address()).connect().await.expect("connect");
    let mut request = Request::new(store::ListRequest::default());
    request.set_timeout(Duration::from_millis(150));
    request.metadata_mut().insert("x-micro-test-delay-ms", "2000".parse().expect("value"));
    let start = Instant::now();
    let result = match micro.store().list(request).await {
        Ok(response) => response.into_inner().message().await.map(|_| ()),
        Err(err) => Err(err),
    };
    let err = result.expect_err("the deadline passes");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());

    let micro = Micro::builder(server.address()).timeout(None).connect().await.expect("connect");
    let mut pages = micro.store().list(store::ListRequest::default()).await.expect("list").into_inner();
    assert!(pages.message().await.expect("a page").is_some());
    assert!(pages.message().await.expect("the end").is_none());
}
