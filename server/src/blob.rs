//! `store.BlobStore`: binary objects (blobs) by key, one bucket per namespace.
//!
//! Behaviour, as Micro v3.19.0's blob handler (`service/store/handler/blob.go`) over its file
//! blob store, except where noted:
//!
//! - The namespace is `options.namespace`, or else the caller's namespace (the
//!   `micro-namespace` metadata), or else `micro`. Namespaces are separate buckets: a key
//!   written in one is invisible in every other.
//! - `Write` is client-streaming: the key and options come from the first message, the blob is
//!   the concatenation of every message's `blob` bytes, and it is stored (replacing an older
//!   blob of that key) once the client half-closes. A stream without any message is 400
//!   `store.Blob.Write` / `No blob was sent`; an empty key is 400 `store.Blob.Write` /
//!   `Missing key`. A first message with a key and no bytes stores an empty blob.
//!   A `Write` still receiving when the server shuts down ends with `UNAVAILABLE`.
//!   `options.public` and `options.contentType` are only kept in the `--data` database (no
//!   rpc reads them back, as in Micro).
//! - `Read` streams the blob in chunks of [`CHUNK`] (1024) bytes, the last one shorter; an
//!   empty blob is a stream without messages. A missing blob is 404 `store.Blob.Read` /
//!   `Blob not found`, an empty key 400 `store.Blob.Read` / `Missing key`.
//! - `Delete` removes the blob; a missing one is 404 `store.Blob.Delete` / `Blob not found`
//!   (as the proto documents; Micro's file store silently ignores it), an empty key 400
//!   `store.Blob.Delete` / `Missing key`.
//! - `List` returns the keys of the namespace that start with `options.prefix`, sorted. A
//!   namespace without blobs lists no keys (Micro's file store fails with 500 `not found`).
//! - Blobs are written through to the `--data` database (table `store.blobs`) and read back
//!   when the server starts.
//! - With `--auth`, every method requires an admin of the namespace (Micro's
//!   `AuthorizeAdmin`, errors 401/403 with the method's id).
//! - The error ids are Micro's: `store.Blob.<Method>` (not `store.BlobStore.<Method>`).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard},
};

use prost::Message as _;
use tonic::{Request, Response, Status, Streaming};

use crate::{
    auth::{Caller, authorize_namespace},
    error::MicroError,
    pb::store::{
        BlobDeleteRequest, BlobDeleteResponse, BlobListRequest, BlobListResponse, BlobOptions, BlobReadRequest,
        BlobReadResponse, BlobWriteRequest, BlobWriteResponse, blob_store_server::BlobStore,
    },
    persist::Persist,
    shared::{DEFAULT_NAMESPACE, Shared},
};

/// Size of the chunks `Read` streams, in bytes (Micro's `bufferSize`).
pub(crate) const CHUNK: usize = 1024;

/// Persistence table of the blobs (`--data`).
const TABLE: &str = "store.blobs";

/// namespace → key → blob bytes.
type Buckets = BTreeMap<String, BTreeMap<String, Arc<Vec<u8>>>>;

/// Persistence key of a blob: `namespace NUL key`.
fn persist_key(namespace: &str, key: &str) -> Vec<u8> {
    [namespace.as_bytes(), b"\0", key.as_bytes()].concat()
}

/// The namespace a request addresses: the one in its options, else the caller's (the
/// `micro-namespace` metadata, or with `--auth` the account's issuer), else `micro`.
fn namespace_of(extensions: &http::Extensions, options: Option<&str>) -> String {
    if let Some(ns) = options.filter(|ns| !ns.is_empty()) {
        return ns.to_owned();
    }
    extensions
        .get::<Caller>()
        .map(|caller| caller.namespace.as_str())
        .filter(|ns| !ns.is_empty())
        .unwrap_or(DEFAULT_NAMESPACE)
        .to_owned()
}

/// The `store.BlobStore` service.
#[derive(Debug, Clone)]
pub(crate) struct BlobService {
    buckets: Arc<Mutex<Buckets>>,
    persist: Persist,
    shared: Shared,
}

impl BlobService {
    /// The service with the blobs persisted by an earlier run (`--data`).
    pub(crate) fn new(shared: &Shared) -> Self {
        let mut buckets = Buckets::new();
        for (key, value) in shared.persist.load(TABLE) {
            let mut parts = key.splitn(2, |b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned());
            let (Some(namespace), Some(key)) = (parts.next(), parts.next()) else { continue };
            // Stored as a `BlobWriteRequest`: key, options (public, content type) and the bytes.
            let Ok(stored) = BlobWriteRequest::decode(value.as_slice()) else { continue };
            buckets.entry(namespace).or_default().insert(key, Arc::new(stored.blob));
        }
        Self { buckets: Arc::new(Mutex::new(buckets)), persist: shared.persist.clone(), shared: shared.clone() }
    }

    fn buckets(&self) -> MutexGuard<'_, Buckets> {
        self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[tonic::async_trait]
impl BlobStore for BlobService {
    type ReadStream = tokio_stream::Iter<std::vec::IntoIter<Result<BlobReadResponse, Status>>>;

    async fn read(&self, request: Request<BlobReadRequest>) -> Result<Response<Self::ReadStream>, Status> {
        const ID: &str = "store.Blob.Read";
        let options = request.get_ref().options.as_ref();
        let namespace = namespace_of(request.extensions(), options.map(|o| o.namespace.as_str()));
        authorize_namespace(request.extensions(), &self.shared, &namespace, ID)?;
        let key = &request.get_ref().key;
        if key.is_empty() {
            return Err(MicroError::bad_request(ID, "Missing key").into());
        }
        let data = self
            .buckets()
            .get(&namespace)
            .and_then(|bucket| bucket.get(key))
            .cloned()
            .ok_or_else(|| MicroError::not_found(ID, "Blob not found"))?;
        let chunks: Vec<_> = data.chunks(CHUNK).map(|chunk| Ok(BlobReadResponse { blob: chunk.to_vec() })).collect();
        Ok(Response::new(tokio_stream::iter(chunks)))
    }

    async fn write(
        &self,
        request: Request<Streaming<BlobWriteRequest>>,
    ) -> Result<Response<BlobWriteResponse>, Status> {
        const ID: &str = "store.Blob.Write";
        let (_, extensions, mut stream) = request.into_parts();
        let mut first: Option<(String, BlobOptions)> = None;
        let mut data = Vec::new();
        loop {
            let next = tokio::select! {
                () = self.shared.shutdown.cancelled() => return Err(Shared::shutting_down()),
                next = stream.message() => next,
            };
            let Some(message) = next.map_err(|status| MicroError::internal_server_error(ID, status.message()))? else {
                break;
            };
            if first.is_none() {
                let mut options = message.options.unwrap_or_default();
                options.namespace = namespace_of(&extensions, Some(&options.namespace));
                // Checked on the first message, to fail fast (as Micro).
                authorize_namespace(&extensions, &self.shared, &options.namespace, ID)?;
                first = Some((message.key, options));
            }
            data.extend_from_slice(&message.blob);
        }
        let Some((key, mut options)) = first else {
            return Err(MicroError::bad_request(ID, "No blob was sent").into());
        };
        if key.is_empty() {
            return Err(MicroError::bad_request(ID, "Missing key").into());
        }
        let namespace = std::mem::take(&mut options.namespace);
        let stored = BlobWriteRequest { key: key.clone(), options: Some(options), blob: data };
        self.persist.put(TABLE, &persist_key(&namespace, &key), &stored.encode_to_vec())?;
        self.buckets().entry(namespace).or_default().insert(key, Arc::new(stored.blob));
        Ok(Response::new(BlobWriteResponse {}))
    }

    async fn delete(&self, request: Request<BlobDeleteRequest>) -> Result<Response<BlobDeleteResponse>, Status> {
        const ID: &str = "store.Blob.Delete";
        let options = request.get_ref().options.as_ref();
        let namespace = namespace_of(request.extensions(), options.map(|o| o.namespace.as_str()));
        authorize_namespace(request.extensions(), &self.shared, &namespace, ID)?;
        let key = &request.get_ref().key;
        if key.is_empty() {
            return Err(MicroError::bad_request(ID, "Missing key").into());
        }
        let mut buckets = self.buckets();
        let bucket = buckets.get_mut(&namespace).filter(|bucket| bucket.contains_key(key));
        let Some(bucket) = bucket else {
            return Err(MicroError::not_found(ID, "Blob not found").into());
        };
        self.persist.remove(TABLE, &persist_key(&namespace, key))?;
        bucket.remove(key);
        if bucket.is_empty() {
            buckets.remove(&namespace);
        }
        Ok(Response::new(BlobDeleteResponse {}))
    }

    async fn list(&self, request: Request<BlobListRequest>) -> Result<Response<BlobListResponse>, Status> {
        const ID: &str = "store.Blob.List";
        let options = request.get_ref().options.clone().unwrap_or_default();
        let namespace = namespace_of(request.extensions(), Some(&options.namespace));
        authorize_namespace(request.extensions(), &self.shared, &namespace, ID)?;
        let keys = self
            .buckets()
            .get(&namespace)
            .map(|bucket| bucket.keys().filter(|key| key.starts_with(&options.prefix)).cloned().collect())
            .unwrap_or_default();
        Ok(Response::new(BlobListResponse { keys }))
    }
}
