//! Server lifecycle: `--data` persistence across a restart, the maximum message size, and
//! graceful shutdown (calls in flight finish; open streams end with `UNAVAILABLE`).

mod common;

use std::time::Duration;

use common::Running;
use micro_server::{
    Options,
    pb::{
        config::{GetRequest, SetRequest, Value, config_client::ConfigClient},
        store::{BlobOptions, BlobReadRequest, BlobWriteRequest, blob_store_client::BlobStoreClient},
        store::{ReadRequest, Record, WriteOptions, WriteRequest, store_client::StoreClient},
    },
};
use tonic::{Code, Request};

fn write(key: &str, value: Vec<u8>, expiry: i64) -> WriteRequest {
    WriteRequest {
        record: Some(Record { key: key.into(), value, expiry, ..Default::default() }),
        options: Some(WriteOptions { database: "persisted".into(), table: "t".into() }),
    }
}

fn read(key: &str) -> ReadRequest {
    ReadRequest {
        key: key.into(),
        options: Some(micro_server::pb::store::ReadOptions {
            database: "persisted".into(),
            table: "t".into(),
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn data_dir_keeps_store_config_and_blobs_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options { data_dir: Some(dir.path().to_owned()), ..Options::default() };

    let server = Running::start_with(options.clone()).await;
    let mut store = StoreClient::new(server.channel().await);
    store.write(write("kept", b"v1".to_vec(), 0)).await.expect("write");
    store.write(write("expiring", b"v2".to_vec(), 3600)).await.expect("write");
    store.write(write("gone", b"v3".to_vec(), 0)).await.expect("write");
    store
        .delete(micro_server::pb::store::DeleteRequest {
            key: "gone".into(),
            options: Some(micro_server::pb::store::DeleteOptions { database: "persisted".into(), table: "t".into() }),
        })
        .await
        .expect("delete");
    let mut config = ConfigClient::new(server.channel().await);
    let set = |path: &str, data: &str, secret: bool| SetRequest {
        namespace: "persisted".into(),
        path: path.into(),
        value: Some(Value { data: data.into(), format: "json".into() }),
        options: Some(micro_server::pb::config::Options { secret }),
    };
    config.set(set("db", r#"{"host":"h","port":5432}"#, false)).await.expect("set");
    config.set(set("db.password", r#""hunter2""#, true)).await.expect("set secret");
    let mut blobs = BlobStoreClient::new(server.channel().await);
    let chunks = [b"hello ".to_vec(), b"blob".to_vec()].into_iter().enumerate().map(|(i, blob)| BlobWriteRequest {
        key: if i == 0 { "b1".into() } else { String::new() },
        options: (i == 0).then(|| BlobOptions { namespace: "persisted".into(), ..Default::default() }),
        blob,
    });
    blobs.write(tokio_stream::iter(chunks)).await.expect("blob write");
    server.stop().await;

    let server = Running::start_with(options).await;
    let mut store = StoreClient::new(server.channel().await);
    let records = store.read(read("kept")).await.expect("read kept").into_inner().records;
    assert_eq!(records[0].value, b"v1");
    let records = store.read(read("expiring")).await.expect("read expiring").into_inner().records;
    assert_eq!(records[0].value, b"v2");
    assert!((3590..=3600).contains(&records[0].expiry), "expiry left: {}", records[0].expiry);
    let err = store.read(read("gone")).await.expect_err("deleted before the restart");
    assert_eq!(err.code(), Code::NotFound);

    let mut config = ConfigClient::new(server.channel().await);
    let get = |secret: bool| GetRequest {
        namespace: "persisted".into(),
        path: "db".into(),
        options: Some(micro_server::pb::config::Options { secret }),
    };
    let masked = config.get(get(false)).await.expect("get").into_inner().value.expect("value").data;
    assert_eq!(masked, r#"{"host":"h","password":"[secret]","port":5432}"#);
    let revealed = config.get(get(true)).await.expect("get").into_inner().value.expect("value").data;
    assert_eq!(revealed, r#"{"host":"h","password":"hunter2","port":5432}"#);

    let mut blobs = BlobStoreClient::new(server.channel().await);
    let read = BlobReadRequest {
        key: "b1".into(),
        options: Some(BlobOptions { namespace: "persisted".into(), ..Default::default() }),
    };
    let mut stream = blobs.read(read).await.expect("blob read").into_inner();
    let mut blob = Vec::new();
    while let Some(chunk) = stream.message().await.expect("chunk") {
        blob.extend(chunk.blob);
    }
    assert_eq!(blob, b"hello blob");
    server.stop().await;
}

#[tokio::test]
async fn a_data_dir_that_is_a_file_fails_to_start() {
    let file = tempfile::NamedTempFile::new().expect("file");
    let err = micro_server::Server::bind(Options {
        address: "127.0.0.1:0".parse().expect("address"),
        data_dir: Some(file.path().to_owned()),
        ..Options::default()
    })
    .await
    .expect_err("a file is not a data directory");
    assert!(err.to_string().contains("cannot open the data directory"), "{err}");
}

#[tokio::test]
async fn messages_over_the_maximum_size_are_resource_exhausted() {
    let server = Running::start_with(Options { max_message_size: 64 * 1024, ..Options::default() }).await;
    let mut store = StoreClient::new(server.channel().await).max_decoding_message_size(usize::MAX);
    store.write(write("small", vec![7; 60 * 1024], 0)).await.expect("under the limit");
    let err = store.write(write("big", vec![7; 65 * 1024], 0)).await.expect_err("over the limit");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");

    let server = Running::start_with(Options::default()).await;
    let mut store = StoreClient::new(server.channel().await)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
    // Exactly at the 4 MiB default the encoded request (record framing included) is a little
    // over: RESOURCE_EXHAUSTED. 64 bytes less fits.
    store.write(write("fits", vec![1; 4 * 1024 * 1024 - 64], 0)).await.expect("4 MiB - 64 bytes");
    let err = store.write(write("over", vec![1; 4 * 1024 * 1024], 0)).await.expect_err("4 MiB + framing");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
}

#[tokio::test]
async fn shutdown_lets_a_call_in_flight_finish() {
    let server = Running::start(true).await;
    let mut store = StoreClient::new(server.channel().await);
    let mut request = Request::new(write("slow", b"v".to_vec(), 0));
    request.metadata_mut().insert("x-micro-test-delay-ms", "300".parse().expect("value"));
    let call = tokio::spawn(async move { store.write(request).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    server.stop().await;
    assert!(started.elapsed() >= Duration::from_millis(100), "stop waited for the call");
    call.await.expect("join").expect("the call in flight completed");
}

#[tokio::test]
async fn shutdown_ends_open_streams_with_unavailable() {
    use micro_server::pb::{
        broker::{SubscribeRequest, broker_client::BrokerClient},
        registry::{WatchRequest, registry_client::RegistryClient},
    };

    let server = Running::start(false).await;
    let mut broker = BrokerClient::new(server.channel().await);
    let mut subscription = broker
        .subscribe(SubscribeRequest { topic: "t".into(), ..Default::default() })
        .await
        .expect("subscribe")
        .into_inner();
    let mut registry = RegistryClient::new(server.channel().await);
    let mut watch = registry.watch(WatchRequest::default()).await.expect("watch").into_inner();

    // Without the shutdown signal reaching the streams, stop() would wait for them forever.
    tokio::time::timeout(Duration::from_secs(10), server.stop()).await.expect("stop returns while streams were open");
    for (name, result) in
        [("subscribe", subscription.message().await.map(|_| ())), ("watch", watch.message().await.map(|_| ()))]
    {
        let err = result.expect_err(name);
        assert_eq!(err.code(), Code::Unavailable, "{name}: {err:?}");
    }
}
