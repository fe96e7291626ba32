//! Integration tests of store.BlobStore, debug.Debug, api.Api, network.Network, router.Router /
//! router.Table and client.Client: a server on port 0, called with the generated tonic clients.

mod common;

use std::time::Duration;

use common::Running;
use micro_server::{
    MicroError, Options,
    pb::{
        api::{AddToBlockListRequest, ReadBlockListRequest, RemoveFromBlockListRequest, api_client::ApiClient},
        broker::{SubscribeRequest, broker_client::BrokerClient},
        client::{self as client_pb, client_client::ClientClient},
        debug::{HealthRequest, LogRequest, StatsRequest, TraceRequest, debug_client::DebugClient},
        network::{
            ConnectRequest, GraphRequest, Node, NodesRequest, Query, RoutesRequest, ServicesRequest, StatusRequest,
            network_client::NetworkClient,
        },
        router::{
            EventType, LookupOptions, LookupRequest, ReadRequest as TableReadRequest, Route, WatchRequest,
            router_client::RouterClient, table_client::TableClient,
        },
        store::{
            BlobDeleteRequest, BlobListOptions, BlobListRequest, BlobOptions, BlobReadRequest, BlobWriteRequest,
            ReadRequest, Record, WriteRequest, blob_store_client::BlobStoreClient, store_client::StoreClient,
        },
    },
};
use prost::Message as _;
use tonic::{Code, Request, Status, metadata::MetadataValue, transport::Channel};

fn assert_micro(status: &Status, code: Code, id: &str, http: i32, detail: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let err = MicroError::from_status(status).expect("a Micro error");
    assert_eq!((err.id.as_str(), err.code, err.detail.as_str()), (id, http, detail), "{status:?}");
}

fn with<T>(message: T, pairs: &[(&'static str, &str)]) -> Request<T> {
    let mut request = Request::new(message);
    for (key, value) in pairs {
        request.metadata_mut().insert(*key, MetadataValue::try_from(*value).expect("ascii"));
    }
    request
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 256) as u8).collect()
}

fn blob_write(key: &str, namespace: &str, chunks: &[&[u8]]) -> Vec<BlobWriteRequest> {
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| BlobWriteRequest {
            key: if i == 0 { key.into() } else { String::new() },
            options: (i == 0).then(|| BlobOptions { namespace: namespace.into(), ..Default::default() }),
            blob: chunk.to_vec(),
        })
        .collect()
}

async fn blob_read(
    client: &mut BlobStoreClient<Channel>,
    request: Request<BlobReadRequest>,
) -> Result<Vec<Vec<u8>>, Status> {
    let mut stream = client.read(request).await?.into_inner();
    let mut chunks = Vec::new();
    while let Some(message) = stream.message().await? {
        chunks.push(message.blob);
    }
    Ok(chunks)
}

fn read_request(key: &str, namespace: &str) -> BlobReadRequest {
    BlobReadRequest {
        key: key.into(),
        options: Some(BlobOptions { namespace: namespace.into(), ..Default::default() }),
    }
}

#[tokio::test]
async fn blob_store_writes_reads_lists_and_deletes_by_namespace() {
    let server = Running::start(false).await;
    let mut blobs = BlobStoreClient::new(server.channel().await);

    // Three chunks in, 1024-byte chunks out.
    let data = pattern(3000);
    let parts: Vec<&[u8]> = vec![&data[..10], &data[10..2000], &data[2000..]];
    blobs.write(tokio_stream::iter(blob_write("big", "ns1", &parts))).await.expect("write");
    let chunks = blob_read(&mut blobs, Request::new(read_request("big", "ns1"))).await.expect("read");
    assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), vec![1024, 1024, 952]);
    assert_eq!(chunks.concat(), data);

    // Namespaces: options, then the caller's micro-namespace, then "micro".
    blobs.write(tokio_stream::iter(blob_write("k", "", &[b"default"]))).await.expect("write default");
    let header = with(tokio_stream::iter(blob_write("k", "", &[b"from header"])), &[("micro-namespace", "hdr")]);
    blobs.write(header).await.expect("write header ns");
    let read = blob_read(&mut blobs, Request::new(read_request("k", "micro"))).await.unwrap();
    assert_eq!(read, vec![b"default".to_vec()]);
    let read = blob_read(&mut blobs, Request::new(read_request("k", "hdr"))).await.unwrap();
    assert_eq!(read, vec![b"from header".to_vec()]);
    let read = blob_read(&mut blobs, with(read_request("k", ""), &[("micro-namespace", "hdr")])).await.unwrap();
    assert_eq!(read, vec![b"from header".to_vec()]);
    let err = blob_read(&mut blobs, Request::new(read_request("big", "micro"))).await.unwrap_err();
    assert_micro(&err, Code::NotFound, "store.Blob.Read", 404, "Blob not found");

    // An empty blob reads as no chunks; overwriting replaces.
    blobs.write(tokio_stream::iter(blob_write("empty", "ns1", &[b""]))).await.expect("write empty");
    assert!(blob_read(&mut blobs, Request::new(read_request("empty", "ns1"))).await.unwrap().is_empty());
    blobs.write(tokio_stream::iter(blob_write("empty", "ns1", &[b"x"]))).await.expect("overwrite");
    assert_eq!(blob_read(&mut blobs, Request::new(read_request("empty", "ns1"))).await.unwrap(), vec![b"x".to_vec()]);

    // List with and without prefix.
    let list = |namespace: &str, prefix: &str| BlobListRequest {
        options: Some(BlobListOptions { namespace: namespace.into(), prefix: prefix.into() }),
    };
    assert_eq!(blobs.list(list("ns1", "")).await.unwrap().into_inner().keys, vec!["big", "empty"]);
    assert_eq!(blobs.list(list("ns1", "b")).await.unwrap().into_inner().keys, vec!["big"]);
    assert!(blobs.list(list("nobody", "")).await.unwrap().into_inner().keys.is_empty());

    // Errors.
    let err = blobs.write(tokio_stream::iter(Vec::<BlobWriteRequest>::new())).await.unwrap_err();
    assert_micro(&err, Code::InvalidArgument, "store.Blob.Write", 400, "No blob was sent");
    let err = blobs.write(tokio_stream::iter(blob_write("", "ns1", &[b"x"]))).await.unwrap_err();
    assert_micro(&err, Code::InvalidArgument, "store.Blob.Write", 400, "Missing key");
    let err = blob_read(&mut blobs, Request::new(read_request("", "ns1"))).await.unwrap_err();
    assert_micro(&err, Code::InvalidArgument, "store.Blob.Read", 400, "Missing key");
    let delete = |key: &str, namespace: &str| BlobDeleteRequest {
        key: key.into(),
        options: Some(BlobOptions { namespace: namespace.into(), ..Default::default() }),
    };
    let err = blobs.delete(delete("", "ns1")).await.unwrap_err();
    assert_micro(&err, Code::InvalidArgument, "store.Blob.Delete", 400, "Missing key");
    blobs.delete(delete("big", "ns1")).await.expect("delete");
    let err = blobs.delete(delete("big", "ns1")).await.unwrap_err();
    assert_micro(&err, Code::NotFound, "store.Blob.Delete", 404, "Blob not found");
    assert_eq!(blobs.list(list("ns1", "")).await.unwrap().into_inner().keys, vec!["empty"]);
    server.stop().await;
}

#[tokio::test]
async fn blobs_survive_a_restart_with_a_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = || Options { data_dir: Some(dir.path().to_owned()), ..Options::default() };
    let server = Running::start_with(options()).await;
    let mut blobs = BlobStoreClient::new(server.channel().await);
    blobs.write(tokio_stream::iter(blob_write("kept", "p", &[b"abc", b"def"]))).await.expect("write");
    blobs.write(tokio_stream::iter(blob_write("gone", "p", &[b"x"]))).await.expect("write");
    blobs
        .delete(BlobDeleteRequest {
            key: "gone".into(),
            options: Some(BlobOptions { namespace: "p".into(), ..Default::default() }),
        })
        .await
        .expect("delete");
    server.stop().await;

    let server = Running::start_with(options()).await;
    let mut blobs = BlobStoreClient::new(server.channel().await);
    let read = blob_read(&mut blobs, Request::new(read_request("kept", "p"))).await.expect("read after restart");
    assert_eq!(read.concat(), b"abcdef");
    let list = BlobListRequest { options: Some(BlobListOptions { namespace: "p".into(), prefix: String::new() }) };
    assert_eq!(blobs.list(list).await.unwrap().into_inner().keys, vec!["kept"]);
    server.stop().await;
}

#[tokio::test]
async fn debug_logs_and_traces_every_call() {
    let server = Running::start(false).await;
    let channel = server.channel().await;
    let mut debug = DebugClient::new(channel.clone());
    let mut store = StoreClient::new(channel.clone());

    assert_eq!(debug.health(HealthRequest {}).await.unwrap().into_inner().status, "ok");
    let read = ReadRequest { key: "missing".into(), options: None };
    let err = store.read(with(read, &[("micro-trace-id", "trace-1"), ("micro-span-id", "span-0")])).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let log = debug.log(LogRequest { count: 2, since: 0 }).await.unwrap().into_inner();
    assert_eq!(log.records.len(), 2);
    assert_eq!(log.records[0].message, "debug.Debug.Health OK");
    assert_eq!(log.records[1].message, "store.Store.Read NOT_FOUND");
    let meta = &log.records[1].metadata;
    assert_eq!(meta["level"], "error");
    assert_eq!(meta["service"], "store");
    assert_eq!(meta["endpoint"], "Store.Read");
    assert_eq!(meta["code"], "NOT_FOUND");
    assert_eq!(meta["trace"], "trace-1");
    assert!(log.records[1].timestamp >= log.records[0].timestamp);
    // All calls so far (health, read, the first log), and none after a future time.
    assert_eq!(debug.log(LogRequest { count: 0, since: 0 }).await.unwrap().into_inner().records.len(), 3);
    let future = LogRequest { count: 0, since: 4_102_444_800 };
    assert!(debug.log(future).await.unwrap().into_inner().records.is_empty());

    let trace = debug.trace(TraceRequest { id: "trace-1".into() }).await.unwrap().into_inner();
    assert_eq!(trace.spans.len(), 1);
    let span = &trace.spans[0];
    assert_eq!(
        (span.name.as_str(), span.parent.as_str(), span.trace.as_str()),
        ("store.Store.Read", "span-0", "trace-1")
    );
    assert_eq!(span.metadata["code"], "NOT_FOUND");
    assert_eq!(span.id.len(), 36);
    assert!(span.started > 1_600_000_000_000_000_000);
    let all = debug.trace(TraceRequest { id: String::new() }).await.unwrap().into_inner();
    assert!(all.spans.len() >= 5, "{}", all.spans.len());
    let ids: std::collections::HashSet<_> = all.spans.iter().map(|s| s.trace.clone()).collect();
    assert_eq!(ids.len(), all.spans.len(), "calls without a trace id each start a trace");

    let stats = debug.stats(StatsRequest {}).await.unwrap().into_inner();
    assert!(stats.requests >= 7 && stats.errors >= 1, "{stats:?}");
    assert!(stats.timestamp >= stats.started);
    if cfg!(target_os = "linux") {
        assert!(stats.memory > 0 && stats.threads > 0, "{stats:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn api_block_list() {
    let server = Running::start(false).await;
    let mut api = ApiClient::new(server.channel().await);
    let add = |id: &str, ns: &str| AddToBlockListRequest { id: id.into(), namespace: ns.into() };
    api.add_to_block_list(add("u2", "b")).await.expect("add");
    api.add_to_block_list(add("u1", "a")).await.expect("add");
    api.add_to_block_list(add("u1", "a")).await.expect("add twice");
    assert_eq!(api.read_block_list(ReadBlockListRequest {}).await.unwrap().into_inner().ids, vec!["a:u1", "b:u2"]);
    let remove = |id: &str, ns: &str| RemoveFromBlockListRequest { id: id.into(), namespace: ns.into() };
    api.remove_from_block_list(remove("u1", "a")).await.expect("remove");
    api.remove_from_block_list(remove("u1", "a")).await.expect("remove again");
    assert_eq!(api.read_block_list(ReadBlockListRequest {}).await.unwrap().into_inner().ids, vec!["b:u2"]);
    let err = api.add_to_block_list(add("", "a")).await.unwrap_err();
    assert_micro(&err, Code::InvalidArgument, "api.AddToBlockList", 400, "Missing ID field");
    let err = api.add_to_block_list(add("u", "")).await.unwrap_err();
    assert_micro(&err, Code::InvalidArgument, "api.AddToBlockList", 400, "Missing Namespace field");
    let err = api.remove_from_block_list(remove("", "a")).await.unwrap_err();
    assert_micro(&err, Code::InvalidArgument, "api.RemoveFromBlockList", 400, "Missing ID field");
    server.stop().await;
}

#[tokio::test]
async fn network_is_a_single_node() {
    let server = Running::start(false).await;
    let mut network = NetworkClient::new(server.channel().await);
    let address = server.addr.to_string();
    let nodes = network.nodes(NodesRequest { depth: 0 }).await.unwrap().into_inner().nodes;
    assert_eq!(nodes.len(), 1);
    let node = &nodes[0];
    assert_eq!((node.address.as_str(), node.network.as_str()), (address.as_str(), "micro"));
    let graph = network.graph(GraphRequest { depth: 3 }).await.unwrap().into_inner();
    let root = graph.root.expect("root");
    assert_eq!(root.node.as_ref(), Some(node));
    assert!(root.peers.is_empty());

    let services = network.services(ServicesRequest {}).await.unwrap().into_inner().services;
    for name in
        ["api", "auth", "broker", "client", "config", "events", "network", "registry", "router", "runtime", "store"]
    {
        assert!(services.iter().any(|s| s == name), "{name} in {services:?}");
    }
    let mut sorted = services.clone();
    sorted.sort();
    assert_eq!(services, sorted);

    let query = |service: &str| RoutesRequest { query: Some(Query { service: service.into(), ..Default::default() }) };
    let routes = network.routes(query("store")).await.unwrap().into_inner().routes;
    assert_eq!(routes.len(), 1);
    let route = &routes[0];
    assert_eq!(
        (route.address.as_str(), route.network.as_str(), route.link.as_str(), route.metric, route.router.as_str()),
        (address.as_str(), "micro", "local", 1, node.id.as_str())
    );
    assert!(network.routes(query("nope")).await.unwrap().into_inner().routes.is_empty());
    let all = network.routes(RoutesRequest { query: None }).await.unwrap().into_inner().routes;
    assert_eq!(all.len(), services.len());

    let status = network.status(StatusRequest {}).await.unwrap().into_inner();
    assert_eq!(status.status.and_then(|s| s.error).map(|e| e.count), Some(0));
    network.connect(ConnectRequest { nodes: vec![] }).await.expect("empty connect");
    let peer = Node { address: "10.0.0.1:8085".into(), ..Default::default() };
    let err = network.connect(ConnectRequest { nodes: vec![peer] }).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert_eq!(MicroError::from_status(&err).map(|e| (e.id, e.code)), Some(("network.Network.Connect".into(), 501)));
    server.stop().await;
}

#[tokio::test]
async fn router_table_lookup_and_watch() {
    let server = Running::start(true).await;
    let channel = server.channel().await;
    let mut router = RouterClient::new(channel.clone());
    let mut table = TableClient::new(channel.clone());

    let local = router.lookup(LookupRequest { service: "config".into(), options: None }).await.unwrap().into_inner();
    assert_eq!(local.routes.len(), 1);
    assert_eq!(local.routes[0].link, "local");

    let mut watch = router.watch(WatchRequest {}).await.unwrap().into_inner();
    let route = Route {
        service: "greeter".into(),
        address: "10.0.0.2:9000".into(),
        network: "micro".into(),
        metric: 10,
        ..Default::default()
    };
    table.create(route.clone()).await.expect("create");
    let err = table.create(route.clone()).await.unwrap_err();
    assert_micro(&err, Code::AlreadyExists, "router.Table.Create", 409, "duplicate route");
    let updated = Route { metric: 5, ..route.clone() };
    table.update(updated.clone()).await.expect("update");
    let read = table.read(TableReadRequest { service: "greeter".into() }).await.unwrap().into_inner().routes;
    assert_eq!(read, vec![updated.clone()]);

    let filtered = |address: &str| LookupRequest {
        service: "greeter".into(),
        options: Some(LookupOptions { address: address.into(), ..Default::default() }),
    };
    assert_eq!(router.lookup(filtered("10.0.0.2:9000")).await.unwrap().into_inner().routes, vec![updated.clone()]);
    let err = router.lookup(filtered("10.9.9.9:1")).await.unwrap_err();
    assert_micro(&err, Code::NotFound, "router.Router.Lookup", 404, "route not found");

    table.delete(updated.clone()).await.expect("delete");
    let err = table.delete(updated.clone()).await.unwrap_err();
    assert_micro(&err, Code::NotFound, "router.Table.Delete", 404, "route not found");
    let err = table.create(Route::default()).await.unwrap_err();
    assert_micro(&err, Code::InvalidArgument, "router.Table.Create", 400, "route service required");

    let mut kinds = Vec::new();
    for _ in 0..3 {
        let event =
            tokio::time::timeout(Duration::from_secs(5), watch.message()).await.expect("event").unwrap().unwrap();
        assert_eq!(event.id.len(), 36);
        assert!(event.timestamp > 1_600_000_000);
        assert_eq!(event.route.as_ref().map(|r| r.service.as_str()), Some("greeter"));
        kinds.push(event.r#type());
    }
    assert_eq!(kinds, vec![EventType::Create, EventType::Update, EventType::Delete]);

    // The watch ends with UNAVAILABLE when the server shuts down.
    let stopping = tokio::spawn(server.stop());
    let end = tokio::time::timeout(Duration::from_secs(5), watch.message()).await.expect("end of watch");
    assert_eq!(end.unwrap_err().code(), Code::Unavailable);
    stopping.await.expect("stopped");
}

#[tokio::test]
async fn router_await_hook_waits_for_a_watcher() {
    let server = Running::start(true).await;
    let channel = server.channel().await;
    let mut table = TableClient::new(channel.clone());
    let route = Route { service: "late".into(), address: "a:1".into(), ..Default::default() };
    let create =
        tokio::spawn(
            async move { table.create(with(route, &[("x-micro-test-await-subscribers", "1")])).await.map(|_| ()) },
        );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!create.is_finished(), "the create waits for a watcher");
    let mut watch = RouterClient::new(channel).watch(WatchRequest {}).await.unwrap().into_inner();
    create.await.unwrap().expect("create");
    let event = tokio::time::timeout(Duration::from_secs(5), watch.message()).await.unwrap().unwrap().unwrap();
    assert_eq!(event.route.map(|r| r.service), Some("late".to_owned()));
    server.stop().await;
}

fn call(service: &str, endpoint: &str, content_type: &str, body: Vec<u8>) -> client_pb::Request {
    client_pb::Request { service: service.into(), endpoint: endpoint.into(), content_type: content_type.into(), body }
}

#[tokio::test]
async fn client_routes_calls_to_the_servers_own_services() {
    let server = Running::start(true).await;
    let channel = server.channel().await;
    let mut client = ClientClient::new(channel.clone());

    // Protobuf: a write through the client, read back directly and through the client.
    let write = WriteRequest {
        record: Some(Record { key: "c".into(), value: b"v".to_vec(), ..Default::default() }),
        options: None,
    };
    let reply = client.call(call("store", "Store.Write", "application/protobuf", write.encode_to_vec())).await.unwrap();
    assert!(reply.into_inner().body.is_empty());
    let direct = StoreClient::new(channel.clone()).read(ReadRequest { key: "c".into(), options: None }).await.unwrap();
    assert_eq!(direct.into_inner().records[0].value, b"v");
    let read = ReadRequest { key: "c".into(), options: None }.encode_to_vec();
    let reply = client.call(call("store", "Store.Read", "", read)).await.unwrap().into_inner();
    let decoded = micro_server::pb::store::ReadResponse::decode(reply.body.as_slice()).unwrap();
    assert_eq!(decoded.records[0].key, "c");

    // JSON, with Micro's JSON codec: proto field names, defaults included.
    let reply = client.call(call("store", "Store.Read", "application/json", br#"{"key":"c"}"#.to_vec())).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&reply.into_inner().body).unwrap();
    assert_eq!(json, serde_json::json!({"records": [{"key": "c", "value": "dg==", "expiry": "0", "metadata": {}}]}));

    // Errors of the routed call come back as they are; unknown targets are UNIMPLEMENTED.
    let missing = ReadRequest { key: "nope".into(), options: None }.encode_to_vec();
    let err = client.call(call("store", "Store.Read", "", missing)).await.unwrap_err();
    assert_micro(&err, Code::NotFound, "store.Store.Read", 404, "not found");
    let err = client.call(call("nothing", "Foo.Bar", "", vec![])).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    let err = client.call(call("store", "Store.Nope", "application/json", b"{}".to_vec())).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    let err = client.call(call("store", "Read", "", vec![])).await.unwrap_err();
    assert_micro(
        &err,
        Code::InvalidArgument,
        "client.Client.Call",
        400,
        "invalid endpoint \"Read\": expected Handler.Method",
    );
    let err = client.call(call("store", "Store.Read", "text/plain", vec![])).await.unwrap_err();
    assert_micro(&err, Code::InvalidArgument, "client.Client.Call", 400, "unsupported content type \"text/plain\"");

    // Metadata is forwarded: the namespace reaches the blob store.
    let write = tokio_stream::iter(blob_write("fwd", "", &[b"ns"]));
    BlobStoreClient::new(channel.clone()).write(with(write, &[("micro-namespace", "fwd-ns")])).await.unwrap();
    let list = BlobListRequest { options: None }.encode_to_vec();
    let reply = client.call(with(call("store", "BlobStore.List", "", list), &[("micro-namespace", "fwd-ns")])).await;
    let keys = micro_server::pb::store::BlobListResponse::decode(reply.unwrap().into_inner().body.as_slice()).unwrap();
    assert_eq!(keys.keys, vec!["fwd"]);
    server.stop().await;
}

#[tokio::test]
async fn client_streams_in_both_directions() {
    let server = Running::start(true).await;
    let channel = server.channel().await;
    let mut client = ClientClient::new(channel.clone());

    // Client-streaming target: a blob written in two messages.
    let first = BlobWriteRequest { key: "s".into(), options: None, blob: b"ab".to_vec() };
    let second = BlobWriteRequest { blob: b"cd".to_vec(), ..Default::default() };
    let requests = vec![
        call("store", "BlobStore.Write", "", first.encode_to_vec()),
        client_pb::Request { body: second.encode_to_vec(), ..Default::default() },
    ];
    let mut replies = client.stream(tokio_stream::iter(requests)).await.unwrap().into_inner();
    let reply = replies.message().await.unwrap().expect("one reply");
    assert!(reply.body.is_empty());
    assert!(replies.message().await.unwrap().is_none());

    // Server-streaming target in JSON: store.List.
    let write = WriteRequest { record: Some(Record { key: "listed".into(), ..Default::default() }), options: None };
    StoreClient::new(channel.clone()).write(write).await.unwrap();
    let list = call("store", "Store.List", "application/json", br#"{"options":{"prefix":"list"}}"#.to_vec());
    let mut replies = client.stream(tokio_stream::iter(vec![list])).await.unwrap().into_inner();
    let reply = replies.message().await.unwrap().expect("one reply");
    let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(json, serde_json::json!({"keys": ["listed"]}));
    assert!(replies.message().await.unwrap().is_none());

    // The blob arrived whole.
    let chunks =
        blob_read(&mut BlobStoreClient::new(channel.clone()), Request::new(read_request("s", ""))).await.unwrap();
    assert_eq!(chunks.concat(), b"abcd");

    // Errors arrive as the stream's status.
    let mut replies = client.stream(tokio_stream::iter(Vec::<client_pb::Request>::new())).await.unwrap().into_inner();
    assert_micro(
        &replies.message().await.unwrap_err(),
        Code::InvalidArgument,
        "client.Client.Stream",
        400,
        "no request was sent",
    );
    let missing = ReadRequest { key: "nope".into(), options: None }.encode_to_vec();
    let mut replies =
        client.stream(tokio_stream::iter(vec![call("store", "Store.Read", "", missing)])).await.unwrap().into_inner();
    assert_micro(&replies.message().await.unwrap_err(), Code::NotFound, "store.Store.Read", 404, "not found");
    let mut replies = client.stream(tokio_stream::iter(vec![call("x", "Y.Z", "", vec![])])).await.unwrap().into_inner();
    assert_eq!(replies.message().await.unwrap_err().code(), Code::Unimplemented);
    server.stop().await;
}

#[tokio::test]
async fn client_publishes_to_the_broker() {
    let server = Running::start(true).await;
    let channel = server.channel().await;
    let mut subscription = BrokerClient::new(channel.clone())
        .subscribe(SubscribeRequest { topic: "news".into(), queue: String::new() })
        .await
        .unwrap()
        .into_inner();
    let message = client_pb::Message { topic: "news".into(), content_type: "text/plain".into(), body: b"hi".to_vec() };
    let publish = with(message.clone(), &[("x-micro-test-await-subscribers", "1")]);
    let echoed = ClientClient::new(channel.clone()).publish(publish).await.unwrap().into_inner();
    assert_eq!(echoed, message);
    let got = tokio::time::timeout(Duration::from_secs(5), subscription.message()).await.unwrap().unwrap().unwrap();
    assert_eq!(got.body, b"hi");
    assert_eq!(got.header.get("Content-Type").map(String::as_str), Some("text/plain"));
    assert_eq!(got.header.get("Micro-Topic").map(String::as_str), Some("news"));
    let err = ClientClient::new(channel).publish(client_pb::Message::default()).await.unwrap_err();
    assert_micro(&err, Code::InvalidArgument, "client.Client.Publish", 400, "topic is required");
    server.stop().await;
}

#[tokio::test]
async fn unknown_services_and_methods_are_unimplemented() {
    let server = Running::start(false).await;
    let channel = server.channel().await;
    let mut grpc = tonic::client::Grpc::new(channel);
    for path in ["/nothing.Nothing/Call", "/store.Store/Nope", "/debug.Debug/Nope", "/router.Router/Nope"] {
        grpc.ready().await.unwrap();
        let codec = tonic_prost_codec();
        let err = grpc
            .unary(Request::new(HealthRequest {}), http::uri::PathAndQuery::from_static(path), codec)
            .await
            .map(|_: tonic::Response<HealthRequest>| ())
            .unwrap_err();
        assert_eq!(err.code(), Code::Unimplemented, "{path}");
        assert_eq!(MicroError::from_status(&err), None, "{path}");
    }
    server.stop().await;
}

fn tonic_prost_codec<T, U>() -> tonic_prost::ProstCodec<T, U> {
    tonic_prost::ProstCodec::default()
}

fn bearer<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = MetadataValue::try_from(format!("Bearer {token}")).expect("header value");
    request.metadata_mut().insert("authorization", value);
    request
}

#[tokio::test]
async fn auth_guards_blob_namespaces_and_the_block_list() {
    use micro_server::pb::auth::{GenerateRequest, Options as AuthOptions, TokenRequest, auth_client::AuthClient};
    let server = Running::start_with(Options { auth: true, ..Options::default() }).await;
    let channel = server.channel().await;
    let mut auth = AuthClient::new(channel.clone());
    let token = |id: &str, secret: &str, namespace: &str| TokenRequest {
        id: id.into(),
        secret: secret.into(),
        options: Some(AuthOptions { namespace: namespace.into() }),
        ..Default::default()
    };
    let admin = auth.token(token("admin", "micro", "")).await.unwrap().into_inner().token.unwrap().access_token;
    let generate = GenerateRequest {
        id: "svc".into(),
        scopes: vec!["service".into()],
        r#type: "service".into(),
        options: Some(AuthOptions { namespace: "team".into() }),
        ..Default::default()
    };
    let account = auth.generate(bearer(generate, &admin)).await.unwrap().into_inner().account.unwrap();
    let team =
        auth.token(token("svc", &account.secret, "team")).await.unwrap().into_inner().token.unwrap().access_token;

    let mut blobs = BlobStoreClient::new(channel.clone());
    let list = |namespace: &str| BlobListRequest {
        options: Some(BlobListOptions { namespace: namespace.into(), prefix: String::new() }),
    };
    let err = blobs.list(list("team")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    blobs.write(bearer(tokio_stream::iter(blob_write("t", "team", &[b"x"])), &team)).await.expect("own namespace");
    assert_eq!(blobs.list(bearer(list("team"), &team)).await.unwrap().into_inner().keys, vec!["t"]);
    let err = blobs.read(bearer(read_request("t", "other"), &team)).await.unwrap_err();
    assert_micro(&err, Code::PermissionDenied, "store.Blob.Read", 403, "access denied to namespace");
    assert_eq!(blobs.list(bearer(list("team"), &admin)).await.unwrap().into_inner().keys, vec!["t"]);

    let mut api = ApiClient::new(channel.clone());
    let err = api.read_block_list(bearer(ReadBlockListRequest {}, &team)).await.unwrap_err();
    assert_micro(&err, Code::PermissionDenied, "api.API.AddToBlockList", 403, "access denied to namespace");
    let add = AddToBlockListRequest { id: "u".into(), namespace: "team".into() };
    api.add_to_block_list(bearer(add, &admin)).await.expect("admin adds");
    assert_eq!(
        api.read_block_list(bearer(ReadBlockListRequest {}, &admin)).await.unwrap().into_inner().ids,
        vec!["team:u"]
    );

    let route = Route { service: "x".into(), ..Default::default() };
    let err = TableClient::new(channel.clone()).create(bearer(route, &team)).await.unwrap_err();
    assert_micro(&err, Code::PermissionDenied, "router.Table.Create", 403, "access denied to namespace");
    server.stop().await;
}

#[tokio::test]
async fn client_streams_end_with_unavailable_on_shutdown() {
    let server = Running::start(true).await;
    let channel = server.channel().await;
    // A server-streaming endpoint starts once its request is complete: send it and half-close.
    let watch = call("router", "Router.Watch", "", Vec::new());
    let mut replies =
        ClientClient::new(channel.clone()).stream(tokio_stream::iter(vec![watch])).await.unwrap().into_inner();
    // The relayed Watch is open once a route change reaches it.
    let route = Route { service: "relayed".into(), ..Default::default() };
    TableClient::new(channel).create(with(route, &[("x-micro-test-await-subscribers", "1")])).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), replies.message()).await.unwrap().unwrap().unwrap();
    let event = micro_server::pb::router::Event::decode(reply.body.as_slice()).unwrap();
    assert_eq!(event.route.map(|r| r.service), Some("relayed".to_owned()));

    let stopping = tokio::spawn(server.stop());
    let end = tokio::time::timeout(Duration::from_secs(5), replies.message()).await.expect("end of stream");
    assert_eq!(end.unwrap_err().code(), Code::Unavailable);
    tokio::time::timeout(Duration::from_secs(10), stopping).await.expect("server stops").expect("join");
}

#[tokio::test]
async fn a_client_stream_waiting_for_input_ends_on_shutdown() {
    let server = Running::start(true).await;
    let channel = server.channel().await;
    let first = BlobWriteRequest { key: "open".into(), options: None, blob: b"a".to_vec() };
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(call("store", "BlobStore.Write", "", first.encode_to_vec())).await.unwrap();
    // The caller never half-closes, so the blob store keeps waiting for chunks.
    let mut replies =
        ClientClient::new(channel).stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await.unwrap().into_inner();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = tokio::spawn(server.stop());
    let end = tokio::time::timeout(Duration::from_secs(5), replies.message()).await.expect("end of stream");
    assert_eq!(end.unwrap_err().code(), Code::Unavailable);
    drop(tx);
    tokio::time::timeout(Duration::from_secs(10), stopping).await.expect("server stops").expect("join");
}

#[tokio::test]
async fn an_unfinished_blob_write_ends_on_shutdown() {
    let server = Running::start(false).await;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(BlobWriteRequest { key: "open".into(), options: None, blob: b"a".to_vec() }).await.unwrap();
    let mut blobs = BlobStoreClient::new(server.channel().await);
    let write = tokio::spawn(async move { blobs.write(tokio_stream::wrappers::ReceiverStream::new(rx)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = tokio::spawn(server.stop());
    let end = tokio::time::timeout(Duration::from_secs(5), write).await.expect("write ends").expect("join");
    assert_eq!(end.unwrap_err().code(), Code::Unavailable);
    drop(tx);
    tokio::time::timeout(Duration::from_secs(10), stopping).await.expect("server stops").expect("join");
}
