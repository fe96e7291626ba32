//! Integration tests of the streaming services: registry, broker, events and runtime, over a
//! real server on port 0 called with the generated tonic clients.

mod common;

use std::{collections::HashMap, time::Duration};

use common::Running;
use micro_server::{
    MicroError, Options,
    pb::{
        broker::{self, broker_client::BrokerClient},
        events::{self, store_client::StoreClient as EventsStoreClient, stream_client::StreamClient},
        registry::{self, registry_client::RegistryClient},
        runtime::{self, build_client::BuildClient, runtime_client::RuntimeClient, source_client::SourceClient},
    },
};
use tonic::{Code, Request, Status, Streaming, metadata::MetadataValue};

/// How long a test waits for a message that must arrive.
const ARRIVES: Duration = Duration::from_secs(5);

/// `message` with the await-subscribers hook set to `n`.
fn awaiting<T>(message: T, n: usize) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("x-micro-test-await-subscribers", MetadataValue::from(n));
    request
}

/// The next message of `stream`, which must arrive within [`ARRIVES`].
async fn next<T>(stream: &mut Streaming<T>) -> Result<Option<T>, Status> {
    tokio::time::timeout(ARRIVES, stream.message()).await.expect("a message in time")
}

fn assert_micro(status: &Status, code: Code, id: &str, detail: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let err = MicroError::from_status(status).expect("a Micro error");
    assert_eq!((err.id.as_str(), err.detail.as_str()), (id, detail), "{status:?}");
}

fn message(body: &str) -> broker::Message {
    broker::Message { header: HashMap::from([("k".to_owned(), "v".to_owned())]), body: body.as_bytes().to_vec() }
}

#[tokio::test]
async fn broker_fans_out_and_splits_queues() {
    let server = Running::start(true).await;
    let mut client = BrokerClient::new(server.channel().await);
    let subscribe = |topic: &str, queue: &str| broker::SubscribeRequest { topic: topic.into(), queue: queue.into() };
    let mut a = client.subscribe(subscribe("news", "")).await.expect("a").into_inner();
    let mut b = client.subscribe(subscribe("news", "")).await.expect("b").into_inner();
    let mut q1 = client.subscribe(subscribe("news", "workers")).await.expect("q1").into_inner();
    let mut q2 = client.subscribe(subscribe("news", "workers")).await.expect("q2").into_inner();
    for body in ["one", "two"] {
        let publish = broker::PublishRequest { topic: "news".into(), message: Some(message(body)) };
        client.publish(awaiting(publish, 4)).await.expect("publish");
    }
    for stream in [&mut a, &mut b] {
        assert_eq!(next(stream).await.expect("ok"), Some(message("one")));
        assert_eq!(next(stream).await.expect("ok"), Some(message("two")));
    }
    // Round-robin within the queue group: one message each.
    assert_eq!(next(&mut q1).await.expect("ok"), Some(message("one")));
    assert_eq!(next(&mut q2).await.expect("ok"), Some(message("two")));

    // Namespaces are separate topics.
    let mut other = Request::new(broker::PublishRequest { topic: "news".into(), message: Some(message("x")) });
    other.metadata_mut().insert("micro-namespace", MetadataValue::from_static("other"));
    client.publish(other).await.expect("publish elsewhere");
    client
        .publish(broker::PublishRequest { topic: "news".into(), message: Some(message("three")) })
        .await
        .expect("publish");
    assert_eq!(next(&mut a).await.expect("ok"), Some(message("three")));
}

#[tokio::test]
async fn broker_errors_and_unsubscribes_when_the_client_goes_away() {
    let server = Running::start(true).await;
    let mut client = BrokerClient::new(server.channel().await);
    let err = client.subscribe(broker::SubscribeRequest::default()).await.expect_err("no topic");
    assert_micro(&err, Code::InvalidArgument, "broker.Broker.Subscribe", "Missing topic");
    let err =
        client.publish(broker::PublishRequest { topic: "t".into(), message: None }).await.expect_err("no message");
    assert_micro(&err, Code::InvalidArgument, "broker.Broker.Publish", "Missing message");

    let stream = client.subscribe(broker::SubscribeRequest { topic: "t".into(), queue: String::new() }).await;
    let publish = || broker::PublishRequest { topic: "t".into(), message: Some(message("m")) };
    client.publish(awaiting(publish(), 1)).await.expect("subscriber is counted");
    drop(stream);
    // Once the client has gone, nobody is subscribed: the hook waits until the deadline.
    let mut request = awaiting(publish(), 1);
    request.set_timeout(Duration::from_millis(500));
    let err = client.publish(request).await.expect_err("no subscriber left");
    assert!(matches!(err.code(), Code::DeadlineExceeded | Code::Cancelled), "{err:?}");
}

#[tokio::test]
async fn streams_end_with_unavailable_on_shutdown() {
    let server = Running::start(true).await;
    let channel = server.channel().await;
    let mut subscription = BrokerClient::new(channel.clone())
        .subscribe(broker::SubscribeRequest { topic: "t".into(), queue: String::new() })
        .await
        .expect("subscribe")
        .into_inner();
    let mut watch = RegistryClient::new(channel.clone())
        .watch(registry::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let consume = events::ConsumeRequest { topic: "t".into(), auto_ack: true, ..Default::default() };
    let mut consumer = StreamClient::new(channel.clone()).consume(consume).await.expect("consume").into_inner();
    let mut runtime = RuntimeClient::new(channel.clone());
    let service = runtime::Service { name: "svc".into(), ..Default::default() };
    runtime
        .create(runtime::CreateRequest {
            resource: Some(runtime::Resource { service: Some(service), ..Default::default() }),
            options: None,
        })
        .await
        .expect("create");
    let logs = runtime::LogsRequest { service: "svc".into(), stream: true, ..Default::default() };
    let mut logs = runtime.logs(logs).await.expect("logs").into_inner();
    assert!(next(&mut logs).await.expect("line").is_some());

    let stopping = tokio::spawn(server.stop());
    let unavailable = |result: Result<Option<_>, Status>| match result {
        Err(status) => assert_eq!(status.code(), Code::Unavailable, "{status:?}"),
        Ok(message) => panic!("expected UNAVAILABLE, got {message:?}"),
    };
    unavailable(next(&mut subscription).await.map(|m| m.map(|_| ())));
    unavailable(next(&mut watch).await.map(|m| m.map(|_| ())));
    unavailable(next(&mut consumer).await.map(|m| m.map(|_| ())));
    unavailable(next(&mut logs).await.map(|m| m.map(|_| ())));
    tokio::time::timeout(ARRIVES, stopping).await.expect("stops in time").expect("join");
}

fn node(id: &str) -> registry::Node {
    registry::Node { id: id.into(), address: format!("10.0.0.1:{}", id.len()), ..Default::default() }
}

fn service(name: &str, nodes: &[&str], ttl: i64, domain: &str) -> registry::Service {
    registry::Service {
        name: name.into(),
        version: "1.0".into(),
        metadata: HashMap::from([("team".to_owned(), "core".to_owned())]),
        nodes: nodes.iter().map(|id| node(id)).collect(),
        options: Some(registry::Options { ttl, domain: domain.into() }),
        ..Default::default()
    }
}

fn ids(service: &registry::Service) -> Vec<&str> {
    service.nodes.iter().map(|n| n.id.as_str()).collect()
}

#[tokio::test]
async fn registry_watch_sees_create_update_delete() {
    let server = Running::start(true).await;
    let mut client = RegistryClient::new(server.channel().await);
    let watch = registry::WatchRequest { service: "greeter".into(), options: None };
    let mut watch = client.watch(watch).await.expect("watch").into_inner();

    client.register(awaiting(service("greeter", &["a"], 0, ""), 1)).await.expect("register");
    client.register(service("other", &["z"], 0, "")).await.expect("register other");
    client.register(service("greeter", &["a", "b"], 0, "")).await.expect("add node");
    client.register(service("greeter", &["a"], 0, "")).await.expect("refresh: no change");
    client.deregister(service("greeter", &["a"], 0, "")).await.expect("remove a");
    client.deregister(service("greeter", &["b"], 0, "")).await.expect("remove b");

    let mut seen = Vec::new();
    for _ in 0..4 {
        let result = next(&mut watch).await.expect("ok").expect("result");
        let service = result.service.expect("service");
        assert_eq!(service.metadata.get("domain").map(String::as_str), Some("micro"));
        assert!(result.timestamp > 0);
        seen.push((result.action, ids(&service).join(",")));
    }
    let expected = [("create", "a"), ("update", "a,b"), ("update", "b"), ("delete", "b")];
    assert_eq!(seen, expected.map(|(a, n)| (a.to_owned(), n.to_owned())));

    let err = client
        .get_service(registry::GetRequest { service: "greeter".into(), options: None })
        .await
        .expect_err("deregistered");
    assert_micro(&err, Code::NotFound, "registry.Registry.GetService", "service not found");
    let err = client.register(registry::Service::default()).await.expect_err("no name");
    assert_micro(&err, Code::InvalidArgument, "registry.Registry.Register", "service name is required");
}

#[tokio::test]
async fn registry_ttl_expires_and_domains_are_isolated() {
    let server = Running::start(true).await;
    let mut client = RegistryClient::new(server.channel().await);
    let mut watch = client.watch(registry::WatchRequest::default()).await.expect("watch").into_inner();
    client.register(awaiting(service("short", &["n1"], 1, ""), 1)).await.expect("register");
    client.register(service("kept", &["n1"], 0, "team")).await.expect("register in team");

    let get = |name: &str, domain: &str| registry::GetRequest {
        service: name.into(),
        options: Some(registry::Options { ttl: 0, domain: domain.into() }),
    };
    let list =
        |domain: &str| registry::ListRequest { options: Some(registry::Options { ttl: 0, domain: domain.into() }) };
    let names = |services: Vec<registry::Service>| services.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(names(client.get_service(get("short", "")).await.expect("get").into_inner().services), ["short"]);
    assert_eq!(names(client.list_services(list("team")).await.expect("list").into_inner().services), ["kept"]);
    assert_eq!(names(client.list_services(list("micro")).await.expect("list").into_inner().services), ["short"]);
    assert_eq!(names(client.list_services(list("*")).await.expect("list").into_inner().services), ["short", "kept"]);
    let err = client.get_service(get("kept", "")).await.expect_err("other domain");
    assert_eq!(err.code(), Code::NotFound);

    // The default-domain watcher saw only its own domain's create, then the expiry.
    let created = next(&mut watch).await.expect("ok").expect("create");
    assert_eq!((created.action.as_str(), created.service.expect("service").name.as_str()), ("create", "short"));
    let expired = next(&mut watch).await.expect("ok").expect("delete");
    assert_eq!((expired.action.as_str(), expired.service.expect("service").name.as_str()), ("delete", "short"));
    let err = client.get_service(get("short", "")).await.expect_err("expired");
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn registry_reregistration_refreshes_the_ttl() {
    let server = Running::start(true).await;
    let mut client = RegistryClient::new(server.channel().await);
    client.register(service("beat", &["n"], 1, "")).await.expect("register");
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        client.register(service("beat", &["n"], 1, "")).await.expect("heartbeat");
    }
    let found = client.get_service(registry::GetRequest { service: "beat".into(), options: None }).await;
    assert_eq!(found.expect("still registered").into_inner().services.len(), 1);
}

fn publish(topic: &str, payload: &str) -> events::PublishRequest {
    events::PublishRequest { topic: topic.into(), payload: payload.as_bytes().to_vec(), ..Default::default() }
}

fn consume(topic: &str, group: &str, offset: i64) -> events::ConsumeRequest {
    events::ConsumeRequest { topic: topic.into(), group: group.into(), offset, auto_ack: true, ..Default::default() }
}

fn payload(event: &events::Event) -> &str {
    std::str::from_utf8(&event.payload).expect("utf-8")
}

#[tokio::test]
async fn events_groups_share_a_position_and_offsets_replay() {
    let server = Running::start(true).await;
    let mut stream = StreamClient::new(server.channel().await);

    let mut first = stream.consume(consume("orders", "billing", 0)).await.expect("consume").into_inner();
    let mut everyone = stream.consume(consume("orders", "", 0)).await.expect("consume").into_inner();
    stream.publish(awaiting(publish("orders", "1"), 2)).await.expect("publish");
    stream.publish(publish("orders", "2")).await.expect("publish");
    let one = next(&mut first).await.expect("ok").expect("event");
    assert_eq!((payload(&one), one.topic.as_str()), ("1", "orders"));
    assert_eq!(one.id.len(), 36, "UUID-shaped id: {}", one.id);
    assert!(one.timestamp > 1_600_000_000);
    assert_eq!(payload(&next(&mut first).await.expect("ok").expect("event")), "2");
    drop(first);

    // Published while no member of the group is connected: the group gets it on reconnect.
    stream.publish(publish("orders", "3")).await.expect("publish");
    let mut second = stream.consume(consume("orders", "billing", 0)).await.expect("consume").into_inner();
    assert_eq!(payload(&next(&mut second).await.expect("ok").expect("event")), "3");
    // A group-less consumer got everything.
    for expected in ["1", "2", "3"] {
        assert_eq!(payload(&next(&mut everyone).await.expect("ok").expect("event")), expected);
    }

    // Offset replays retained events with timestamp >= offset, then new ones.
    let mut past = events::PublishRequest { timestamp: 1000, ..publish("orders", "old") };
    past.metadata.insert("m".into(), "v".into());
    stream.publish(past).await.expect("publish old");
    let mut replay = stream.consume(consume("orders", "", 1_600_000_000)).await.expect("consume").into_inner();
    for expected in ["1", "2", "3"] {
        assert_eq!(payload(&next(&mut replay).await.expect("ok").expect("event")), expected);
    }
    stream.publish(publish("orders", "4")).await.expect("publish");
    assert_eq!(payload(&next(&mut replay).await.expect("ok").expect("event")), "4");
}

#[tokio::test]
async fn events_group_members_split_the_events() {
    let server = Running::start(true).await;
    let mut stream = StreamClient::new(server.channel().await);
    let mut a = stream.consume(consume("jobs", "workers", 0)).await.expect("a").into_inner();
    let mut b = stream.consume(consume("jobs", "workers", 0)).await.expect("b").into_inner();
    for i in 0..6 {
        stream.publish(awaiting(publish("jobs", &i.to_string()), 2)).await.expect("publish");
    }
    let mut got = Vec::new();
    for stream in [&mut a, &mut b] {
        while let Ok(Ok(Some(event))) = tokio::time::timeout(Duration::from_millis(300), stream.message()).await {
            got.push(payload(&event).to_owned());
        }
    }
    got.sort();
    assert_eq!(got, ["0", "1", "2", "3", "4", "5"], "each event exactly once across the group");
}

#[tokio::test]
async fn events_store_reads_and_rejects_writes() {
    let server = Running::start(true).await;
    let channel = server.channel().await;
    let mut stream = StreamClient::new(channel.clone());
    let mut store = EventsStoreClient::new(channel);
    for i in 0..5 {
        stream.publish(publish("log", &i.to_string())).await.expect("publish");
    }
    let read = |limit, offset| events::ReadRequest { topic: "log".into(), limit, offset };
    let payloads = |events: Vec<events::Event>| events.iter().map(|e| payload(e).to_owned()).collect::<Vec<_>>();
    assert_eq!(payloads(store.read(read(0, 0)).await.expect("read").into_inner().events), ["0", "1", "2", "3", "4"]);
    assert_eq!(payloads(store.read(read(2, 1)).await.expect("read").into_inner().events), ["1", "2"]);
    let err = store.read(events::ReadRequest::default()).await.expect_err("no topic");
    assert_micro(&err, Code::InvalidArgument, "events.Store.Read", "Missing topic");
    let err = store.write(events::WriteRequest::default()).await.expect_err("unsupported");
    assert_micro(&err, Code::Unimplemented, "events.Store.Write", "Writing to the store directly is not supported");
    let err = stream.publish(publish("", "x")).await.expect_err("no topic");
    assert_micro(&err, Code::InvalidArgument, "events.Stream.Publish", "Missing topic");
    let err = stream.consume(consume("", "", 0)).await.expect_err("no topic");
    assert_micro(&err, Code::InvalidArgument, "events.Stream.Consume", "Missing topic");
}

#[tokio::test]
async fn events_and_group_positions_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = || Options { test_hooks: true, data_dir: Some(dir.path().to_owned()), ..Options::default() };
    let ids = {
        let server = Running::start_with(options()).await;
        let mut stream = StreamClient::new(server.channel().await);
        let mut member = stream.consume(consume("audit", "g", 0)).await.expect("consume").into_inner();
        stream.publish(awaiting(publish("audit", "a"), 1)).await.expect("publish");
        stream.publish(publish("audit", "b")).await.expect("publish");
        assert_eq!(payload(&next(&mut member).await.expect("ok").expect("event")), "a");
        drop(member);
        let read = events::ReadRequest { topic: "audit".into(), ..Default::default() };
        let events = EventsStoreClient::new(server.channel().await).read(read).await.expect("read").into_inner();
        server.stop().await;
        events.events.into_iter().map(|e| e.id).collect::<Vec<_>>()
    };
    let server = Running::start_with(options()).await;
    let channel = server.channel().await;
    let read = events::ReadRequest { topic: "audit".into(), ..Default::default() };
    let events = EventsStoreClient::new(channel.clone()).read(read).await.expect("read").into_inner().events;
    assert_eq!(events.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), ids);
    // The group resumes after "a" — whether "b" was claimed before the member went away
    // depends on how far the stream ran, so publish one more and take what comes.
    let mut stream = StreamClient::new(channel);
    let mut member = stream.consume(consume("audit", "g", 0)).await.expect("consume").into_inner();
    stream.publish(publish("audit", "c")).await.expect("publish");
    let first = next(&mut member).await.expect("ok").expect("event");
    assert!(["b", "c"].contains(&payload(&first)), "resumed after a, got {}", payload(&first));
    server.stop().await;
}

fn runtime_service(name: &str, version: &str) -> runtime::Resource {
    let service = runtime::Service {
        name: name.into(),
        version: version.into(),
        source: "github.com/x/y".into(),
        ..Default::default()
    };
    runtime::Resource { service: Some(service), ..Default::default() }
}

#[tokio::test]
async fn runtime_records_services_and_streams_their_logs() {
    let server = Running::start(true).await;
    let channel = server.channel().await;
    let mut client = RuntimeClient::new(channel.clone());
    let create = |name: &str, namespace: &str, force: bool| runtime::CreateRequest {
        resource: Some(runtime_service(name, "")),
        options: Some(runtime::CreateOptions {
            namespace: namespace.into(),
            r#type: "service".into(),
            force,
            ..Default::default()
        }),
    };
    client.create(create("api", "", false)).await.expect("create");
    client.create(create("api", "team", false)).await.expect("create in team");
    let err = client.create(create("api", "", false)).await.expect_err("exists");
    assert_micro(&err, Code::AlreadyExists, "runtime.Runtime.Create", "service already exists");
    let err = client.create(runtime::CreateRequest::default()).await.expect_err("blank");
    assert_micro(&err, Code::InvalidArgument, "runtime.Runtime.Create", "blank resource");

    let read = |namespace: &str, kind: &str| runtime::ReadRequest {
        options: Some(runtime::ReadOptions { namespace: namespace.into(), r#type: kind.into(), ..Default::default() }),
    };
    let services = client.read(read("", "")).await.expect("read").into_inner().services;
    assert_eq!(services.len(), 1);
    assert_eq!((services[0].name.as_str(), services[0].version.as_str(), services[0].status), ("api", "latest", 4));
    assert_eq!(services[0].metadata.get("type").map(String::as_str), Some("service"));
    assert!(services[0].metadata.get("started").is_some_and(|s| s.ends_with('Z')));
    assert!(client.read(read("", "function")).await.expect("read").into_inner().services.is_empty());

    let logs = runtime::LogsRequest { service: "api".into(), stream: true, ..Default::default() };
    let mut logs = client.logs(logs).await.expect("logs").into_inner();
    let line = next(&mut logs).await.expect("ok").expect("line");
    assert_eq!(line.message, "Creating service api version latest source github.com/x/y");
    assert_eq!(line.metadata.get("service").map(String::as_str), Some("api"));

    let update = runtime::UpdateRequest { resource: Some(runtime_service("api", "latest")), options: None };
    client.update(update).await.expect("update");
    let line = next(&mut logs).await.expect("ok").expect("line");
    assert_eq!(line.message, "Updating service api version latest source github.com/x/y");
    let delete = runtime::DeleteRequest { resource: Some(runtime_service("api", "")), options: None };
    client.delete(delete.clone()).await.expect("delete");
    let line = next(&mut logs).await.expect("ok").expect("line");
    assert_eq!(line.message, "Deleting service api version latest source github.com/x/y");
    assert_eq!(next(&mut logs).await.expect("ends OK"), None, "following ends with the service");
    client.delete(delete).await.expect("deleting again succeeds");

    let update = runtime::UpdateRequest { resource: Some(runtime_service("api", "")), options: None };
    let err = client.update(update).await.expect_err("gone");
    assert_micro(&err, Code::NotFound, "runtime.Runtime.Update", "service not found");
    let err =
        client.logs(runtime::LogsRequest { service: "api".into(), ..Default::default() }).await.expect_err("gone");
    assert_micro(&err, Code::NotFound, "runtime.Runtime.Logs", "service not found");
    let team_logs = runtime::LogsRequest {
        service: "api".into(),
        count: 1,
        options: Some(runtime::LogsOptions { namespace: "team".into() }),
        ..Default::default()
    };
    let mut team_logs = client.logs(team_logs).await.expect("team logs").into_inner();
    assert!(next(&mut team_logs).await.expect("ok").is_some());
    assert_eq!(next(&mut team_logs).await.expect("ends"), None, "without stream: only the recorded lines");

    let mut build = BuildClient::new(channel.clone());
    let err = build.read(runtime::Service { name: "api".into(), ..Default::default() }).await.expect_err("version");
    assert_micro(&err, Code::InvalidArgument, "runtime.Build.Read", "Missing version");
    let err = build
        .read(runtime::Service { name: "api".into(), version: "v1".into(), ..Default::default() })
        .await
        .expect_err("no builds");
    assert_micro(&err, Code::NotFound, "runtime.Build.Read", "Build not found");

    let mut source = SourceClient::new(channel);
    let chunks = vec![
        runtime::UploadRequest {
            service: Some(runtime::Service { name: "api".into(), version: "v1".into(), ..Default::default() }),
            data: b"abc".to_vec(),
        },
        runtime::UploadRequest { service: None, data: b"def".to_vec() },
    ];
    let id = source.upload(tokio_stream::iter(chunks)).await.expect("upload").into_inner().id;
    assert_eq!(id, "source://api:v1");
    let chunks = vec![runtime::UploadRequest { service: None, data: b"abc".to_vec() }];
    let err = source.upload(tokio_stream::iter(chunks)).await.expect_err("no service");
    assert_micro(&err, Code::InvalidArgument, "runtime.Source.Upload", "No service was sent");
}
