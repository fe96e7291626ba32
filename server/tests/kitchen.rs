//! Integration tests of the kitchen-sink service (`micro.kitchen.v1.KitchenSink`): a server on
//! port 0, called with the generated tonic client of the `micro-kitchen` crate.

mod common;

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use common::Running;
use micro_kitchen::pb::micro::kitchen::v1::{
    Behavior, Choice, Color, EchoRequest, EchoResponse, Everything, Failure, Maps, Nested, Optionals, Repeateds,
    Scalars, Tree, WellKnown, choice, kitchen_sink_client::KitchenSinkClient, nested,
};
use micro_server::MicroError;
use tokio_stream::StreamExt as _;
use tonic::{Code, Request, Status, metadata::MetadataMap, transport::Channel};

async fn client(server: &Running) -> KitchenSinkClient<Channel> {
    KitchenSinkClient::new(server.channel().await)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX)
}

fn request<T>(message: T, metadata: &[(&'static str, &'static str)]) -> Request<T> {
    let mut request = Request::new(message);
    for (key, value) in metadata {
        request.metadata_mut().append(*key, value.parse().expect("ascii value"));
    }
    request
}

fn behavior(behavior: Behavior) -> EchoRequest {
    EchoRequest { payload: Some(text("x")), behavior: Some(behavior) }
}

fn fail(code: i32) -> Option<Failure> {
    Some(Failure { code, message: format!("failed with {code}"), ..Failure::default() })
}

fn text(value: &str) -> Everything {
    Everything { choice: Some(Choice { value: Some(choice::Value::Text(value.into())) }), ..Everything::default() }
}

fn get<'m>(metadata: &'m MetadataMap, key: &str) -> Vec<&'m str> {
    metadata.get_all(key).iter().map(|v| v.to_str().expect("ascii")).collect()
}

/// One value of every shape of the proto.
fn everything() -> Everything {
    let scalars = Scalars {
        f_double: f64::NAN,
        f_float: f32::NEG_INFINITY,
        f_int32: i32::MIN,
        f_int64: i64::MIN,
        f_uint32: u32::MAX,
        f_uint64: u64::MAX,
        f_sint32: -1,
        f_sint64: i64::MIN,
        f_fixed32: u32::MAX,
        f_fixed64: u64::MAX,
        f_sfixed32: -2,
        f_sfixed64: -3,
        f_bool: true,
        f_string: "grüße, 世界 🍜".into(),
        f_bytes: (0..=255).collect(),
        f_color: Color::Blue as i32,
    };
    let leaf =
        |leaf: &str| nested::inner::Deeper { leaf: leaf.into(), level: nested::inner::deeper::Level::Deepest as i32 };
    let tree = Tree {
        name: "root".into(),
        children: vec![Tree {
            name: "a".into(),
            children: vec![Tree { name: "a1".into(), ..Tree::default() }],
            ..Tree::default()
        }],
        by_name: HashMap::from([("b".to_owned(), Tree { name: "b".into(), ..Tree::default() })]),
    };
    Everything {
        scalars: Some(scalars.clone()),
        optionals: Some(Optionals {
            o_int32: Some(0),
            o_int64: Some(0),
            o_double: Some(0.0),
            o_bool: Some(false),
            o_string: Some(String::new()),
            o_bytes: Some(Vec::new()),
            o_color: Some(Color::Unspecified as i32),
            o_message: Some(Scalars::default()),
        }),
        repeateds: Some(Repeateds {
            packed_int32: vec![1, -1, i32::MAX],
            packed_sint32: vec![-5, 5],
            unpacked_int32: vec![7, -7],
            unpacked_sint64: vec![i64::MIN, i64::MAX],
            unpacked_color: vec![Color::Red as i32, Color::Green as i32],
            strings: vec![String::new(), "ü".into()],
            blobs: vec![vec![], vec![0, 255]],
            messages: vec![Scalars::default(), scalars],
            ..Repeateds::default()
        }),
        maps: Some(Maps {
            int64_key: HashMap::from([(i64::MIN, "min".to_owned())]),
            bool_key: HashMap::from([(false, "no".to_owned()), (true, "yes".to_owned())]),
            message_value: HashMap::from([("empty".to_owned(), Scalars::default())]),
            bytes_value: HashMap::from([("b".to_owned(), vec![1, 2, 3])]),
            ..Maps::default()
        }),
        nested: Some(Nested {
            inner: Some(nested::Inner { deeper: Some(leaf("one")), deepers: vec![leaf("two"), leaf("three")] }),
            level: nested::inner::deeper::Level::Deep as i32,
        }),
        choice: Some(Choice { value: Some(choice::Value::Nothing(())) }),
        well_known: Some(WellKnown {
            timestamp: Some(prost_types::Timestamp { seconds: 1_709_210_096, nanos: 123_456_789 }),
            duration: Some(prost_types::Duration { seconds: 1, nanos: 500_000_000 }),
            empty: Some(()),
            field_mask: Some(prost_types::FieldMask { paths: vec!["a.b".into(), "c".into()] }),
            bool_value: Some(false),
            string_value: Some(String::new()),
            int64_value: Some(i64::MAX),
            ..WellKnown::default()
        }),
        tree: Some(tree),
    }
}

#[tokio::test]
async fn echo_returns_every_shape_as_sent() {
    let server = Running::start(true).await;
    let mut kitchen = client(&server).await;
    let payload = everything();
    let response =
        kitchen.echo(EchoRequest { payload: Some(payload.clone()), behavior: None }).await.expect("echo").into_inner();
    assert_eq!(response.index, 0);
    // NaN != NaN: check the NaNs, then compare the rest.
    let unnan = |mut everything: Everything| {
        for scalars in [everything.scalars.as_mut(), everything.repeateds.as_mut().and_then(|r| r.messages.get_mut(1))]
        {
            let scalars = scalars.expect("scalars");
            assert!(scalars.f_double.is_nan());
            scalars.f_double = 0.0;
        }
        everything
    };
    assert_eq!(unnan(response.payload.expect("payload")), unnan(payload));
    assert_eq!(kitchen.echo(EchoRequest::default()).await.expect("empty").into_inner(), EchoResponse::default());
    kitchen.ping(()).await.expect("ping");
}

#[tokio::test]
async fn kitchen_metadata_comes_back_as_headers_and_trailers_on_every_kind() {
    let server = Running::start(true).await;
    let mut kitchen = client(&server).await;
    let sent = [("x-kitchen-color", "blue"), ("x-kitchen-multi", "1"), ("x-kitchen-multi", "2"), ("x-other", "no")];

    // Unary: tonic merges headers and trailers into the response metadata.
    let response = kitchen.echo(request(EchoRequest::default(), &sent)).await.expect("echo");
    assert_eq!(get(response.metadata(), "x-kitchen-echo-color"), ["blue"]);
    assert_eq!(get(response.metadata(), "x-kitchen-trailer-color"), ["blue"]);
    assert_eq!(get(response.metadata(), "x-kitchen-echo-multi"), ["1", "2"]);
    assert_eq!(get(response.metadata(), "x-kitchen-trailer-multi"), ["1", "2"]);
    assert!(response.metadata().get("x-kitchen-echo-other").is_none() && response.metadata().get("x-other").is_none());

    // A failed unary call is trailers-only: one block with both.
    let status =
        kitchen.echo(request(behavior(Behavior { fail: fail(5), ..Behavior::default() }), &sent)).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(get(status.metadata(), "x-kitchen-echo-color"), ["blue"]);
    assert_eq!(get(status.metadata(), "x-kitchen-trailer-color"), ["blue"]);

    // Server streaming: headers first, trailers after the last message.
    let response =
        kitchen.echo_stream(request(behavior(Behavior { repeat: 2, ..Behavior::default() }), &sent)).await.unwrap();
    assert_eq!(get(response.metadata(), "x-kitchen-echo-color"), ["blue"]);
    assert!(response.metadata().get("x-kitchen-trailer-color").is_none(), "trailers come last");
    let mut stream = response.into_inner();
    let mut count = 0;
    while let Some(message) = stream.message().await.expect("message") {
        assert_eq!(message.index, count);
        count += 1;
    }
    assert_eq!(count, 2);
    let trailers = stream.trailers().await.expect("trailers").expect("some trailers");
    assert_eq!(get(&trailers, "x-kitchen-trailer-color"), ["blue"]);
    assert_eq!(get(&trailers, "x-kitchen-trailer-multi"), ["1", "2"]);

    // Server streaming failing mid-stream: the trailers carry the status and the echo.
    let failing = Behavior { repeat: 3, fail_after: 1, fail: fail(10), ..Behavior::default() };
    let mut stream = kitchen.echo_stream(request(behavior(failing), &sent)).await.unwrap().into_inner();
    assert_eq!(stream.message().await.expect("first").expect("one message").index, 0);
    let status = stream.message().await.unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    assert_eq!(get(status.metadata(), "x-kitchen-trailer-color"), ["blue"]);

    // Client streaming.
    let requests = tokio_stream::iter(vec![EchoRequest::default(); 2]);
    let response = kitchen.collect(request(requests, &sent)).await.expect("collect");
    assert_eq!(get(response.metadata(), "x-kitchen-echo-color"), ["blue"]);
    assert_eq!(get(response.metadata(), "x-kitchen-trailer-color"), ["blue"]);
    assert_eq!(response.into_inner().count, 2);

    // Bidi.
    let requests = tokio_stream::iter(vec![EchoRequest::default(); 3]);
    let response = kitchen.chat(request(requests, &sent)).await.expect("chat");
    assert_eq!(get(response.metadata(), "x-kitchen-echo-color"), ["blue"]);
    let mut stream = response.into_inner();
    let indexes: Vec<u32> = (&mut stream).map(|m| m.expect("message").index).collect().await;
    assert_eq!(indexes, [0, 1, 2]);
    let trailers = stream.trailers().await.expect("trailers").expect("some trailers");
    assert_eq!(get(&trailers, "x-kitchen-trailer-color"), ["blue"]);

    // Ping.
    let response = kitchen.ping(request((), &sent)).await.expect("ping");
    assert_eq!(get(response.metadata(), "x-kitchen-echo-color"), ["blue"]);
    assert_eq!(get(response.metadata(), "x-kitchen-trailer-color"), ["blue"]);
}

#[tokio::test]
async fn failures_carry_the_chosen_code_and_micro_error() {
    let server = Running::start(true).await;
    let mut kitchen = client(&server).await;
    for code in 1..=16 {
        let status = kitchen.echo(behavior(Behavior { fail: fail(code), ..Behavior::default() })).await.unwrap_err();
        assert_eq!(status.code(), Code::from(code), "{status:?}");
        assert_eq!(status.message(), format!("failed with {code}"));
        assert_eq!(MicroError::from_status(&status), None);
    }
    let failure = Failure {
        code: 7,
        message: "replaced".into(),
        id: "kitchen.Deny".into(),
        micro_code: 403,
        detail: "not yours".into(),
        status: "Forbidden Fruit".into(),
    };
    let status =
        kitchen.echo(behavior(Behavior { fail: Some(failure), ..Behavior::default() })).await.expect_err("fails");
    assert_eq!(status.code(), Code::PermissionDenied);
    let err = MicroError::from_status(&status).expect("micro error");
    assert_eq!(
        err,
        MicroError {
            id: "kitchen.Deny".into(),
            code: 403,
            detail: "not yours".into(),
            status: "Forbidden Fruit".into()
        }
    );
    assert_eq!(status.message(), err.to_json());

    let status = kitchen.echo(behavior(Behavior { fail: fail(0), ..Behavior::default() })).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(MicroError::from_status(&status).map(|e| e.code), Some(400));
}

#[tokio::test]
async fn echo_stream_repeats_and_fails_after_n() {
    let server = Running::start(true).await;
    let mut kitchen = client(&server).await;
    let collect = |stream: tonic::Streaming<EchoResponse>| async move {
        let mut stream = stream;
        let mut indexes = Vec::new();
        loop {
            match stream.message().await {
                Ok(Some(message)) => {
                    assert_eq!(message.payload, Some(text("x")));
                    indexes.push(message.index);
                }
                Ok(None) => return (indexes, None),
                Err(status) => return (indexes, Some(status)),
            }
        }
    };
    let stream = kitchen.echo_stream(behavior(Behavior::default())).await.unwrap().into_inner();
    assert_eq!(collect(stream).await.0, [0]);
    let stream = kitchen.echo_stream(behavior(Behavior { repeat: 5, ..Behavior::default() })).await.unwrap();
    assert_eq!(collect(stream.into_inner()).await.0, [0, 1, 2, 3, 4]);

    let failing = Behavior { repeat: 5, fail_after: 2, fail: fail(8), ..Behavior::default() };
    let (indexes, status) = collect(kitchen.echo_stream(behavior(failing)).await.unwrap().into_inner()).await;
    assert_eq!(indexes, [0, 1]);
    assert_eq!(status.map(|s| s.code()), Some(Code::ResourceExhausted));

    // fail_after beyond repeat: every response, then the failure.
    let failing = Behavior { repeat: 2, fail_after: 9, fail: fail(4), ..Behavior::default() };
    let (indexes, status) = collect(kitchen.echo_stream(behavior(failing)).await.unwrap().into_inner()).await;
    assert_eq!(indexes, [0, 1]);
    assert_eq!(status.map(|s| s.code()), Some(Code::DeadlineExceeded));

    // fail_after 0: trailers-only, before any stream.
    let failing = Behavior { fail_after: 0, fail: fail(9), ..Behavior::default() };
    let status = kitchen.echo_stream(behavior(failing)).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn collect_and_chat_apply_behaviors() {
    let server = Running::start(true).await;
    let mut kitchen = client(&server).await;
    let requests = vec![
        EchoRequest { payload: Some(text("a")), behavior: Some(Behavior { sleep_ms: 10, ..Behavior::default() }) },
        EchoRequest { payload: None, behavior: Some(Behavior { fail: fail(3), ..Behavior::default() }) },
        EchoRequest { payload: Some(text("c")), behavior: None },
    ];
    // Collect: only the first behavior counts, absent payloads collect as empty ones.
    let response = kitchen.collect(tokio_stream::iter(requests.clone())).await.expect("collect").into_inner();
    assert_eq!(response.count, 3);
    assert_eq!(response.payloads, [text("a"), Everything::default(), text("c")]);
    let response = kitchen.collect(tokio_stream::iter(Vec::new())).await.expect("empty collect").into_inner();
    assert_eq!((response.count, response.payloads.len()), (0, 0));
    let status = kitchen.collect(tokio_stream::iter(requests[1..].to_vec())).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    // Chat: each request's own behavior; the failing one ends the call.
    let mut stream = kitchen.chat(tokio_stream::iter(requests)).await.expect("chat").into_inner();
    let first = stream.message().await.expect("first").expect("an answer");
    assert_eq!((first.index, first.payload), (0, Some(text("a"))));
    assert_eq!(stream.message().await.unwrap_err().code(), Code::InvalidArgument);

    // Chat answers as requests arrive: the first answer comes before the client sends more.
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let mut stream =
        kitchen.chat(tokio_stream::wrappers::ReceiverStream::new(rx)).await.expect("interactive chat").into_inner();
    for index in 0..3 {
        tx.send(EchoRequest { payload: Some(text(&index.to_string())), behavior: None }).await.expect("send");
        let answer = stream.message().await.expect("answer").expect("one");
        assert_eq!((answer.index, answer.payload), (index, Some(text(&index.to_string()))));
    }
    drop(tx);
    assert_eq!(stream.message().await.expect("end"), None);
}

async fn deadline_exceeded<T: std::fmt::Debug>(started: Instant, result: Result<T, Status>) {
    let status = result.expect_err("the deadline passes");
    // The server answers DEADLINE_EXCEEDED just before the deadline; the raw tonic client's own
    // timer reports its expiry as CANCELLED "Timeout expired", and on a loaded machine that timer
    // can win the race (the SDKs map it to DEADLINE_EXCEEDED; this test uses the bare client).
    let client_timer = status.code() == Code::Cancelled && status.message() == "Timeout expired";
    assert!(status.code() == Code::DeadlineExceeded || client_timer, "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "the sleep was cut short: {:?}", started.elapsed());
}

/// `message` with a 200 ms deadline.
fn timed<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(Duration::from_millis(200));
    request
}

#[tokio::test]
async fn sleeps_end_at_the_deadline_on_every_kind() {
    let server = Running::start(true).await;
    let mut kitchen = client(&server).await;
    let sleepy = || behavior(Behavior { sleep_ms: 10_000, ..Behavior::default() });

    let started = Instant::now();
    deadline_exceeded(started, kitchen.echo(timed(sleepy())).await).await;

    let started = Instant::now();
    let mut stream = kitchen.echo_stream(timed(sleepy())).await.expect("stream starts").into_inner();
    deadline_exceeded(started, stream.message().await).await;

    let started = Instant::now();
    deadline_exceeded(started, kitchen.collect(timed(tokio_stream::iter(vec![sleepy()]))).await).await;

    let started = Instant::now();
    let mut stream = kitchen.chat(timed(tokio_stream::iter(vec![sleepy()]))).await.expect("chat starts").into_inner();
    deadline_exceeded(started, stream.message().await).await;

    // A deadline that does not pass changes nothing.
    let mut request = Request::new(behavior(Behavior { sleep_ms: 20, repeat: 2, ..Behavior::default() }));
    request.set_timeout(Duration::from_secs(5));
    let stream = kitchen.echo_stream(request).await.expect("stream").into_inner();
    assert_eq!(stream.map(|m| m.expect("message").index).collect::<Vec<_>>().await, [0, 1]);
}

#[tokio::test]
async fn shutdown_ends_open_streams_with_unavailable() {
    let server = Running::start(true).await;
    let mut kitchen = client(&server).await;
    let sleepy = || behavior(Behavior { sleep_ms: 30_000, repeat: 2, ..Behavior::default() });
    let mut echo = kitchen.echo_stream(sleepy()).await.expect("echo stream").into_inner();
    let (_tx, rx) = tokio::sync::mpsc::channel::<EchoRequest>(1);
    let mut chat = kitchen.chat(tokio_stream::wrappers::ReceiverStream::new(rx)).await.expect("chat").into_inner();
    let unary = {
        let mut kitchen = kitchen.clone();
        tokio::spawn(async move { kitchen.echo(sleepy()).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let stopping = tokio::spawn(server.stop());
    for status in [echo.message().await.unwrap_err(), chat.message().await.unwrap_err()] {
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert_eq!(MicroError::from_status(&status).map(|e| e.code), Some(503));
    }
    let status = unary.await.expect("join").unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    tokio::time::timeout(Duration::from_secs(5), stopping).await.expect("server stops").expect("join");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn messages_up_to_the_limit_pass_and_larger_ones_are_resource_exhausted() {
    let server = Running::start(true).await;
    let mut kitchen = client(&server).await;
    let big = |len: usize| EchoRequest {
        payload: Some(Everything {
            scalars: Some(Scalars { f_bytes: (0..len).map(|i| (i % 256) as u8).collect(), ..Scalars::default() }),
            ..Everything::default()
        }),
        behavior: None,
    };
    let request = big(4 * 1024 * 1024 - 64);
    let response = kitchen.echo(request.clone()).await.expect("just under 4 MiB").into_inner();
    assert_eq!(response.payload, request.payload);
    let status = kitchen.echo(big(4 * 1024 * 1024)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    // The server is still fine afterwards.
    kitchen.ping(()).await.expect("ping");
}
