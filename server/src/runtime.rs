//! `runtime.Runtime`, `runtime.Source` and `runtime.Build`: a runtime that records services
//! and runs no processes.
//!
//! Resources live in a namespace (`options.namespace`, `micro` when empty); namespaces are
//! isolated from each other. Behaviour, as Micro v3's runtime handlers, except where noted:
//!
//! - `Create`, `Update` and `Delete` without a resource (or with an empty one) are 400
//!   `runtime.Runtime.<Method>` / `blank resource`.
//! - Services are keyed by `(name, version)`; an empty version means `latest` (Micro's CLI sets
//!   it; its handler keeps the empty string). A service without a name is 400 `missing service
//!   name`.
//! - `Create` of a service records it with `status` 4 (running) and the metadata it was sent
//!   plus `started` (RFC 3339 UTC time, as Micro), `status: "running"` and, when
//!   `options.type` is set, `type` (what `Read`'s `type` filter matches). No process is started:
//!   the service is only a record. Creating an existing service without `options.force` is 409
//!   `runtime.Runtime.Create` / `service already exists` (Micro: 500); with `force` it is
//!   replaced. `Update` of a service merges the metadata sent into the record, replaces `source`
//!   when one is sent and refreshes `started`; an unknown service is 404 `runtime.Runtime.Update`
//!   / `service not found` (Micro: 500). `Delete` of an unknown service succeeds (as Micro).
//! - Namespaces, network policies and resource quotas are recorded (create/update upsert,
//!   delete removes; a network policy or quota lives in its own `namespace`, else the options'
//!   one); no rpc reads them back. Without a name they are 400 `missing name`. Micro publishes
//!   a `runtime` event for every change; this runtime does not.
//! - `Read` returns the services of the namespace matching the non-empty `service`, `version`
//!   and `type` filters, sorted by name then version.
//! - `Logs` streams the lifecycle lines recorded for the service (`Creating service NAME version
//!   VERSION source SOURCE`, `Updating service …`, `Deleting service …`, the lines Micro's handler
//!   logs) as `LogRecord{timestamp: unix seconds, metadata: {service, version}, message}` (Micro
//!   sends timestamp 0). `since` (seconds before now) and then `count` (the most recent N; 0 =
//!   all) select the lines sent first; with `stream: true` the call then follows new lines until
//!   the client cancels, and ends (OK) after the `Deleting` line when the service is deleted.
//!   `version` empty picks `latest` if recorded, else the first version by name. No service
//!   name is 400 `runtime.Runtime.Logs` / `missing service name`; an unknown service is 404
//!   `service not found`.
//! - `Source.Upload` collects the chunks (at most [`MAX_UPLOAD`] bytes, else 400) and answers
//!   `id: "source://NAME:VERSION"` as Micro; without a service in any chunk it is 400
//!   `runtime.Source.Upload` / `No service was sent`. Uploads are kept in memory per namespace
//!   (the caller's `micro-namespace`; Micro: the account's issuer, and it requires an account).
//! - `Build.Read` needs `name` and `version` (400 `runtime.Build.Read` / `Missing name`,
//!   `Missing version`); this runtime builds nothing, so every build is 404 `Build not found`.
//! - Open `Logs` streams end with 503 `UNAVAILABLE` when the server shuts down.
//!
//! Everything is kept in memory only.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use tokio::sync::watch;
use tokio_stream::StreamExt as _;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use crate::{
    auth::authorize_namespace,
    broker::{BoxStream, caller_namespace, lock},
    error::MicroError,
    pb::runtime::{
        BuildReadResponse, CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, LogRecord, LogsRequest,
        ReadRequest, ReadResponse, Resource, Service, UpdateRequest, UpdateResponse, UploadRequest, UploadResponse,
        build_server::Build, runtime_server::Runtime, source_server::Source,
    },
    shared::{Shared, namespace_or_default, unix_now},
};

/// The largest source upload kept, in bytes (64 MiB).
pub(crate) const MAX_UPLOAD: usize = 64 * 1024 * 1024;
/// The version used when a request names none.
const DEFAULT_VERSION: &str = "latest";
/// `Service.status` of a recorded service: running.
const STATUS_RUNNING: i32 = 4;

/// The log lines of one service, shared with the streams that follow them.
#[derive(Debug)]
struct LogBook {
    /// The lines, and whether the service was deleted (no more lines).
    lines: Mutex<(Vec<LogRecord>, bool)>,
    /// Bumped on every change.
    changed: watch::Sender<()>,
}

impl LogBook {
    fn new() -> Arc<Self> {
        Arc::new(Self { lines: Mutex::new((Vec::new(), false)), changed: watch::Sender::new(()) })
    }

    fn append(&self, service: &Service, message: String, close: bool) {
        let record = LogRecord {
            timestamp: i64::try_from(unix_now()).unwrap_or(i64::MAX),
            metadata: HashMap::from([
                ("service".to_owned(), service.name.clone()),
                ("version".to_owned(), service.version.clone()),
            ]),
            message,
        };
        let mut lines = lock(&self.lines);
        lines.0.push(record);
        lines.1 |= close;
        drop(lines);
        self.changed.send_replace(());
    }
}

/// A recorded service.
#[derive(Debug)]
struct Record {
    service: Service,
    book: Arc<LogBook>,
}

/// What kind of non-service resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Namespace,
    NetworkPolicy,
    ResourceQuota,
}

#[derive(Debug, Default)]
struct State {
    /// namespace → (name, version) → service.
    services: HashMap<String, BTreeMap<(String, String), Record>>,
    /// (kind, namespace, name) of the other resources.
    resources: BTreeSet<(Kind, String, String)>,
    /// (namespace, upload id) → source bytes.
    uploads: HashMap<(String, String), Vec<u8>>,
}

/// `runtime.Runtime`, `runtime.Source` and `runtime.Build` (one state; clone for each).
#[derive(Debug, Clone)]
pub(crate) struct RuntimeService {
    shared: Shared,
    state: Arc<Mutex<State>>,
}

impl RuntimeService {
    /// A runtime with nothing recorded.
    pub(crate) fn new(shared: &Shared) -> Self {
        Self { shared: shared.clone(), state: Arc::default() }
    }
}

/// `version`, or `latest` when empty.
fn version_or_default(version: &str) -> String {
    if version.is_empty() { DEFAULT_VERSION.to_owned() } else { version.to_owned() }
}

/// The non-blank resource of a request, or 400 `blank resource`.
fn resource(resource: Option<Resource>, id: &str) -> Result<Resource, Status> {
    match resource {
        Some(r)
            if r.namespace.is_some()
                || r.networkpolicy.is_some()
                || r.service.is_some()
                || r.resourcequota.is_some() =>
        {
            Ok(r)
        }
        _ => Err(MicroError::bad_request(id, "blank resource").into()),
    }
}

/// The (kind, namespace, name) of a non-service resource, or 400 `missing name`.
fn other_resource(resource: &Resource, namespace: &str, id: &str) -> Result<(Kind, String, String), Status> {
    let (kind, own_namespace, name) = if let Some(ns) = &resource.namespace {
        (Kind::Namespace, ns.name.as_str(), ns.name.as_str())
    } else if let Some(policy) = &resource.networkpolicy {
        (Kind::NetworkPolicy, policy.namespace.as_str(), policy.name.as_str())
    } else if let Some(quota) = &resource.resourcequota {
        (Kind::ResourceQuota, quota.namespace.as_str(), quota.name.as_str())
    } else {
        return Err(MicroError::bad_request(id, "blank resource").into());
    };
    if name.is_empty() {
        return Err(MicroError::bad_request(id, "missing name").into());
    }
    let namespace = if own_namespace.is_empty() { namespace.to_owned() } else { own_namespace.to_owned() };
    Ok((kind, namespace, name.to_owned()))
}

/// The service of a request, with its version defaulted, or 400 `missing service name`.
fn named_service(service: &Service, id: &str) -> Result<Service, Status> {
    if service.name.is_empty() {
        return Err(MicroError::bad_request(id, "missing service name").into());
    }
    let mut service = service.clone();
    service.version = version_or_default(&service.version);
    Ok(service)
}

/// Sets the metadata a running record carries: `started` (now) and `status`.
fn mark_started(service: &mut Service) {
    service.metadata.insert("started".to_owned(), rfc3339(unix_now()));
    service.metadata.insert("status".to_owned(), "running".to_owned());
    service.status = STATUS_RUNNING;
}

/// Unix seconds as an RFC 3339 UTC time, e.g. `2021-03-04T05:06:07Z`.
fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The lines selected by `since` (seconds before now, 0 = all) then `count` (last N, 0 = all).
fn select_lines(lines: &[LogRecord], since: i64, count: i64) -> VecDeque<LogRecord> {
    let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
    let mut selected: VecDeque<LogRecord> =
        lines.iter().filter(|line| since <= 0 || line.timestamp >= now - since).cloned().collect();
    if let Ok(count) = usize::try_from(count) {
        if count > 0 && selected.len() > count {
            selected.drain(..selected.len() - count);
        }
    }
    selected
}

/// The state of one `Logs` stream.
struct LogsFollower {
    /// Lines to send before following.
    pending: VecDeque<LogRecord>,
    /// When following: the book, the index of the next line, and change notifications.
    follow: Option<(Arc<LogBook>, usize, watch::Receiver<()>)>,
    shutdown: CancellationToken,
    done: bool,
}

impl LogsFollower {
    async fn next(mut self) -> Option<(Result<LogRecord, Status>, Self)> {
        if self.done {
            return None;
        }
        if let Some(line) = self.pending.pop_front() {
            return Some((Ok(line), self));
        }
        loop {
            // Some(Some(line)): send it; Some(None): the service was deleted; None: wait.
            let next = {
                let (book, index, changed) = self.follow.as_mut()?;
                changed.borrow_and_update();
                let lines = lock(&book.lines);
                match lines.0.get(*index) {
                    Some(line) => {
                        *index += 1;
                        Some(Some(line.clone()))
                    }
                    None if lines.1 => Some(None),
                    None => None,
                }
            };
            match next {
                Some(Some(line)) => return Some((Ok(line), self)),
                Some(None) => return None,
                None => {}
            }
            let shutdown = self.shutdown.clone();
            let woken = {
                let (_, _, changed) = self.follow.as_mut()?;
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => false,
                    result = changed.changed() => {
                        if result.is_err() {
                            return None;
                        }
                        true
                    }
                }
            };
            if !woken {
                self.done = true;
                return Some((Err(Shared::shutting_down()), self));
            }
        }
    }
}

#[tonic::async_trait]
impl Runtime for RuntimeService {
    async fn create(&self, request: Request<CreateRequest>) -> Result<Response<CreateResponse>, Status> {
        const ID: &str = "runtime.Runtime.Create";
        let (_, extensions, request) = request.into_parts();
        let resource = resource(request.resource, ID)?;
        let options = request.options.unwrap_or_default();
        let namespace = namespace_or_default(&options.namespace).to_owned();
        authorize_namespace(&extensions, &self.shared, &namespace, ID)?;
        let Some(service) = &resource.service else {
            let key = other_resource(&resource, &namespace, ID)?;
            lock(&self.state).resources.insert(key);
            return Ok(Response::new(CreateResponse {}));
        };
        let mut service = named_service(service, ID)?;
        if !options.r#type.is_empty() {
            service.metadata.insert("type".to_owned(), options.r#type.clone());
        }
        mark_started(&mut service);
        let mut state = lock(&self.state);
        let services = state.services.entry(namespace).or_default();
        let key = (service.name.clone(), service.version.clone());
        let book = match services.get(&key) {
            Some(_) if !options.force => {
                return Err(MicroError::conflict(ID, "service already exists").into());
            }
            Some(existing) => existing.book.clone(),
            None => LogBook::new(),
        };
        book.append(
            &service,
            format!("Creating service {} version {} source {}", service.name, service.version, service.source),
            false,
        );
        services.insert(key, Record { service, book });
        Ok(Response::new(CreateResponse {}))
    }

    async fn read(&self, request: Request<ReadRequest>) -> Result<Response<ReadResponse>, Status> {
        let options = request.into_inner().options.unwrap_or_default();
        let namespace = namespace_or_default(&options.namespace).to_owned();
        let state = lock(&self.state);
        let services = state
            .services
            .get(&namespace)
            .map(|services| {
                services
                    .values()
                    .map(|record| &record.service)
                    .filter(|s| options.service.is_empty() || s.name == options.service)
                    .filter(|s| options.version.is_empty() || s.version == options.version)
                    .filter(|s| options.r#type.is_empty() || s.metadata.get("type") == Some(&options.r#type))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        Ok(Response::new(ReadResponse { services }))
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        const ID: &str = "runtime.Runtime.Delete";
        let (_, extensions, request) = request.into_parts();
        let resource = resource(request.resource, ID)?;
        let namespace = namespace_or_default(&request.options.unwrap_or_default().namespace).to_owned();
        authorize_namespace(&extensions, &self.shared, &namespace, ID)?;
        let Some(service) = &resource.service else {
            let key = other_resource(&resource, &namespace, ID)?;
            lock(&self.state).resources.remove(&key);
            return Ok(Response::new(DeleteResponse {}));
        };
        let service = named_service(service, ID)?;
        let mut state = lock(&self.state);
        let Some(services) = state.services.get_mut(&namespace) else {
            return Ok(Response::new(DeleteResponse {}));
        };
        if let Some(record) = services.remove(&(service.name.clone(), service.version.clone())) {
            let line = format!(
                "Deleting service {} version {} source {}",
                record.service.name, record.service.version, record.service.source
            );
            record.book.append(&record.service, line, true);
        }
        if services.is_empty() {
            state.services.remove(&namespace);
        }
        Ok(Response::new(DeleteResponse {}))
    }

    async fn update(&self, request: Request<UpdateRequest>) -> Result<Response<UpdateResponse>, Status> {
        const ID: &str = "runtime.Runtime.Update";
        let (_, extensions, request) = request.into_parts();
        let resource = resource(request.resource, ID)?;
        let namespace = namespace_or_default(&request.options.unwrap_or_default().namespace).to_owned();
        authorize_namespace(&extensions, &self.shared, &namespace, ID)?;
        let Some(service) = &resource.service else {
            let key = other_resource(&resource, &namespace, ID)?;
            lock(&self.state).resources.insert(key);
            return Ok(Response::new(UpdateResponse {}));
        };
        let update = named_service(service, ID)?;
        let mut state = lock(&self.state);
        let record = state
            .services
            .get_mut(&namespace)
            .and_then(|services| services.get_mut(&(update.name.clone(), update.version.clone())))
            .ok_or_else(|| Status::from(MicroError::not_found(ID, "service not found")))?;
        if !update.source.is_empty() {
            record.service.source = update.source;
        }
        record.service.metadata.extend(update.metadata);
        mark_started(&mut record.service);
        let line = format!(
            "Updating service {} version {} source {}",
            record.service.name, record.service.version, record.service.source
        );
        record.book.append(&record.service, line, false);
        Ok(Response::new(UpdateResponse {}))
    }

    type LogsStream = BoxStream<LogRecord>;

    async fn logs(&self, request: Request<LogsRequest>) -> Result<Response<Self::LogsStream>, Status> {
        const ID: &str = "runtime.Runtime.Logs";
        let (_, extensions, request) = request.into_parts();
        let namespace = namespace_or_default(&request.options.unwrap_or_default().namespace).to_owned();
        authorize_namespace(&extensions, &self.shared, &namespace, ID)?;
        if request.service.is_empty() {
            return Err(MicroError::bad_request(ID, "missing service name").into());
        }
        let book = {
            let state = lock(&self.state);
            let services = state.services.get(&namespace);
            let matching = |version: &str| {
                services.and_then(|s| s.get(&(request.service.clone(), version.to_owned()))).map(|r| r.book.clone())
            };
            if request.version.is_empty() {
                matching(DEFAULT_VERSION).or_else(|| {
                    services.and_then(|s| {
                        s.iter().find(|((name, _), _)| *name == request.service).map(|(_, r)| r.book.clone())
                    })
                })
            } else {
                matching(&request.version)
            }
        };
        let book = book.ok_or_else(|| Status::from(MicroError::not_found(ID, "service not found")))?;
        let (pending, index) = {
            let lines = lock(&book.lines);
            (select_lines(&lines.0, request.since, request.count), lines.0.len())
        };
        let follow = request.stream.then(|| {
            let changed = book.changed.subscribe();
            (book, index, changed)
        });
        let follower = LogsFollower { pending, follow, shutdown: self.shared.shutdown.clone(), done: false };
        Ok(Response::new(Box::pin(futures_util::stream::unfold(follower, LogsFollower::next))))
    }
}

#[tonic::async_trait]
impl Source for RuntimeService {
    async fn upload(&self, request: Request<Streaming<UploadRequest>>) -> Result<Response<UploadResponse>, Status> {
        const ID: &str = "runtime.Source.Upload";
        let namespace = caller_namespace(&request);
        let mut chunks = request.into_inner();
        let mut data = Vec::new();
        let mut service: Option<Service> = None;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            if chunk.service.is_some() {
                service = chunk.service;
            }
            if data.len() + chunk.data.len() > MAX_UPLOAD {
                return Err(MicroError::bad_request(ID, "source exceeds 64 MiB").into());
            }
            data.extend_from_slice(&chunk.data);
        }
        let Some(service) = service else {
            return Err(MicroError::bad_request(ID, "No service was sent").into());
        };
        let id = format!("source://{}:{}", service.name, service.version);
        lock(&self.state).uploads.insert((namespace, id.clone()), data);
        Ok(Response::new(UploadResponse { id }))
    }
}

#[tonic::async_trait]
impl Build for RuntimeService {
    type ReadStream = BoxStream<BuildReadResponse>;

    async fn read(&self, request: Request<Service>) -> Result<Response<Self::ReadStream>, Status> {
        const ID: &str = "runtime.Build.Read";
        let service = request.into_inner();
        if service.name.is_empty() {
            return Err(MicroError::bad_request(ID, "Missing name").into());
        }
        if service.version.is_empty() {
            return Err(MicroError::bad_request(ID, "Missing version").into());
        }
        Err(MicroError::not_found(ID, "Build not found").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_614_834_367), "2021-03-04T05:06:07Z");
    }

    #[test]
    fn selects_lines_by_count() {
        let line = |message: &str| LogRecord { timestamp: 0, metadata: HashMap::new(), message: message.to_owned() };
        let lines = [line("a"), line("b"), line("c")];
        let messages = |selected: VecDeque<LogRecord>| selected.into_iter().map(|l| l.message).collect::<Vec<_>>();
        assert_eq!(messages(select_lines(&lines, 0, 0)), ["a", "b", "c"]);
        assert_eq!(messages(select_lines(&lines, 0, 2)), ["b", "c"]);
        assert_eq!(messages(select_lines(&lines, 0, 5)), ["a", "b", "c"]);
        assert!(select_lines(&lines, 10, 0).is_empty(), "timestamp 0 is older than 10 s ago");
    }
}
