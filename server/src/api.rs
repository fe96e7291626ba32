//! `api.Api`: the API gateway's block list.
//!
//! As Micro v3.19.0's `APIHandler` over its in-memory block list
//! (`service/api/handler/handler.go`, `service/api/auth/blocklist.go`), except where noted:
//!
//! - `AddToBlockList{id, namespace}` blocks `id` in `namespace`; adding it again changes
//!   nothing. An empty `id` is 400 `api.AddToBlockList` / `Missing ID field`, an empty
//!   `namespace` 400 `api.AddToBlockList` / `Missing Namespace field`.
//! - `RemoveFromBlockList{id, namespace}` unblocks it; removing an entry that is not there
//!   succeeds. Empty fields are 400 with id `api.RemoveFromBlockList` and the same details.
//! - `ReadBlockList` returns every entry as `namespace:id`, sorted (Micro returns them in map
//!   order).
//! - With `--auth`, every method requires an admin of namespace `micro` (Micro's
//!   `AuthorizeAdmin`, whose error id is `api.API.AddToBlockList` for all three methods).
//! - The list is written through to the `--data` database (table `api.blocklist`); Micro keeps
//!   it in memory. As in Micro, only the HTTP gateway consults it; it has no effect on gRPC
//!   calls to this server.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex, MutexGuard},
};

use tonic::{Request, Response, Status};

use crate::{
    auth::authorize_namespace,
    error::MicroError,
    pb::api::{
        AddToBlockListRequest, AddToBlockListResponse, ReadBlockListRequest, ReadBlockListResponse,
        RemoveFromBlockListRequest, RemoveFromBlockListResponse, api_server::Api,
    },
    persist::Persist,
    shared::Shared,
};

/// Persistence table of the block list (`--data`); keys are the `namespace:id` entries.
const TABLE: &str = "api.blocklist";

/// The error id of Micro's admin check, the same for all three methods.
const AUTH_ID: &str = "api.API.AddToBlockList";

/// The `api.Api` service.
#[derive(Debug, Clone)]
pub(crate) struct ApiService {
    blocked: Arc<Mutex<BTreeSet<String>>>,
    persist: Persist,
    shared: Shared,
}

impl ApiService {
    /// The service with the block list persisted by an earlier run (`--data`).
    pub(crate) fn new(shared: &Shared) -> Self {
        let blocked = shared.persist.load(TABLE).into_iter().map(|(key, _)| String::from_utf8_lossy(&key).into_owned());
        Self {
            blocked: Arc::new(Mutex::new(blocked.collect())),
            persist: shared.persist.clone(),
            shared: shared.clone(),
        }
    }

    fn blocked(&self) -> MutexGuard<'_, BTreeSet<String>> {
        self.blocked.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The block list entry of `id` in `namespace`, or the 400 for a missing field.
fn entry(id: &str, namespace: &str, error_id: &str) -> Result<String, Status> {
    if id.is_empty() {
        return Err(MicroError::bad_request(error_id, "Missing ID field").into());
    }
    if namespace.is_empty() {
        return Err(MicroError::bad_request(error_id, "Missing Namespace field").into());
    }
    Ok(format!("{namespace}:{id}"))
}

#[tonic::async_trait]
impl Api for ApiService {
    async fn add_to_block_list(
        &self,
        request: Request<AddToBlockListRequest>,
    ) -> Result<Response<AddToBlockListResponse>, Status> {
        authorize_namespace(request.extensions(), &self.shared, "micro", AUTH_ID)?;
        let request = request.into_inner();
        let entry = entry(&request.id, &request.namespace, "api.AddToBlockList")?;
        self.persist.put(TABLE, entry.as_bytes(), b"")?;
        self.blocked().insert(entry);
        Ok(Response::new(AddToBlockListResponse {}))
    }

    async fn remove_from_block_list(
        &self,
        request: Request<RemoveFromBlockListRequest>,
    ) -> Result<Response<RemoveFromBlockListResponse>, Status> {
        authorize_namespace(request.extensions(), &self.shared, "micro", AUTH_ID)?;
        let request = request.into_inner();
        let entry = entry(&request.id, &request.namespace, "api.RemoveFromBlockList")?;
        self.persist.remove(TABLE, entry.as_bytes())?;
        self.blocked().remove(&entry);
        Ok(Response::new(RemoveFromBlockListResponse {}))
    }

    async fn read_block_list(
        &self,
        request: Request<ReadBlockListRequest>,
    ) -> Result<Response<ReadBlockListResponse>, Status> {
        authorize_namespace(request.extensions(), &self.shared, "micro", AUTH_ID)?;
        Ok(Response::new(ReadBlockListResponse { ids: self.blocked().iter().cloned().collect() }))
    }
}
