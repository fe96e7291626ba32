//! Integration tests: a server on port 0, called with the generated tonic clients.

mod common;

use std::{collections::HashMap, time::Duration};

use common::{Running, USER_AGENT};
use micro_server::{
    MicroError, Options, Server,
    pb::{
        auth::{TokenRequest, auth_client::AuthClient},
        config::{self, config_client::ConfigClient},
        debug::{HealthRequest, StatsRequest, debug_client::DebugClient},
        errors,
        store::{
            DatabasesRequest, DeleteOptions, DeleteRequest, Field, ListOptions, ListRequest, ReadOptions, ReadRequest,
            Record, TablesRequest, WriteOptions, WriteRequest, store_client::StoreClient,
        },
    },
};
use prost::Message as _;
use tonic::{Code, Request, Status, metadata::MetadataValue, transport::Channel};

/// `google.rpc.Status`, decoded independently of the server's own definition.
#[derive(Clone, PartialEq, prost::Message)]
struct GoogleRpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

/// Checks the full Micro error encoding of `status` and returns the `errors.Error` detail.
fn micro_error(status: &Status) -> errors::Error {
    let rpc = GoogleRpcStatus::decode(status.details()).expect("grpc-status-details-bin");
    assert_eq!(rpc.code, status.code() as i32);
    assert_eq!(rpc.message, status.message());
    assert_eq!(rpc.details.len(), 1);
    assert_eq!(rpc.details[0].type_url, "type.googleapis.com/errors.Error");
    let err = errors::Error::decode(rpc.details[0].value.as_slice()).expect("errors.Error");
    let json: serde_json::Value = serde_json::from_str(status.message()).expect("JSON message");
    assert_eq!(json, serde_json::json!({"id": err.id, "code": err.code, "detail": err.detail, "status": err.status}));
    err
}

fn assert_micro_error(status: &Status, code: Code, id: &str, http: i32, text: &str, detail: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let err = micro_error(status);
    assert_eq!(err, errors::Error { id: id.into(), code: http, detail: detail.into(), status: text.into() });
}

fn record(key: &str, value: &[u8]) -> Record {
    Record { key: key.into(), value: value.to_vec(), ..Default::default() }
}

async fn write(client: &mut StoreClient<Channel>, db: &str, table: &str, key: &str, value: &[u8]) {
    client
        .write(WriteRequest {
            record: Some(record(key, value)),
            options: Some(WriteOptions { database: db.into(), table: table.into() }),
        })
        .await
        .expect("write");
}

async fn read(client: &mut StoreClient<Channel>, key: &str, options: ReadOptions) -> Result<Vec<Record>, Status> {
    client.read(ReadRequest { key: key.into(), options: Some(options) }).await.map(|r| r.into_inner().records)
}

fn keys(records: &[Record]) -> Vec<&str> {
    records.iter().map(|r| r.key.as_str()).collect()
}

async fn list(client: &mut StoreClient<Channel>, options: ListOptions) -> Result<Vec<Vec<String>>, Status> {
    let mut stream = client.list(ListRequest { options: Some(options) }).await?.into_inner();
    let mut messages = Vec::new();
    while let Some(message) = stream.message().await? {
        messages.push(message.keys);
    }
    Ok(messages)
}

#[tokio::test]
async fn store_round_trip_overwrite_delete_and_missing_key() {
    let server = Running::start(false).await;
    let mut store = StoreClient::new(server.channel().await);

    let mut rec = record("greeting", b"hello\x00\xff");
    rec.metadata.insert("color".into(), Field { r#type: "string".into(), value: "red".into() });
    rec.metadata.insert("count".into(), Field { r#type: "int".into(), value: "5".into() });
    store.write(WriteRequest { record: Some(rec), options: None }).await.expect("write");
    let got = read(&mut store, "greeting", ReadOptions::default()).await.expect("read");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].key, "greeting");
    assert_eq!(got[0].value, b"hello\x00\xff");
    assert_eq!(got[0].expiry, 0);
    // As Micro: only the metadata value is kept and it reads back as a Go string.
    let metadata: HashMap<_, _> =
        got[0].metadata.iter().map(|(k, f)| (k.as_str(), (f.r#type.as_str(), f.value.as_str()))).collect();
    assert_eq!(metadata, HashMap::from([("color", ("string", "red")), ("count", ("string", "5"))]));

    write(&mut store, "", "", "greeting", b"bye").await;
    let got = read(&mut store, "greeting", ReadOptions::default()).await.expect("read");
    assert_eq!(got[0].value, b"bye");

    // The default database and table are "micro".
    let got = read(
        &mut store,
        "greeting",
        ReadOptions { database: "micro".into(), table: "micro".into(), ..Default::default() },
    )
    .await
    .expect("read");
    assert_eq!(got[0].value, b"bye");

    let err = read(&mut store, "missing", ReadOptions::default()).await.unwrap_err();
    assert_micro_error(&err, Code::NotFound, "store.Store.Read", 404, "Not Found", "not found");

    store
        .delete(DeleteRequest { key: "greeting".into(), options: Some(DeleteOptions::default()) })
        .await
        .expect("delete");
    let err = read(&mut store, "greeting", ReadOptions::default()).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Deleting a missing key is fine.
    store.delete(DeleteRequest { key: "greeting".into(), options: None }).await.expect("delete again");

    server.stop().await;
}

#[tokio::test]
async fn store_prefix_suffix_limit_offset_order() {
    let server = Running::start(false).await;
    let mut store = StoreClient::new(server.channel().await);
    for key in ["user:3", "user:1", "user:2", "team:1", "user:10"] {
        write(&mut store, "q", "", key, key.as_bytes()).await;
    }
    let opts = |f: fn(&mut ReadOptions)| {
        let mut o = ReadOptions { database: "q".into(), ..Default::default() };
        f(&mut o);
        o
    };

    let got = read(&mut store, "user:", opts(|o| o.prefix = true)).await.unwrap();
    assert_eq!(keys(&got), ["user:1", "user:10", "user:2", "user:3"]);
    assert_eq!(got[1].value, b"user:10");

    let got = read(&mut store, ":1", opts(|o| o.suffix = true)).await.unwrap();
    assert_eq!(keys(&got), ["team:1", "user:1"]);

    let got = read(
        &mut store,
        "user:1",
        opts(|o| {
            o.prefix = true;
            o.suffix = true;
        }),
    )
    .await
    .unwrap();
    assert_eq!(keys(&got), ["user:1"]);

    let got = read(
        &mut store,
        "user:",
        opts(|o| {
            o.prefix = true;
            o.limit = 2;
            o.offset = 1;
        }),
    )
    .await
    .unwrap();
    assert_eq!(keys(&got), ["user:10", "user:2"]);

    let got = read(
        &mut store,
        "user:",
        opts(|o| {
            o.prefix = true;
            o.order = "desc".into();
            o.limit = 3;
        }),
    )
    .await
    .unwrap();
    assert_eq!(keys(&got), ["user:3", "user:2", "user:10"]);

    let got = read(
        &mut store,
        "user:",
        opts(|o| {
            o.prefix = true;
            o.order = "asc".into();
            o.offset = 10;
        }),
    )
    .await
    .unwrap();
    assert!(got.is_empty());

    // A prefix read with no match is an empty response, as Micro.
    let got = read(&mut store, "nobody", opts(|o| o.prefix = true)).await.unwrap();
    assert!(got.is_empty());

    // limit/offset do not apply to an exact read.
    let got = read(&mut store, "team:1", opts(|o| o.offset = 5)).await.unwrap();
    assert_eq!(keys(&got), ["team:1"]);

    let err = read(
        &mut store,
        "user:",
        opts(|o| {
            o.prefix = true;
            o.order = "random".into();
        }),
    )
    .await
    .unwrap_err();
    assert_micro_error(
        &err,
        Code::InvalidArgument,
        "store.Store.Read",
        400,
        "Bad Request",
        "invalid order \"random\": expected \"asc\" or \"desc\"",
    );
    server.stop().await;
}

#[tokio::test]
async fn store_list_streams_one_message() {
    let server = Running::start(false).await;
    let mut store = StoreClient::new(server.channel().await);
    for key in ["b", "a", "c", "ab", "cb"] {
        write(&mut store, "l", "t", key, b"x").await;
    }
    let opts = |f: fn(&mut ListOptions)| {
        let mut o = ListOptions { database: "l".into(), table: "t".into(), ..Default::default() };
        f(&mut o);
        o
    };
    assert_eq!(list(&mut store, opts(|_| {})).await.unwrap(), [["a", "ab", "b", "c", "cb"]]);
    assert_eq!(list(&mut store, opts(|o| o.prefix = "a".into())).await.unwrap(), [["a", "ab"]]);
    assert_eq!(list(&mut store, opts(|o| o.suffix = "b".into())).await.unwrap(), [["ab", "b", "cb"]]);
    assert_eq!(
        list(
            &mut store,
            opts(|o| {
                o.offset = 1;
                o.limit = 2;
            })
        )
        .await
        .unwrap(),
        [["ab", "b"]]
    );
    assert_eq!(list(&mut store, opts(|o| o.order = "desc".into())).await.unwrap(), [["cb", "c", "b", "ab", "a"]]);
    let empty: Vec<Vec<String>> = vec![vec![]];
    assert_eq!(list(&mut store, opts(|o| o.prefix = "zzz".into())).await.unwrap(), empty);
    assert_eq!(
        list(&mut store, ListOptions { database: "nothing-here".into(), ..Default::default() }).await.unwrap(),
        empty
    );
    let err = list(&mut store, opts(|o| o.order = "up".into())).await.unwrap_err();
    assert_micro_error(
        &err,
        Code::InvalidArgument,
        "store.Store.List",
        400,
        "Bad Request",
        "invalid order \"up\": expected \"asc\" or \"desc\"",
    );
    server.stop().await;
}

#[tokio::test]
async fn store_isolates_databases_and_tables() {
    let server = Running::start(false).await;
    let mut store = StoreClient::new(server.channel().await);
    write(&mut store, "db-b", "", "k", b"b").await;
    write(&mut store, "db-a", "t2", "k", b"a2").await;
    write(&mut store, "db-a", "t1", "k", b"a1").await;

    let get = |db: &str, table: &str| ReadOptions { database: db.into(), table: table.into(), ..Default::default() };
    assert_eq!(read(&mut store, "k", get("db-a", "t1")).await.unwrap()[0].value, b"a1");
    assert_eq!(read(&mut store, "k", get("db-a", "t2")).await.unwrap()[0].value, b"a2");
    assert_eq!(read(&mut store, "k", get("db-b", "")).await.unwrap()[0].value, b"b");
    assert_eq!(read(&mut store, "k", get("db-b", "micro")).await.unwrap()[0].value, b"b");
    assert_eq!(read(&mut store, "k", get("", "")).await.unwrap_err().code(), Code::NotFound);

    let dbs = store.databases(DatabasesRequest {}).await.unwrap().into_inner().databases;
    assert_eq!(dbs, ["db-a", "db-b"]);
    let tables = |db: &str| TablesRequest { database: db.into() };
    assert_eq!(store.tables(tables("db-a")).await.unwrap().into_inner().tables, ["t1", "t2"]);
    assert_eq!(store.tables(tables("db-b")).await.unwrap().into_inner().tables, ["micro"]);
    assert!(store.tables(tables("")).await.unwrap().into_inner().tables.is_empty());
    assert!(store.tables(tables("none")).await.unwrap().into_inner().tables.is_empty());

    // Reading does not create a database; deleting the last record removes it.
    let _ = read(&mut store, "k", get("db-c", "")).await;
    store
        .delete(DeleteRequest {
            key: "k".into(),
            options: Some(DeleteOptions { database: "db-b".into(), table: String::new() }),
        })
        .await
        .unwrap();
    let dbs = store.databases(DatabasesRequest {}).await.unwrap().into_inner().databases;
    assert_eq!(dbs, ["db-a"]);
    server.stop().await;
}

#[tokio::test]
async fn store_write_validation_and_expiry() {
    let server = Running::start(false).await;
    let mut store = StoreClient::new(server.channel().await);
    let err = store.write(WriteRequest { record: None, options: None }).await.unwrap_err();
    assert_micro_error(&err, Code::InvalidArgument, "store.Store.Write", 400, "Bad Request", "no record specified");

    let expiring = |key: &str, expiry: i64| WriteRequest {
        record: Some(Record { expiry, ..record(key, b"v") }),
        options: Some(WriteOptions { database: "exp".into(), table: String::new() }),
    };
    store.write(expiring("hour", 3600)).await.unwrap();
    store.write(expiring("past", -1)).await.unwrap();
    store.write(expiring("short", 1)).await.unwrap();
    let opts = ReadOptions { database: "exp".into(), ..Default::default() };
    let got = read(&mut store, "hour", opts.clone()).await.unwrap();
    assert_eq!(got[0].expiry, 3600, "remaining seconds are rounded up");
    assert_eq!(read(&mut store, "past", opts.clone()).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(read(&mut store, "short", opts.clone()).await.unwrap()[0].expiry, 1);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(read(&mut store, "short", opts.clone()).await.unwrap_err().code(), Code::NotFound);
    let all = read(&mut store, "", ReadOptions { prefix: true, ..opts.clone() }).await.unwrap();
    assert_eq!(keys(&all), ["hour"]);
    let listed = list(&mut store, ListOptions { database: "exp".into(), ..Default::default() }).await.unwrap();
    assert_eq!(listed, [["hour"]]);

    // An already expired write hides an existing record of the same key.
    store.write(expiring("hour", -5)).await.unwrap();
    assert_eq!(read(&mut store, "hour", opts).await.unwrap_err().code(), Code::NotFound);
    let dbs = store.databases(DatabasesRequest {}).await.unwrap().into_inner().databases;
    assert!(dbs.is_empty(), "{dbs:?}");
    server.stop().await;
}

fn set(ns: &str, path: &str, data: &str, secret: bool) -> config::SetRequest {
    config::SetRequest {
        namespace: ns.into(),
        path: path.into(),
        value: Some(config::Value { data: data.into(), format: "json".into() }),
        options: Some(config::Options { secret }),
    }
}

async fn get(client: &mut ConfigClient<Channel>, ns: &str, path: &str, secret: bool) -> Result<String, Status> {
    let value = client
        .get(config::GetRequest { namespace: ns.into(), path: path.into(), options: Some(config::Options { secret }) })
        .await?
        .into_inner()
        .value
        .expect("value");
    assert_eq!(value.format, "json");
    Ok(value.data)
}

#[tokio::test]
async fn config_set_get_merge_delete_and_secrets() {
    let server = Running::start(false).await;
    let mut cfg = ConfigClient::new(server.channel().await);

    let err = get(&mut cfg, "app", "", false).await.unwrap_err();
    assert_micro_error(&err, Code::NotFound, "config.Config.Get", 404, "Not Found", "not found");

    cfg.set(set("app", "db.host", "\"localhost\"", false)).await.unwrap();
    cfg.set(set("app", "db.port", "5432", false)).await.unwrap();
    cfg.set(set("app", "", r#"{"name":"shop","features":{"z":1,"a":[true,null]}}"#, false)).await.unwrap();
    assert_eq!(get(&mut cfg, "app", "db.host", false).await.unwrap(), "\"localhost\"");
    assert_eq!(get(&mut cfg, "app", "db", false).await.unwrap(), r#"{"host":"localhost","port":5432}"#);
    assert_eq!(
        get(&mut cfg, "app", "", false).await.unwrap(),
        r#"{"db":{"host":"localhost","port":5432},"features":{"a":[true,null],"z":1},"name":"shop"}"#
    );
    let err = get(&mut cfg, "app", "db.user", false).await.unwrap_err();
    assert_micro_error(&err, Code::NotFound, "config.Config.Get", 404, "Not Found", "not found");
    let err = get(&mut cfg, "app", "db.host.deeper", false).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // Objects merge at the path.
    cfg.set(set("app", "db", r#"{"user":"admin"}"#, false)).await.unwrap();
    assert_eq!(get(&mut cfg, "app", "db", false).await.unwrap(), r#"{"host":"localhost","port":5432,"user":"admin"}"#);

    // Secrets.
    cfg.set(set("app", "db.password", "\"hunter2\"", true)).await.unwrap();
    assert_eq!(get(&mut cfg, "app", "db.password", false).await.unwrap(), "\"[secret]\"");
    assert_eq!(get(&mut cfg, "app", "db.password", true).await.unwrap(), "\"hunter2\"");
    assert_eq!(
        get(&mut cfg, "app", "db", false).await.unwrap(),
        r#"{"host":"localhost","password":"[secret]","port":5432,"user":"admin"}"#
    );

    // Invalid JSON and a missing value.
    let err = cfg.set(set("app", "x", "{not json", false)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let e = micro_error(&err);
    assert_eq!((e.id.as_str(), e.code, e.status.as_str()), ("config.Config.Set", 400, "Bad Request"));
    assert!(e.detail.starts_with("invalid json: "), "{}", e.detail);
    let err = cfg
        .set(config::SetRequest { namespace: "app".into(), path: "x".into(), value: None, options: None })
        .await
        .unwrap_err();
    assert_micro_error(&err, Code::InvalidArgument, "config.Config.Set", 400, "Bad Request", "no value specified");

    // Delete a path, a missing path, then everything.
    let del = |ns: &str, path: &str| config::DeleteRequest { namespace: ns.into(), path: path.into() };
    cfg.delete(del("app", "db.port")).await.unwrap();
    cfg.delete(del("app", "no.such.path")).await.unwrap();
    cfg.delete(del("nobody", "x")).await.unwrap();
    let err = get(&mut cfg, "app", "db.port", false).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    cfg.delete(del("app", "")).await.unwrap();
    assert_eq!(get(&mut cfg, "app", "", false).await.unwrap_err().code(), Code::NotFound);

    // The default namespace is "micro".
    cfg.set(set("", "k", "1", false)).await.unwrap();
    assert_eq!(get(&mut cfg, "micro", "k", false).await.unwrap(), "1");
    server.stop().await;
}

#[tokio::test]
async fn config_read_returns_the_legacy_change_set() {
    use sha2::{Digest, Sha256};

    let server = Running::start(false).await;
    let mut cfg = ConfigClient::new(server.channel().await);
    cfg.set(set("legacy", "a.b", "{\"y\":2,\"x\":1}", false)).await.unwrap();
    cfg.set(set("legacy", "a.s", "\"p\"", true)).await.unwrap();
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let change = cfg
        .read(config::ReadRequest { namespace: "legacy".into(), path: "a".into() })
        .await
        .unwrap()
        .into_inner()
        .change
        .expect("change");
    assert_eq!(change.namespace, "legacy");
    assert_eq!(change.path, "a");
    let set = change.change_set.expect("change set");
    assert_eq!(set.data, r#"{"b":{"x":1,"y":2},"s":"[secret]"}"#);
    assert_eq!(set.format, "json");
    assert_eq!(set.source, "micro-server");
    let expected: String = Sha256::digest(set.data.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(set.checksum, expected);
    assert!(set.timestamp > 0 && set.timestamp.unsigned_abs() <= before + 1, "{}", set.timestamp);

    let err = cfg.read(config::ReadRequest { namespace: "unknown".into(), path: String::new() }).await.unwrap_err();
    assert_micro_error(&err, Code::NotFound, "config.Config.Read", 404, "Not Found", "not found");
    server.stop().await;
}

#[tokio::test]
async fn debug_health_stats_and_unimplemented_services() {
    let server = Running::start(false).await;
    let channel = server.channel().await;
    let mut debug = DebugClient::new(channel.clone());
    assert_eq!(debug.health(HealthRequest {}).await.unwrap().into_inner().status, "ok");
    let _ =
        StoreClient::new(channel.clone()).read(ReadRequest { key: "nope".into(), options: None }).await.unwrap_err();
    let stats = debug.stats(StatsRequest {}).await.unwrap().into_inner();
    assert!(stats.started > 1_600_000_000);
    assert!(stats.timestamp >= stats.started);
    assert!(stats.requests >= 3, "{stats:?}");
    assert!(stats.errors >= 1, "{stats:?}");

    // auth is implemented now (tests/auth.rs); unknown services are covered in tests/services.rs.
    let err = AuthClient::new(channel).token(TokenRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(MicroError::from_status(&err).map(|e| e.detail), Some("Credentials or a refresh token required".into()));
    server.stop().await;
}

fn with_metadata<T>(message: T, pairs: &[(&'static str, &str)]) -> Request<T> {
    let mut request = Request::new(message);
    for (key, value) in pairs {
        request.metadata_mut().insert(*key, MetadataValue::try_from(*value).expect("ascii"));
    }
    request
}

#[tokio::test]
async fn bad_authorization_is_unauthenticated_and_bearer_is_accepted() {
    let server = Running::start(false).await;
    let channel = server.channel().await;
    let mut debug = DebugClient::new(channel.clone());
    let err =
        debug.health(with_metadata(HealthRequest {}, &[("authorization", "Basic dXNlcjpwYXNz")])).await.unwrap_err();
    assert_micro_error(
        &err,
        Code::Unauthenticated,
        "micro-server",
        401,
        "Unauthorized",
        "invalid authorization header. expected Bearer schema",
    );
    let err = list(&mut StoreClient::new(channel.clone()), ListOptions::default()).await;
    assert!(err.is_ok());
    let mut store = StoreClient::new(channel.clone());
    let err =
        store.list(with_metadata(ListRequest { options: None }, &[("authorization", "bearer x")])).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let ok = debug
        .health(with_metadata(
            HealthRequest {},
            &[("authorization", "Bearer anything"), ("micro-namespace", "tenant-a")],
        ))
        .await
        .unwrap();
    assert_eq!(ok.into_inner().status, "ok");
    server.stop().await;
}

#[tokio::test]
async fn echo_hook_returns_the_received_metadata() {
    let server = Running::start(true).await;
    let channel = server.channel().await;
    let mut debug = DebugClient::new(channel.clone());
    let response = debug
        .health(with_metadata(
            HealthRequest {},
            &[("x-micro-test-echo", "1"), ("authorization", "Bearer tok-123"), ("micro-namespace", "tenant-a")],
        ))
        .await
        .unwrap();
    let headers = response.metadata();
    assert_eq!(headers.get("x-micro-echo-authorization").unwrap(), "Bearer tok-123");
    assert_eq!(headers.get("x-micro-echo-namespace").unwrap(), "tenant-a");
    let agent = headers.get("x-micro-echo-user-agent").unwrap().to_str().unwrap();
    assert!(agent.starts_with(USER_AGENT), "{agent}");

    // Headers that were not received are not echoed; errors and streams echo too.
    let err = StoreClient::new(channel.clone())
        .read(with_metadata(ReadRequest { key: "nope".into(), options: None }, &[("x-micro-test-echo", "")]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.metadata().get("x-micro-echo-authorization").is_none());
    assert!(err.metadata().get("x-micro-echo-namespace").is_none());
    assert!(err.metadata().get("x-micro-echo-user-agent").is_some());
    let stream = StoreClient::new(channel.clone())
        .list(with_metadata(ListRequest { options: None }, &[("x-micro-test-echo", "1"), ("micro-namespace", "ns")]))
        .await
        .unwrap();
    assert_eq!(stream.metadata().get("x-micro-echo-namespace").unwrap(), "ns");

    // Without the hook nothing is echoed.
    let response = debug.health(HealthRequest {}).await.unwrap();
    assert!(response.metadata().get("x-micro-echo-user-agent").is_none());
    server.stop().await;
}

#[tokio::test]
async fn delay_hook_waits_and_deadlines_are_enforced() {
    let server = Running::start(true).await;
    let mut debug = DebugClient::new(server.channel().await);

    let started = std::time::Instant::now();
    debug.health(with_metadata(HealthRequest {}, &[("x-micro-test-delay-ms", "300")])).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));

    // The server answers DEADLINE_EXCEEDED (not CANCELLED) without a Micro error, shortly before
    // the deadline. tonic's client enforces the same deadline and reports its own expiry as
    // CANCELLED "Timeout expired"; on a loaded machine that timer can win the race, which is the
    // client's doing, so that one outcome counts as the deadline too.
    let at_deadline = |err: &tonic::Status| {
        err.code() == Code::DeadlineExceeded || (err.code() == Code::Cancelled && err.message() == "Timeout expired")
    };
    let mut request = with_metadata(HealthRequest {}, &[("x-micro-test-delay-ms", "1000")]);
    request.set_timeout(Duration::from_millis(100));
    let started = std::time::Instant::now();
    let err = debug.health(request).await.unwrap_err();
    assert!(at_deadline(&err), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(900));
    assert_eq!(MicroError::from_status(&err), None);
    assert!(err.details().is_empty());

    // Streaming calls honour the hook too.
    let mut request = with_metadata(ListRequest { options: None }, &[("x-micro-test-delay-ms", "1000")]);
    request.set_timeout(Duration::from_millis(100));
    let err = StoreClient::new(server.channel().await).list(request).await.unwrap_err();
    assert!(at_deadline(&err), "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn hooks_are_ignored_without_test_hooks() {
    let server = Running::start(false).await;
    let mut debug = DebugClient::new(server.channel().await);
    let started = std::time::Instant::now();
    let response = debug
        .health(with_metadata(HealthRequest {}, &[("x-micro-test-delay-ms", "2000"), ("x-micro-test-echo", "1")]))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert!(response.metadata().get("x-micro-echo-user-agent").is_none());
    server.stop().await;
}

#[tokio::test]
async fn binding_a_used_address_fails() {
    let server = Running::start(false).await;
    let err = Server::bind(Options { address: server.addr, ..Options::default() }).await.unwrap_err();
    assert!(matches!(err, micro_server::Error::Bind { address, .. } if address == server.addr));
    assert_eq!(err.to_string(), format!("cannot listen on {}", server.addr));
    assert_eq!(Options::default().address.to_string(), "127.0.0.1:8081");
    assert!(!Options::default().test_hooks);
    server.stop().await;
}

#[test]
fn binary_prints_its_address_and_serves() {
    use std::io::{BufRead, BufReader};

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_micro-server"))
        .args(["--address", "127.0.0.1:0", "--test-hooks"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn micro-server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read line");
    let addr = line
        .trim_end()
        .strip_prefix("micro-server listening on ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .to_owned();
    assert!(!addr.ends_with(":0"), "{addr}");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let status = runtime.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        DebugClient::new(channel).health(HealthRequest {}).await.map(|r| r.into_inner().status)
    });
    child.kill().expect("kill");
    let _ = child.wait();
    assert_eq!(status.expect("health"), "ok");
}
